/* handlers_account.c: GET /api/v1/account: answered by one read outside
 * any transaction when the account needs no change, else in the locked
 * transaction. */
#include "handler.h"
#include "sql_account.h"

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

/* GET /api/v1/plans: every plan, lowest rank first. The account page
 * offers the paid plans ranked below the current one as downgrades, so an
 * operator's new plan shows up without a page change. */
enum pf_error
handle_plans_get(struct handler_ctx *ctx)
{
	PGresult *res = NULL;
	json_t *plans = NULL;
	enum pf_error err;
	int i;

	err = db_exec(ctx->db, &sql_account_catalog, SQL_PLANS_LIST, NULL, &res);
	if (err != PF_OK)
		goto out;
	plans = json_array();
	if (plans == NULL) {
		err = PF_ERR_INTERNAL;
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++) {
		long long price = db_int(res, i, "price_cents");
		json_t *plan = json_pack("{s:s, s:I, s:I, s:s, s:I, s:b}",
		    "name", db_text(res, i, "name"),
		    "rank", (json_int_t)db_int(res, i, "rank"),
		    "price_cents", (json_int_t)price,
		    "currency", db_text(res, i, "currency"),
		    "included_credits", (json_int_t)db_int(res, i, "included_credits"),
		    "paid", price > 0);
		if (plan == NULL || json_array_append_new(plans, plan) != 0) {
			err = PF_ERR_INTERNAL;
			goto out;
		}
	}
	err = http_ok(ctx->res, 200, json_pack("{s:o}", "plans", plans));
	plans = NULL;
out:
	json_decref(plans);
	PQclear(res);
	return err;
}
