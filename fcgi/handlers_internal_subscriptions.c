/* handlers_internal_subscriptions.c: POST /api/v1/internal/subscriptions,
 * the payment relay's "checkout completed". Starts the paid subscription,
 * records its first charge, grants the plan's included credits, and brings
 * it up to date when started_at is more than a period ago. */
#include <stdio.h>
#include <string.h>
#include "auth_subject.h"
#include "handler.h"
#include "provider_event.h"
#include "sql_account.h"

static const char endpoint[] = "internal/subscriptions";

#define STARTED_AT_MAX_MONTHS 36

static enum pf_error
start_subscription(struct handler_ctx *ctx, struct account *acct, const struct plan *plan,
    pf_time started_at, const char *provider_ref)
{
	char started_text[24], end_text[24];
	const char *params[5];
	PGresult *res = NULL;
	json_t *after = NULL, *payload = NULL;
	enum pf_error err;

	snprintf(started_text, sizeof(started_text), "%lld", (long long)started_at);
	snprintf(end_text, sizeof(end_text), "%lld", (long long)pf_time_add_months(started_at, 1));
	params[0] = acct->user_id;
	params[1] = plan->name;
	params[2] = started_text;
	params[3] = end_text;
	params[4] = provider_ref;
	err = db_exec(ctx->db, &sql_account_catalog, SQL_SUBSCRIPTION_INSERT, params, &res);
	if (err != PF_OK)
		goto out;
	acct->subscription_id = db_int(res, 0, "id");
	memset(&acct->sub, 0, sizeof(acct->sub));
	acct->sub.paid = true;
	snprintf(acct->sub.plan, sizeof(acct->sub.plan), "%s", plan->name);
	acct->sub.plan_rank = plan->rank;
	acct->sub.anchor = started_at;
	acct->sub.period_index = 0;
	acct->sub.period_start = started_at;
	acct->sub.period_end = pf_time_add_months(started_at, 1);
	/* the first charge is dated when the checkout happened */
	err = account_bill_period(ctx->db, acct, plan, "checkout", started_at);
	if (err != PF_OK)
		goto out;
	after = account_subscription_json(acct);
	err = audit_write(ctx->db, ctx->req->now, &ctx->actor, "subscription.started",
	    acct->user_id, NULL, after);
	if (err != PF_OK)
		goto out;
	payload = json_pack("{s:O}", "subscription", after);
	err = outbox_write(ctx->db, ctx->req->now, acct->user_id, "subscription_started", payload);
out:
	json_decref(after);
	json_decref(payload);
	PQclear(res);
	return err;
}

enum pf_error
handle_internal_subscription_create(struct handler_ctx *ctx)
{
	const struct field_value *f = ctx->fields;
	const char *user_id = f[INTERNAL_SUBSCRIPTION_USER_ID].string;
	const char *email = f[INTERNAL_SUBSCRIPTION_EMAIL].string;
	const char *provider_ref = f[INTERNAL_SUBSCRIPTION_PROVIDER_REF].string;
	pf_time started_at = f[INTERNAL_SUBSCRIPTION_STARTED_AT].present ? f[INTERNAL_SUBSCRIPTION_STARTED_AT].integer : ctx->req->now;
	struct actor system = {"system", NULL};
	struct account acct;
	struct plan plan;
	bool answered;
	enum pf_error err;

	if (!auth_subject_valid(user_id, strlen(user_id)))
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST,
		    "Field 'user_id' must be 1-64 characters of A-Z a-z 0-9 _ . @ : -.");
	if (strchr(email, '@') == NULL)
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST, "Field 'email' must be an email address.");
	if (started_at > ctx->req->now)
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST, "Field 'started_at' is in the future.");
	/* catching up is one transaction per period; a checkout reported years
	 * late (or year 0001) is a mistake, not thousands of renewals */
	if (started_at < pf_time_add_months(ctx->req->now, -STARTED_AT_MAX_MONTHS))
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST,
		    "Field 'started_at' is more than three years in the past.");

	err = provider_event_begin(ctx, provider_ref, endpoint, &answered);
	if (err != PF_OK || answered)
		return err;
	err = account_provision_lock_current(ctx->db, user_id, email, ctx->req->now, &ctx->actor,
	    &acct);
	if (err != PF_OK)
		return err;
	if (acct.suspended)
		return http_fail(ctx->res, PF_ERR_ACCOUNT_SUSPENDED,
		    "This account is suspended; a subscription cannot be started.");
	if (acct.sub.paid)
		return http_fail(ctx->res, PF_ERR_SUBSCRIPTION_EXISTS,
		    "This user already has an active %s subscription.", acct.sub.plan);
	err = plan_lookup(ctx->db, f[INTERNAL_SUBSCRIPTION_PLAN].string, &plan);
	if (err == PF_ERR_UNKNOWN_PLAN)
		return http_fail(ctx->res, err, "There is no plan named '%.64s'.", f[INTERNAL_SUBSCRIPTION_PLAN].string);
	if (err != PF_OK)
		return err;
	if (plan.price_cents == 0)
		return http_fail(ctx->res, PF_ERR_NOT_A_PAID_PLAN,
		    "'%s' is not a paid plan.", plan.name);
	err = start_subscription(ctx, &acct, &plan, started_at, provider_ref);
	if (err == PF_OK)
		err = account_bring_up_to_date(ctx->db, &acct, ctx->req->now, &system, NULL);
	if (err != PF_OK)
		return err;
	err = http_ok(ctx->res, 201, account_json(&acct));
	if (err != PF_OK)
		return err;
	return provider_event_record(ctx, provider_ref, endpoint);
}
