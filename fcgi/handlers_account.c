/* handlers_account.c: GET /api/v1/account. */
#include "handler.h"

enum pf_error
handle_account_get(struct handler_ctx *ctx)
{
	struct account acct;
	enum pf_error err;

	err = account_open_for_user(ctx->db, &ctx->req->identity, ctx->req->now, &acct);
	if (err != PF_OK)
		return err;
	return http_ok(ctx->res, 200, account_json(&acct));
}
