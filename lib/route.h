/* route.h: the route table's shape and its matcher. The table itself is
 * api_routes.c: one row per method + path with the role it requires and the
 * body it takes; fcgi/route_handlers.c pairs each row with its handlers. */
#ifndef ROUTE_H
#define ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include "json_fields.h"

#define ROUTE_ROLE_PUBLIC (-1)  /* no token needed */
#define ROUTE_FIELDS_MAX 16     /* the most body fields a route may declare */

/* What the dispatcher does with a request body. */
enum route_body {
	ROUTE_BODY_NONE,    /* not read; whatever was sent is ignored (GET, DELETE) */
	ROUTE_BODY_EMPTY,   /* read: absent, or an object without fields ({}) */
	ROUTE_BODY_FIELDS   /* read and validated against fields[0..field_count) */
};

struct route {
	const char *method;
	const char *pattern;              /* literal segments and at most one "{id}" */
	int role;                         /* an enum auth_role, or ROUTE_ROLE_PUBLIC */
	enum route_body body;
	const struct field_spec *fields;  /* ROUTE_BODY_FIELDS only */
	size_t field_count;               /* 1..ROUTE_FIELDS_MAX for ROUTE_BODY_FIELDS, else 0 */
};

enum route_result { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED };

/* Matches method + path against routes[0..count). ROUTE_FOUND sets *match and
 * copies the {id} segment into param (paramlen bytes; a segment that does not
 * fit is no match). ROUTE_METHOD_NOT_ALLOWED writes the allowed methods,
 * comma-separated, into allow. */
enum route_result route_match(const struct route *routes, size_t count, const char *method,
    const char *path, const struct route **match, char *param, size_t paramlen,
    char *allow, size_t allowlen);

#endif
