/* dispatch.h: one FastCGI request through the gauntlet: route (404/405),
 * token (401), role (403), body (413/415/400), idempotency, transaction,
 * handler, commit, answer. */
#ifndef DISPATCH_H
#define DISPATCH_H

#include <fcgiapp.h>
#include "app_config.h"
#include "db.h"

/* Serves the accepted request fr with the worker's connection db. */
void dispatch_request(FCGX_Request *fr, struct db *db, const struct app_config *cfg);

#endif
