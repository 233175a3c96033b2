/* json_fields.h: each endpoint declares its body fields in a table; one
 * validator walks it, so handlers only read typed, validated values and an
 * undeclared field never reaches them. */
#ifndef JSON_FIELDS_H
#define JSON_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "pf_error.h"

enum field_type {
	FIELD_STRING,   /* min..max Unicode characters, no control characters unless multiline */
	FIELD_TEXT,     /* like FIELD_STRING but newlines and tabs allowed */
	FIELD_INTEGER,  /* a JSON integer in min..max */
	FIELD_ENUM,     /* a string from values (NULL-terminated) */
	FIELD_TIME      /* an RFC 3339 string */
};

struct field_spec {
	const char *name;
	enum field_type type;
	bool required;
	int64_t min, max;
	const char *const *values;
};

struct field_value {
	bool present;         /* false when absent (JSON null is refused) */
	const char *string;   /* borrowed from the JSON document */
	int64_t integer;      /* also the parsed time for FIELD_TIME */
};

/* Validates obj (may be NULL: no body) against fields[0..count): unknown
 * fields, wrong types (null included), missing required fields, out-of-range values are
 * PF_ERR_INVALID_REQUEST with a detail naming the field. values[i] receives
 * field i. A table with a row without a name (a hole left by a designated
 * initializer) is PF_ERR_INTERNAL. */
enum pf_error json_fields_validate(json_t *obj, const struct field_spec *fields,
    size_t count, struct field_value *values, char *detail, size_t detail_len);

/* Number of Unicode characters in a valid UTF-8 string. */
size_t utf8_length(const char *s);

#endif
