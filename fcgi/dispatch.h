/* dispatch.h: one FastCGI request through the gauntlet: route (404/405),
 * token (401), role (403), body (413/415/400), idempotency, transaction,
 * handler, commit, answer. */
#ifndef DISPATCH_H
#define DISPATCH_H

#include <fcgiapp.h>
#include "app_config.h"
#include "db.h"
#include "http.h"

/* What the gauntlet needs from the transport: the request's CGI parameters
 * (REQUEST_METHOD, REQUEST_URI, ...; NULL when absent) and its body (read
 * returns the bytes read, <= 0 at the end). */
struct dispatch_transport {
	const char *(*param)(void *source, const char *name);
	int (*read)(void *source, char *buf, int len);
	void *source;
};

/* Serves one request from t with the worker's connection db, filling res
 * (cleared by the caller). Transport-free, so a test can drive every route
 * without FastCGI. */
void dispatch_serve(const struct dispatch_transport *t, struct db *db,
    const struct app_config *cfg, struct http_response *res);

/* Serves the accepted request fr with the worker's connection db. */
void dispatch_request(FCGX_Request *fr, struct db *db, const struct app_config *cfg);

#endif
