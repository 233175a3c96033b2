/* provider_event.c: webhook de-duplication by provider_ref. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "provider_event.h"
#include "json_text.h"
#include "sql_account.h"

enum pf_error
provider_event_begin(struct handler_ctx *ctx, const char *provider_ref, const char *endpoint,
    bool *answered)
{
	const char *lock_params[1] = {provider_ref};
	const char *params[2];
	char *request_text = NULL;
	PGresult *res = NULL;
	enum pf_error err;

	*answered = false;
	err = db_exec(ctx->db, &sql_account_catalog, SQL_PROVIDER_EVENT_LOCK, lock_params, NULL);
	if (err != PF_OK)
		goto out;
	request_text = json_text_compact(ctx->req->json);
	if (request_text == NULL) {
		err = PF_ERR_INTERNAL;
		goto out;
	}
	params[0] = provider_ref;
	params[1] = request_text;
	err = db_exec(ctx->db, &sql_account_catalog, SQL_PROVIDER_EVENT_GET, params, &res);
	if (err != PF_OK || PQntuples(res) == 0)
		goto out;
	*answered = true;
	if (!db_bool(res, 0, "same_request") || strcmp(db_text(res, 0, "endpoint"), endpoint) != 0) {
		err = http_fail(ctx->res, PF_ERR_PROVIDER_REF_REUSED,
		    "provider_ref '%.64s' was already used for a different request.", provider_ref);
		goto out;
	}
	ctx->res->status = 200; /* a replay: nothing was created this time */
	ctx->res->error = PF_OK;
	ctx->res->raw_body = strdup(db_text(res, 0, "response_body"));
	err = ctx->res->raw_body ? PF_OK : PF_ERR_INTERNAL;
out:
	free(request_text);
	PQclear(res);
	return err;
}

enum pf_error
provider_event_record(struct handler_ctx *ctx, const char *provider_ref, const char *endpoint)
{
	char *request_text = json_text_compact(ctx->req->json);
	char *response_text = json_text_compact(ctx->res->json);
	char status[8], now[24];
	const char *params[6];
	enum pf_error err = PF_ERR_INTERNAL;

	if (request_text == NULL || response_text == NULL)
		goto out;
	snprintf(status, sizeof(status), "%d", ctx->res->status);
	snprintf(now, sizeof(now), "%lld", (long long)ctx->req->now);
	params[0] = provider_ref;
	params[1] = endpoint;
	params[2] = request_text;
	params[3] = status;
	params[4] = response_text;
	params[5] = now;
	err = db_exec(ctx->db, &sql_account_catalog, SQL_PROVIDER_EVENT_PUT, params, NULL);
out:
	free(request_text);
	free(response_text);
	return err;
}
