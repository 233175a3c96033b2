/* dump_api_tables.c: prints the service's real route table and field tables
 * as JSON on stdout, for tests/e2e/test_openapi.py to compare with
 * openapi/personaforge.json:
 *
 *   {"routes": [{"method", "path", "role": "user"|"support"|"service"|"public",
 *                "body": "none"|"empty"|"fields",
 *                "fields": [{"name", "type": "string"|"text"|"integer"|"enum"|"time",
 *                            "required", "min", "max", "values"?}]}]}
 *
 * body "none": no body is read (GET, DELETE); "empty": a body may be sent but
 * takes no field ({} at most); "fields": validated against "fields".
 * min/max bound the length of "string"/"text" (Unicode characters) and the
 * value of "integer"; they mean nothing for "enum" and "time".
 *
 * It links the tables themselves (lib/api_routes.c, lib/api_fields.c), which
 * pull in no handler. */
#include <stdio.h>
#include <jansson.h>
#include "auth_jwt.h"
#include "json_fields.h"

#include "api_fields.h"
#include "api_routes.h"
#define ROUTES api_routes
#define ROUTE_COUNT API_ROUTE_COUNT

/* "none": no body is read; "empty": {} at most; "fields": validated */
static const char *
route_body_kind(const struct route *r)
{
	return r->body == ROUTE_BODY_NONE ? "none" : r->body == ROUTE_BODY_EMPTY ? "empty" : "fields";
}

static size_t
route_field_count(const struct route *r)
{
	return r->body == ROUTE_BODY_FIELDS ? r->field_count : 0;
}
/* ------------------------------------------------------------------------- */

static const char *
field_type_name(enum field_type type)
{
	switch (type) {
	case FIELD_STRING: return "string";
	case FIELD_TEXT: return "text";
	case FIELD_INTEGER: return "integer";
	case FIELD_ENUM: return "enum";
	case FIELD_TIME: return "time";
	}
	return "unknown";
}

static json_t *
fields_json(const struct field_spec *fields, size_t n)
{
	json_t *list = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		const struct field_spec *f = &fields[i];
		json_t *one = json_pack("{s:s, s:s, s:b, s:I, s:I}", "name", f->name,
		    "type", field_type_name(f->type), "required", f->required,
		    "min", (json_int_t)f->min, "max", (json_int_t)f->max);

		if (f->type == FIELD_ENUM) {
			json_t *values = json_array();
			for (const char *const *v = f->values; *v != NULL; v++)
				json_array_append_new(values, json_string(*v));
			json_object_set_new(one, "values", values);
		}
		json_array_append_new(list, one);
	}
	return list;
}

int
main(void)
{
	json_t *routes = json_array(), *out;
	size_t i;

	for (i = 0; i < ROUTE_COUNT; i++) {
		const struct route *r = &ROUTES[i];

		json_array_append_new(routes, json_pack("{s:s, s:s, s:s, s:s, s:o}",
		    "method", r->method, "path", r->pattern,
		    "role", r->role == ROUTE_ROLE_PUBLIC ? "public" :
			auth_role_name((enum auth_role)r->role),
		    "body", route_body_kind(r),
		    "fields", fields_json(r->fields, route_field_count(r))));
	}
	out = json_pack("{s:o}", "routes", routes);
	if (out == NULL || json_dumpf(out, stdout, JSON_INDENT(1)) != 0)
		return 1;
	putchar('\n');
	json_decref(out);
	return 0;
}
