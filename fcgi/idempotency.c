/* idempotency.c: Idempotency-Key on POSTs. The key's advisory lock is held
 * for the whole transaction, the stored answer is inserted in the same
 * transaction as the effect, and a refusal by the rules is stored after
 * rolling back to a savepoint, so only the answer survives it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "idempotency.h"
#include "json_text.h"
#include "sql_idempotency.h"

bool
idempotency_key_valid(const char *key)
{
	size_t n = strlen(key);
	size_t i;

	if (n < 1 || n > HTTP_IDEMPOTENCY_KEY_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
			return false;
	return true;
}

/* The outcomes of the business rules are stored; authentication, parsing
 * and server failures are not, so a retry after them runs afresh. */
static bool
outcome_storable(enum pf_error outcome, const struct http_response *res)
{
	if (outcome == PF_OK)
		return res->status >= 200 && res->status < 300;
	switch (res->status) {
	case 402:
	case 404:
	case 409:
	case 422:
		return true;
	case 403:
		return outcome == PF_ERR_ACCOUNT_SUSPENDED;
	default:
		return false;
	}
}

enum pf_error
idempotency_begin(struct handler_ctx *ctx, struct idempotency_state *state)
{
	const struct http_request *req = ctx->req;
	const char *role = auth_role_name(req->identity.role);
	char now[24], *request_text = NULL;
	const char *params[6];
	PGresult *res = NULL;
	enum pf_error err;

	memset(state, 0, sizeof(*state));
	if (req->idempotency_key == NULL || strcmp(req->method, "POST") != 0 ||
	    req->identity.sub[0] == '\0')
		return PF_OK;
	state->active = true;
	params[0] = role;
	params[1] = req->identity.sub;
	params[2] = req->idempotency_key;
	err = db_exec(ctx->db, &sql_idempotency_catalog, SQL_IDEMPOTENCY_TRY_LOCK, params, &res);
	if (err != PF_OK)
		goto out;
	if (!db_bool(res, 0, "locked")) {
		state->answered = true;
		http_fail(ctx->res, PF_ERR_IDEMPOTENCY_KEY_IN_USE,
		    "A request with this Idempotency-Key is still being processed; retry shortly.");
		goto out;
	}
	PQclear(res);
	res = NULL;
	snprintf(now, sizeof(now), "%lld", (long long)req->now);
	params[3] = now;
	err = db_exec(ctx->db, &sql_idempotency_catalog, SQL_IDEMPOTENCY_DROP_EXPIRED, params, NULL);
	if (err != PF_OK)
		goto out;
	if (req->json != NULL) {
		request_text = json_text_compact(req->json);
		if (request_text == NULL) {
			err = PF_ERR_INTERNAL;
			goto out;
		}
	}
	params[3] = req->method;
	params[4] = req->path;
	params[5] = request_text;
	err = db_exec(ctx->db, &sql_idempotency_catalog, SQL_IDEMPOTENCY_GET, params, &res);
	if (err != PF_OK)
		goto out;
	if (PQntuples(res) == 1) {
		state->answered = true;
		if (!db_bool(res, 0, "same_request")) {
			http_fail(ctx->res, PF_ERR_IDEMPOTENCY_KEY_REUSED,
			    "This Idempotency-Key was already used for a different request.");
			goto out;
		}
		ctx->res->status = (int)db_int(res, 0, "response_status");
		ctx->res->raw_body = strdup(db_text(res, 0, "response_body"));
		ctx->res->raw_content_type = ctx->res->status >= 400 ?
		    "application/problem+json" : "application/json";
		if (ctx->res->raw_body == NULL)
			err = PF_ERR_INTERNAL;
		goto out;
	}
	err = db_exec(ctx->db, &sql_idempotency_catalog, SQL_IDEMPOTENCY_SAVEPOINT, NULL, NULL);
out:
	free(request_text);
	PQclear(res);
	return err;
}

enum pf_error
idempotency_finish(struct handler_ctx *ctx, struct idempotency_state *state,
    enum pf_error outcome)
{
	const struct http_request *req = ctx->req;
	const char *content_type;
	char status[8], now[24];
	char *request_text = NULL, *body = NULL;
	const char *params[9];
	enum pf_error err = PF_OK;

	if (!state->active || state->answered || !outcome_storable(outcome, ctx->res))
		return PF_OK;
	if (outcome != PF_OK) {
		err = db_exec(ctx->db, &sql_idempotency_catalog,
		    SQL_IDEMPOTENCY_ROLLBACK_TO_SAVEPOINT, NULL, NULL);
		if (err != PF_OK)
			goto out;
	}
	body = http_render_body(ctx->res, &content_type);
	if (req->json != NULL)
		request_text = json_text_compact(req->json);
	if (body == NULL || (req->json != NULL && request_text == NULL)) {
		err = PF_ERR_INTERNAL;
		goto out;
	}
	snprintf(status, sizeof(status), "%d", ctx->res->status);
	snprintf(now, sizeof(now), "%lld", (long long)req->now);
	params[0] = auth_role_name(req->identity.role);
	params[1] = req->identity.sub;
	params[2] = req->idempotency_key;
	params[3] = req->method;
	params[4] = req->path;
	params[5] = request_text;
	params[6] = status;
	params[7] = body;
	params[8] = now;
	err = db_exec(ctx->db, &sql_idempotency_catalog, SQL_IDEMPOTENCY_PUT, params, NULL);
	if (err == PF_OK) {
		state->stored = true;
		/* answer with exactly the bytes stored, so a replay is identical */
		free(ctx->res->raw_body);
		ctx->res->raw_body = body;
		ctx->res->raw_content_type = content_type;
		body = NULL;
	}
out:
	free(request_text);
	free(body);
	return err;
}
