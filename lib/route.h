/* route.h: the route table's shape and its matcher. The table itself is
 * fcgi/routes.c: one row per method + path with the role it requires, the
 * body fields it accepts and its handler. */
#ifndef ROUTE_H
#define ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include "auth_jwt.h"
#include "json_fields.h"

#define ROUTE_ROLE_PUBLIC (-1)  /* no token needed */
#define ROUTE_FIELDS_MAX 16

struct handler_ctx;
typedef enum pf_error (*route_handler)(struct handler_ctx *ctx);

struct route {
	const char *method;
	const char *pattern;              /* literal segments and at most one "{id}" */
	int role;                         /* an enum auth_role, or ROUTE_ROLE_PUBLIC */
	route_handler handler;
	const struct field_spec *fields;  /* body fields, ending with {NULL}; NULL: no body read */
	/* Optional read that answers without a transaction (one statement) when
	 * nothing needs changing: PF_OK means it answered; anything else sends
	 * the request to `handler` in its transaction, as if never tried. */
	route_handler unlocked;
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
