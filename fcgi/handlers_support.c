/* handlers_support.c: support's review queue, approving and denying refund
 * requests, and Terms of Service suspension. Changes lock the customer's
 * account (the per-user lock every change takes) and bring it up to date
 * before reading balances or the subscription. */
#include <stdio.h>
#include <string.h>
#include "charge.h"
#include "handler.h"
#include "refund_request.h"
#include "sql_refund.h"

enum pf_error
handle_support_refund_requests_get(struct handler_ctx *ctx)
{
	char status[16] = "pending";
	json_t *list = NULL;
	enum pf_error err;
	int found;

	found = http_query_get(ctx->req->query, "status", status, sizeof(status));
	if (found < 0 || (found == 1 && strcmp(status, "pending") != 0 &&
	    strcmp(status, "approved") != 0 && strcmp(status, "denied") != 0))
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST,
		    "Query parameter 'status' must be pending, approved or denied.");
	err = refund_request_list_by_status(ctx->db, status, ctx->req->now, &list);
	if (err != PF_OK)
		return err;
	return http_ok(ctx->res, 200, json_pack("{s:o}", "refund_requests", list));
}

/* Finds the request, locks its customer's account, brings it up to date
 * and reads the request again under that lock. 404 answered in ctx->res. */
static enum pf_error
load_request_lock_account(struct handler_ctx *ctx, struct refund_request_head *head,
    struct account *acct)
{
	enum pf_error err;

	err = refund_request_head_load(ctx->db, ctx->req->path_param, head);
	if (err == PF_ERR_REFUND_REQUEST_NOT_FOUND)
		return http_fail(ctx->res, err, "There is no refund request '%.64s'.",
		    ctx->req->path_param);
	if (err != PF_OK)
		return err;
	err = account_lock_current(ctx->db, head->user_id, ctx->req->now, acct);
	if (err == PF_OK)
		err = refund_request_head_load(ctx->db, head->id, head);
	/* the request exists and its user cannot vanish: anything else is ours */
	if (err == PF_ERR_USER_NOT_FOUND || err == PF_ERR_REFUND_REQUEST_NOT_FOUND)
		err = PF_ERR_INTERNAL;
	return err;
}

static enum pf_error
answer_request(struct handler_ctx *ctx, const char *id)
{
	json_t *request = NULL;
	enum pf_error err;

	err = refund_request_get_json(ctx->db, id, true, ctx->req->now, &request);
	if (err != PF_OK)
		return err;
	return http_ok(ctx->res, 200, json_pack("{s:o}", "refund_request", request));
}

static enum pf_error
already_decided(struct handler_ctx *ctx)
{
	return http_fail(ctx->res, PF_ERR_ALREADY_DECIDED,
	    "This refund request has already been decided; a decision is final.");
}

enum pf_error
handle_support_refund_request_approve(struct handler_ctx *ctx)
{
	const struct field_value *f = ctx->fields;
	struct refund_request_head head;
	struct account acct;
	struct charge charge;
	enum pf_error err;

	err = load_request_lock_account(ctx, &head, &acct);
	if (err != PF_OK)
		return err;
	if (head.is_task && f[APPROVE_AMOUNT].present)
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST,
		    "Field 'amount_cents' applies to charges only: a task's credits are returned in full.");
	if (!head.pending)
		return already_decided(ctx);
	if (!head.is_task && f[APPROVE_AMOUNT].present) {
		err = charge_load(ctx->db, head.record_id, head.user_id, &charge);
		if (err != PF_OK)
			return err == PF_ERR_CHARGE_NOT_FOUND ? PF_ERR_INTERNAL : err;
		if (!policy_refund_amount_valid(f[APPROVE_AMOUNT].integer,
		    charge.amount_cents - charge.refunded_cents))
			return http_fail(ctx->res, PF_ERR_INVALID_AMOUNT,
			    "Field 'amount_cents' must be between 1 and %lld, what is still unrefunded "
			    "of this charge.", (long long)(charge.amount_cents - charge.refunded_cents));
	}
	err = refund_request_decide(ctx->db, &acct, &head, true, f[APPROVE_AMOUNT].present,
	    f[APPROVE_AMOUNT].integer, f[APPROVE_NOTE].present ? f[APPROVE_NOTE].string : NULL,
	    ctx->req->identity.sub, ctx->req->now, &ctx->actor);
	if (err == PF_ERR_ALREADY_DECIDED)
		return already_decided(ctx);
	if (err == PF_ERR_INVALID_AMOUNT)
		return http_fail(ctx->res, err, "Nothing of this charge is left to refund.");
	if (err != PF_OK)
		return err;
	return answer_request(ctx, head.id);
}

enum pf_error
handle_support_refund_request_deny(struct handler_ctx *ctx)
{
	struct refund_request_head head;
	struct account acct;
	enum pf_error err;

	err = load_request_lock_account(ctx, &head, &acct);
	if (err != PF_OK)
		return err;
	err = refund_request_decide(ctx->db, &acct, &head, false, false, 0,
	    ctx->fields[DENY_NOTE].string, ctx->req->identity.sub, ctx->req->now, &ctx->actor);
	if (err == PF_ERR_ALREADY_DECIDED)
		return already_decided(ctx);
	if (err != PF_OK)
		return err;
	return answer_request(ctx, head.id);
}

enum pf_error
handle_support_user_suspend(struct handler_ctx *ctx)
{
	struct account acct;
	char now_text[24];
	const char *params[3];
	json_t *before = NULL, *after = NULL, *payload = NULL;
	enum pf_error err;

	err = account_lock_current(ctx->db, ctx->req->path_param, ctx->req->now, &acct);
	if (err == PF_ERR_USER_NOT_FOUND)
		return http_fail(ctx->res, err, "There is no user '%.64s'.", ctx->req->path_param);
	if (err != PF_OK)
		return err;
	/* suspending again changes nothing */
	if (acct.suspended)
		return http_ok(ctx->res, 200, account_json(&acct));
	before = account_json(&acct);
	/* the paid subscription ends at once, with no refund of the unused
	 * period (policy 5); purchased credits stay, frozen */
	if (acct.sub.paid) {
		err = account_end_subscription(ctx->db, &acct, ctx->req->now, "suspended", &ctx->actor);
		if (err != PF_OK)
			goto out;
	}
	record_int_text(now_text, sizeof(now_text), ctx->req->now);
	params[0] = acct.user_id;
	params[1] = now_text;
	params[2] = ctx->fields[SUSPEND_NOTE].string;
	err = db_exec(ctx->db, &sql_refund_catalog, SQL_USER_SUSPEND, params, NULL);
	if (err != PF_OK)
		goto out;
	acct.suspended = true;
	after = account_json(&acct);
	json_object_set_new(after, "suspension_note", json_string(ctx->fields[SUSPEND_NOTE].string));
	err = audit_write(ctx->db, ctx->req->now, &ctx->actor, "user.suspended", acct.user_id,
	    before, after);
	if (err != PF_OK)
		goto out;
	payload = json_pack("{s:o}", "suspended_at", record_time_json(ctx->req->now));
	err = outbox_write(ctx->db, ctx->req->now, acct.user_id, "account_suspended", payload);
	if (err != PF_OK)
		goto out;
	err = http_ok(ctx->res, 200, account_json(&acct));
out:
	json_decref(before);
	json_decref(after);
	json_decref(payload);
	return err;
}
