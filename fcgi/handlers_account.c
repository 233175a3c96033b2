/* handlers_account.c: GET /api/v1/account: answered by one read outside
 * any transaction when the account needs no change, else in the locked
 * transaction. */
#include "handler.h"

enum pf_error
handle_account_get(struct handler_ctx *ctx)
{
	struct account acct;
	enum pf_error err;

	err = account_lock_current_for_user(ctx->db, &ctx->req->identity, ctx->req->now, &acct);
	if (err != PF_OK)
		return err;
	return http_ok(ctx->res, 200, account_json(&acct));
}

/* The route's read without a transaction: PF_OK when it answered; any other value (a
 * database error, or an account that needs the locked path) sends the
 * request to handle_account_get. */
enum pf_error
handle_account_get_without_transaction(struct handler_ctx *ctx)
{
	struct account acct;
	bool current;
	enum pf_error err;

	err = account_read_without_transaction(ctx->db, &ctx->req->identity, ctx->req->now, &acct,
	    &current);
	if (err != PF_OK)
		return err;
	if (!current)
		return PF_ERR_USER_NOT_FOUND;
	return http_ok(ctx->res, 200, account_json(&acct));
}
