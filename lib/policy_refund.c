/* policy_refund.c: policy sections 4-6 (eligible and excluded reasons, the
 * 14-day window, the order in which a request is refused).
 *
 * The table's labels and explanations are shown to customers as they are
 * (refund form, problem+json `detail`), so they are written to them. Each
 * explanation quotes its section 5 sentence word for word: a customer who is
 * refused can find the rule in the published policy. */
#include <stddef.h>
#include <string.h>
#include "policy_refund.h"

/* The ineligible explanations for failed tasks point to this label, so it is
 * defined once and cannot drift from what the form shows. */
#define SYSTEM_FAILURE_LABEL \
	"A generation or training task failed because of an error on our platform"

/* The reason codes of the API, indexed by enum refund_reason: the refund
 * form's list, the validator's enum of POST /refund-requests and the
 * stored refund_request.reason. */
const char *const refund_reason_codes[REFUND_REASON__MAX + 1] = {
	[REFUND_REASON_DUPLICATE_CHARGE] = "duplicate_charge",
	[REFUND_REASON_SYSTEM_FAILURE] = "system_failure",
	[REFUND_REASON_BILLING_ERROR] = "billing_error",
	[REFUND_REASON_UNAUTHORIZED_CHARGE] = "unauthorized_charge",
	[REFUND_REASON_DISSATISFACTION] = "dissatisfaction",
	[REFUND_REASON_UNUSED_CREDITS] = "unused_credits",
	[REFUND_REASON_ACCOUNT_SUSPENSION] = "account_suspension",
	[REFUND_REASON_THIRD_PARTY_OUTAGE] = "third_party_outage",
	[REFUND_REASON_PRICE_CHANGE] = "price_change",
	[REFUND_REASON__MAX] = NULL,
};

static const struct refund_reason_info reason_table[REFUND_REASON__MAX] = {
	[REFUND_REASON_DUPLICATE_CHARGE] = {
		"I was charged more than once for the same subscription period or credit pack",
		true, true, false, NULL,
	},
	[REFUND_REASON_SYSTEM_FAILURE] = {
		SYSTEM_FAILURE_LABEL,
		true, false, true, NULL,
	},
	[REFUND_REASON_BILLING_ERROR] = {
		"I was charged an incorrect amount because of a technical issue",
		true, true, false, NULL,
	},
	[REFUND_REASON_UNAUTHORIZED_CHARGE] = {
		"I did not authorize this charge",
		true, true, false, NULL,
	},
	[REFUND_REASON_DISSATISFACTION] = {
		"I am not happy with the quality or accuracy of the results",
		false, false, false,
		"Our Refund Policy (section 5) does not provide refunds for "
		"\"Dissatisfaction with AI-generated output quality or accuracy.\" "
		"The AI compute behind a generation is used the moment it runs, so "
		"the credits spent on it cannot be returned (section 2). If a task "
		"failed because of an error on our side, choose \""
		SYSTEM_FAILURE_LABEL "\" instead.",
	},
	[REFUND_REASON_UNUSED_CREDITS] = {
		"I did not use my credits or features",
		false, false, false,
		"Our Refund Policy (section 5) does not provide refunds for "
		"\"Failure to use credits or features before cancellation or plan "
		"reset.\" The credits included with your plan reset each billing "
		"period, and credits you bought stay in your account for as long as "
		"it is active (section 2).",
	},
	[REFUND_REASON_ACCOUNT_SUSPENSION] = {
		"My account was suspended or terminated",
		false, false, false,
		"Our Refund Policy (section 5) does not provide refunds for "
		"\"Account suspension or termination due to violation of our Terms "
		"of Service.\" You can still ask for a refund of a duplicate charge, "
		"a billing error, an unauthorized charge or a task that failed "
		"because of an error on our platform (section 4).",
	},
	[REFUND_REASON_THIRD_PARTY_OUTAGE] = {
		"An outside AI provider (Fal.ai, Kling) had an outage or limitation",
		false, false, false,
		"Our Refund Policy (section 5) does not provide refunds for "
		"\"Outages or limitations caused by third-party AI providers (Fal.ai, "
		"Kling).\" If you believe a task failed because of an error on our "
		"own platform, choose \"" SYSTEM_FAILURE_LABEL "\" instead, and our "
		"support team will check it.",
	},
	[REFUND_REASON_PRICE_CHANGE] = {
		"Prices or plan features changed",
		false, false, false,
		"Our Refund Policy (section 5) does not provide refunds for "
		"\"Changes in pricing or plan features after the current billing "
		"period.\" The period you have paid for keeps its plan, and you can "
		"cancel at any time from your account settings so that the next "
		"period is not charged (section 1).",
	},
};

const struct refund_reason_info *
refund_reason_info(enum refund_reason r)
{
	/* The cast catches negative values from an unchecked integer. */
	if ((int)r < 0 || r >= REFUND_REASON__MAX)
		return NULL;
	return &reason_table[r];
}

const char *
refund_reason_code(enum refund_reason r)
{
	if ((int)r < 0 || r >= REFUND_REASON__MAX)
		return NULL;
	return refund_reason_codes[r];
}

int
refund_reason_from_code(const char *code, enum refund_reason *out)
{
	if (code == NULL)
		return -1;
	/* Exact, case-sensitive match: codes are an API enum, and anything not
	 * listed must surface as 400 invalid_request rather than be guessed. */
	for (int r = 0; r < REFUND_REASON__MAX; r++) {
		if (strcmp(refund_reason_codes[r], code) == 0) {
			if (out != NULL)
				*out = (enum refund_reason)r;
			return 0;
		}
	}
	return -1;
}

bool
policy_refund_within_window(pf_time event_at, pf_time now)
{
	if (now <= event_at)
		return true;
	/* Unsigned subtraction gives the exact distance even where now - event_at
	 * would overflow int64, so a sentinel time cannot flip the answer. */
	return (uint64_t)now - (uint64_t)event_at <= (uint64_t)REFUND_WINDOW_SECONDS;
}

pf_time
policy_refund_window_end(pf_time event_at)
{
	pf_time end;

	if (__builtin_add_overflow(event_at, REFUND_WINDOW_SECONDS, &end))
		return INT64_MAX;
	return end;
}

enum pf_error
policy_refund_request_check(enum refund_reason reason,
    const struct refund_target *target, pf_time now)
{
	const struct refund_reason_info *info = refund_reason_info(reason);

	/* An unlisted reason is a malformed request (contract: 400), which the
	 * parser should already have refused; a missing record is a bug. */
	if (info == NULL)
		return PF_ERR_INVALID_REQUEST;
	if (target == NULL)
		return PF_ERR_INTERNAL;
	/* The contract's order: the reason itself, then whether it fits the
	 * record, then time, then the record's own state. A customer is thus
	 * told the most fundamental problem first, the one no retry can fix. */
	if (!info->eligible)
		return PF_ERR_REASON_NOT_ELIGIBLE;
	if (target->is_task ? !info->applies_to_task : !info->applies_to_charge)
		return PF_ERR_REASON_NOT_APPLICABLE;
	/* A running or completed task has not failed, so a system failure
	 * cannot be claimed for it; it also has no failed_at to time a window. */
	if (target->is_task && !target->task_failed)
		return PF_ERR_REASON_NOT_APPLICABLE;
	if (!policy_refund_within_window(target->event_at, now))
		return PF_ERR_OUTSIDE_REFUND_WINDOW;
	if (target->is_task ? target->credits_returned : target->fully_refunded)
		return PF_ERR_ALREADY_REFUNDED;
	if (target->has_open_request)
		return PF_ERR_REFUND_ALREADY_REQUESTED;
	return PF_OK;
}

bool
policy_refund_auto_approve(enum refund_reason reason, bool is_subscription_charge,
    bool other_paid_charge_same_period, bool account_suspended)
{
	/* Only a second paid charge for one subscription period is proven by our
	 * own records; everything else needs support's confirmation (policy 4),
	 * and a suspended account is always reviewed by a person. */
	return reason == REFUND_REASON_DUPLICATE_CHARGE && is_subscription_charge &&
	    other_paid_charge_same_period && !account_suspended;
}

bool
policy_refund_amount_valid(int64_t amount_cents, int64_t unrefunded_cents)
{
	return amount_cents >= 1 && amount_cents <= unrefunded_cents;
}
