/* handlers_charges.c: GET /api/v1/charges, the customer's billing history
 * (every charge, newest first, with what is refunded of it and until when a
 * refund may be asked). */
#include "charge.h"
#include "handler.h"

enum pf_error
handle_charges_get(struct handler_ctx *ctx)
{
	struct account acct;
	json_t *charges = NULL;
	enum pf_error err;

	err = account_lock_current_for_user(ctx->db, &ctx->req->identity, ctx->req->now, &acct);
	if (err == PF_OK)
		err = charge_list_json(ctx->db, acct.user_id, ctx->req->now, false, &charges);
	if (err != PF_OK)
		return err;
	return http_ok(ctx->res, 200, json_pack("{s:o}", "charges", charges));
}
