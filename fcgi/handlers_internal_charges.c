/* handlers_internal_charges.c: POST /api/v1/internal/charges, a payment the
 * provider reports (a subscription charge, or a credit pack that adds its
 * credits to the purchased balance). Webhooks are delivered more than once:
 * provider_ref de-duplication is shared with /internal/subscriptions. */
#include <stdio.h>
#include <string.h>
#include "charge.h"
#include "handler.h"
#include "provider_event.h"

static const char endpoint[] = "internal/charges";

static bool
currency_valid(const char *c)
{
	return strlen(c) == 3 && strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3;
}

enum pf_error
handle_internal_charge_create(struct handler_ctx *ctx)
{
	const struct field_value *f = ctx->fields;
	const char *provider_ref = f[INTERNAL_CHARGE_PROVIDER_REF].string;
	struct charge_new n;
	struct charge charge;
	struct account acct;
	struct subscription_state billed;   /* n.plan points into it */
	int64_t billed_id;
	bool answered;
	int k;
	enum pf_error err;

	memset(&n, 0, sizeof(n));
	n.is_pack = strcmp(f[INTERNAL_CHARGE_KIND].string, "credit_pack") == 0;
	n.amount_cents = f[INTERNAL_CHARGE_AMOUNT].integer;
	n.currency = f[INTERNAL_CHARGE_CURRENCY].string;
	n.charged_at = f[INTERNAL_CHARGE_CHARGED_AT].present ? f[INTERNAL_CHARGE_CHARGED_AT].integer : ctx->req->now;
	n.credits = f[INTERNAL_CHARGE_CREDITS].present ? f[INTERNAL_CHARGE_CREDITS].integer : 0;
	n.provider_ref = provider_ref;
	/* the shape of the request: 400 before any rule */
	if (!currency_valid(n.currency))
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST,
		    "Field 'currency' must be an ISO 4217 code such as USD.");
	if (n.charged_at > ctx->req->now)
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST, "Field 'charged_at' is in the future.");
	if (n.is_pack && !f[INTERNAL_CHARGE_CREDITS].present)
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST,
		    "Field 'credits' is required for a credit pack.");
	if (n.is_pack && f[INTERNAL_CHARGE_PERIOD_START].present)
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST,
		    "Field 'period_start' applies to subscription charges only.");
	if (!n.is_pack && f[INTERNAL_CHARGE_CREDITS].present)
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST,
		    "Field 'credits' applies to credit packs only.");

	err = provider_event_begin(ctx, provider_ref, endpoint, &answered);
	if (err != PF_OK || answered)
		return err;
	err = account_lock_current(ctx->db, f[INTERNAL_CHARGE_USER_ID].string, ctx->req->now, &acct);
	if (err == PF_ERR_USER_NOT_FOUND)
		return http_fail(ctx->res, err, "There is no user '%.64s'.", f[INTERNAL_CHARGE_USER_ID].string);
	if (err != PF_OK)
		return err;
	if (!n.is_pack) {
		billed = acct.sub;
		billed_id = acct.subscription_id;
		/* the provider took the money even after a suspension ended the
		 * subscription: record it against that subscription */
		if (!billed.paid && acct.suspended) {
			err = account_subscription_ended_by_suspension(ctx->db, acct.user_id, &billed,
			    &billed_id);
			if (err != PF_OK && err != PF_ERR_NO_ACTIVE_SUBSCRIPTION)
				return err;
		}
		if (!billed.paid)
			return http_fail(ctx->res, PF_ERR_NO_ACTIVE_SUBSCRIPTION,
			    "This user has no paid subscription to charge for.");
		k = billed.period_index;
		if (f[INTERNAL_CHARGE_PERIOD_START].present) {
			k = policy_charge_period_index(billed.anchor, billed.period_index,
			    f[INTERNAL_CHARGE_PERIOD_START].integer);
			if (k < 0)
				return http_fail(ctx->res, PF_ERR_INVALID_PERIOD,
				    "Field 'period_start' is not the start of one of this subscription's "
				    "periods so far.");
		}
		n.subscription_id = billed_id;
		n.plan = billed.plan;
		n.period_start = pf_time_add_months(billed.anchor, k);
		n.period_end = pf_time_add_months(billed.anchor, k + 1);
	}
	err = charge_record(ctx->db, &acct, &n, ctx->req->now, &ctx->actor, &charge);
	if (err != PF_OK)
		return err;
	err = http_ok(ctx->res, 201, json_pack("{s:o}", "charge", charge_json(&charge)));
	if (err != PF_OK)
		return err;
	return provider_event_record(ctx, provider_ref, endpoint);
}
