/* json_fields.c: the one body validator. */
#include <stdio.h>
#include <string.h>
#include "json_fields.h"
#include "pf_time.h"

size_t
utf8_length(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static bool
has_forbidden_control(const char *s, bool multiline)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == 0x7f)
			return true;
		if (c < 0x20 && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
			return true;
	}
	return false;
}

static const struct field_spec *
find_field(const struct field_spec *fields, size_t count, const char *name, size_t *index)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strcmp(fields[i].name, name) == 0) {
			*index = i;
			return &fields[i];
		}
	return NULL;
}

static enum pf_error
check_one(const struct field_spec *f, json_t *value, struct field_value *out,
    char *detail, size_t detail_len)
{
	const char *s;
	size_t i, n;

	switch (f->type) {
	case FIELD_INTEGER:
		if (!json_is_integer(value)) {
			snprintf(detail, detail_len, "Field '%s' must be an integer.", f->name);
			return PF_ERR_INVALID_REQUEST;
		}
		out->integer = json_integer_value(value);
		if (out->integer < f->min || out->integer > f->max) {
			snprintf(detail, detail_len, "Field '%s' must be between %lld and %lld.",
			    f->name, (long long)f->min, (long long)f->max);
			return PF_ERR_INVALID_REQUEST;
		}
		break;
	case FIELD_STRING:
	case FIELD_TEXT:
	case FIELD_ENUM:
	case FIELD_TIME:
		if (!json_is_string(value)) {
			snprintf(detail, detail_len, "Field '%s' must be a string.", f->name);
			return PF_ERR_INVALID_REQUEST;
		}
		s = json_string_value(value);
		/* jansson keeps embedded NULs (\u0000) only with JSON_ALLOW_NUL; be sure */
		if (strlen(s) != json_string_length(value)) {
			snprintf(detail, detail_len, "Field '%s' must not contain NUL characters.", f->name);
			return PF_ERR_INVALID_REQUEST;
		}
		out->string = s;
		if (f->type == FIELD_ENUM) {
			for (i = 0; f->values[i] != NULL; i++)
				if (strcmp(f->values[i], s) == 0)
					break;
			if (f->values[i] == NULL) {
				snprintf(detail, detail_len, "Field '%s' has an unknown value.", f->name);
				return PF_ERR_INVALID_REQUEST;
			}
		} else if (f->type == FIELD_TIME) {
			pf_time t;
			char check[PF_RFC3339_LEN];
			/* before 1970 nothing of ours happened; and every accepted time
			 * must render back as RFC 3339 in responses */
			if (strlen(s) > 64 || pf_time_parse(s, &t) != 0 || t < 0 ||
			    pf_time_format(t, check) != 0) {
				snprintf(detail, detail_len,
				    "Field '%s' must be an RFC 3339 time from 1970 on.", f->name);
				return PF_ERR_INVALID_REQUEST;
			}
			out->integer = t;
		} else {
			n = utf8_length(s);
			if ((int64_t)n < f->min || (int64_t)n > f->max) {
				snprintf(detail, detail_len, "Field '%s' must be %lld to %lld characters long.",
				    f->name, (long long)f->min, (long long)f->max);
				return PF_ERR_INVALID_REQUEST;
			}
			if (has_forbidden_control(s, f->type == FIELD_TEXT)) {
				snprintf(detail, detail_len, "Field '%s' contains control characters.", f->name);
				return PF_ERR_INVALID_REQUEST;
			}
		}
		break;
	}
	out->present = true;
	return PF_OK;
}

enum pf_error
json_fields_validate(json_t *obj, const struct field_spec *fields, size_t count,
    struct field_value *values, char *detail, size_t detail_len)
{
	const char *key;
	json_t *value;
	size_t i;
	enum pf_error err;

	memset(values, 0, count * sizeof(*values));
	for (i = 0; i < count; i++)
		if (fields[i].name == NULL) {
			snprintf(detail, detail_len, "Field table has no row %zu.", i);
			return PF_ERR_INTERNAL;
		}
	if (obj != NULL) {
		json_object_foreach(obj, key, value) {
			const struct field_spec *f = find_field(fields, count, key, &i);
			if (f == NULL) {
				snprintf(detail, detail_len, "Unknown field '%.64s'.", key);
				return PF_ERR_INVALID_REQUEST;
			}
			/* null is not "absent": a console sending null for an empty
			 * amount must not get the default (a full refund) */
			if (json_is_null(value)) {
				snprintf(detail, detail_len, "Field '%s' must not be null; leave it out instead.",
				    f->name);
				return PF_ERR_INVALID_REQUEST;
			}
			err = check_one(f, value, &values[i], detail, detail_len);
			if (err != PF_OK)
				return err;
		}
	}
	for (i = 0; i < count; i++)
		if (fields[i].required && !values[i].present) {
			snprintf(detail, detail_len, "Field '%s' is required.", fields[i].name);
			return PF_ERR_INVALID_REQUEST;
		}
	return PF_OK;
}
