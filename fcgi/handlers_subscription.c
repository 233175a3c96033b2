/* handlers_subscription.c: cancel, resume, downgrade and withdraw a
 * scheduled downgrade (policy 1). Each locks the account, brings it up to
 * date, asks the rule in policy_subscription.c, then writes the new state,
 * the audit row and the customer's notification. */
#include <stdio.h>
#include <string.h>
#include "handler.h"
#include "sql_account.h"

static enum pf_error
answer_subscription(struct handler_ctx *ctx, const struct account *acct)
{
	return http_ok(ctx->res, 200,
	    json_pack("{s:o}", "subscription", account_subscription_json(acct)));
}

/* Saves next as acct's subscription, audited as action, and queues event
 * for the customer (event NULL: none). */
static enum pf_error
save_change(struct handler_ctx *ctx, struct account *acct, const struct subscription_state *next,
    const char *action, const char *event)
{
	json_t *before = account_subscription_json(acct), *after = NULL, *payload = NULL;
	enum pf_error err = PF_ERR_INTERNAL;

	acct->sub = *next;
	after = account_subscription_json(acct);
	if (event != NULL)
		payload = json_pack("{s:O}", "subscription", after);
	if (before == NULL || after == NULL || (event != NULL && payload == NULL))
		goto out;
	/* row, audit and outbox in one round trip */
	err = account_change_subscription(ctx->db, acct, ctx->req->now, &ctx->actor, action,
	    before, after, event, payload);
out:
	json_decref(before);
	json_decref(after);
	json_decref(payload);
	return err;
}

static enum pf_error
store_feedback(struct handler_ctx *ctx, const struct account *acct)
{
	const struct field_value *reason = &ctx->fields[CANCEL_REASON];
	const struct field_value *comment = &ctx->fields[CANCEL_COMMENT];
	char sub_id[24], now[24];
	const char *params[5];

	if (!reason->present && !comment->present)
		return PF_OK;
	snprintf(sub_id, sizeof(sub_id), "%lld", (long long)acct->subscription_id);
	snprintf(now, sizeof(now), "%lld", (long long)ctx->req->now);
	params[0] = sub_id;
	params[1] = acct->user_id;
	params[2] = reason->present ? reason->string : NULL;
	params[3] = comment->present ? comment->string : NULL;
	params[4] = now;
	return db_exec(ctx->db, &sql_account_catalog, SQL_CANCELLATION_FEEDBACK_INSERT, params, NULL);
}

enum pf_error
handle_subscription_cancel(struct handler_ctx *ctx)
{
	struct account acct;
	struct subscription_state next;
	enum pf_error err;

	err = account_lock_current_for_user(ctx->db, &ctx->req->identity, ctx->req->now, &acct);
	if (err != PF_OK)
		return err;
	err = policy_cancel(&acct.sub, &next);
	if (err != PF_OK)
		return http_fail(ctx->res, err,
		    "You are on the free plan: there is no paid subscription to cancel.");
	if (!acct.sub.cancel_at_period_end) {
		/* a repeated click changes nothing, not even the feedback */
		err = store_feedback(ctx, &acct);
		if (err == PF_OK)
			err = save_change(ctx, &acct, &next, "subscription.cancel_scheduled",
			    "subscription_cancel_scheduled");
		if (err != PF_OK)
			return err;
	}
	return answer_subscription(ctx, &acct);
}

enum pf_error
handle_subscription_resume(struct handler_ctx *ctx)
{
	struct account acct;
	struct subscription_state next;
	enum pf_error err;

	err = account_lock_current_for_user(ctx->db, &ctx->req->identity, ctx->req->now, &acct);
	if (err != PF_OK)
		return err;
	err = policy_resume(&acct.sub, ctx->req->now, &next);
	if (err != PF_OK)
		return http_fail(ctx->res, err,
		    "Your subscription is not scheduled to cancel, so there is nothing to resume.");
	err = save_change(ctx, &acct, &next, "subscription.resumed", "subscription_resumed");
	if (err != PF_OK)
		return err;
	return answer_subscription(ctx, &acct);
}

enum pf_error
handle_subscription_downgrade(struct handler_ctx *ctx)
{
	struct account acct;
	struct subscription_state next;
	struct plan target;
	const struct plan *target_ptr = &target;
	const char *plan_name = ctx->fields[DOWNGRADE_PLAN].string;
	char end[PF_RFC3339_LEN];
	enum pf_error err;

	err = account_lock_current_for_user(ctx->db, &ctx->req->identity, ctx->req->now, &acct);
	if (err != PF_OK)
		return err;
	err = plan_lookup(ctx->db, plan_name, &target);
	if (err == PF_ERR_UNKNOWN_PLAN)
		target_ptr = NULL;
	else if (err != PF_OK)
		return err;
	err = policy_downgrade(&acct.sub, target_ptr, &next);
	pf_time_format(acct.sub.period_end, end);
	switch (err) {
	case PF_OK:
		break;
	case PF_ERR_NO_ACTIVE_SUBSCRIPTION:
		return http_fail(ctx->res, err,
		    "You are on the free plan: there is no paid subscription to downgrade.");
	case PF_ERR_CANCELLATION_SCHEDULED:
		return http_fail(ctx->res, err,
		    "Your subscription is scheduled to cancel on %s; resume it before changing plans.", end);
	case PF_ERR_UNKNOWN_PLAN:
		return http_fail(ctx->res, err, "There is no plan named '%.64s'.", plan_name);
	case PF_ERR_NOT_A_DOWNGRADE:
		return http_fail(ctx->res, err,
		    "'%.64s' is not a lower paid plan than your current plan (%s); to leave paid plans, cancel instead.",
		    plan_name, acct.sub.plan);
	default:
		return http_fail(ctx->res, err, "The downgrade could not be scheduled.");
	}
	err = save_change(ctx, &acct, &next, "subscription.downgrade_scheduled",
	    "subscription_downgrade_scheduled");
	if (err != PF_OK)
		return err;
	return answer_subscription(ctx, &acct);
}

enum pf_error
handle_scheduled_change_delete(struct handler_ctx *ctx)
{
	struct account acct;
	struct subscription_state next;
	enum pf_error err;

	err = account_lock_current_for_user(ctx->db, &ctx->req->identity, ctx->req->now, &acct);
	if (err != PF_OK)
		return err;
	err = policy_withdraw_scheduled_change(&acct.sub, &next);
	if (err != PF_OK)
		return http_fail(ctx->res, err, "No plan change is scheduled.");
	err = save_change(ctx, &acct, &next, "subscription.scheduled_change_withdrawn",
	    "subscription_downgrade_withdrawn");
	if (err != PF_OK)
		return err;
	return answer_subscription(ctx, &acct);
}
