/* policy_charge.c: refund arithmetic on a charge and period validation for
 * provider-reported subscription charges. */
#include <stddef.h>
#include <string.h>
#include "policy_charge.h"
#include "policy_credits.h"
#include "policy_refund.h"

static const char *const status_names[CHARGE_STATUS__MAX] = {
	[CHARGE_PAID] = "paid",
	[CHARGE_PARTIALLY_REFUNDED] = "partially_refunded",
	[CHARGE_REFUNDED] = "refunded",
};

const char *
charge_status_name(enum charge_status s)
{
	if ((int)s < 0 || s >= CHARGE_STATUS__MAX)
		return NULL;
	return status_names[s];
}

int
charge_status_from_name(const char *name, enum charge_status *out)
{
	if (name == NULL)
		return -1;
	for (int s = 0; s < CHARGE_STATUS__MAX; s++) {
		if (strcmp(status_names[s], name) == 0) {
			if (out != NULL)
				*out = (enum charge_status)s;
			return 0;
		}
	}
	return -1;
}

enum charge_status
policy_charge_status(int64_t amount_cents, int64_t refunded_cents)
{
	if (refunded_cents <= 0)
		return CHARGE_PAID;
	if (refunded_cents >= amount_cents)
		return CHARGE_REFUNDED;
	return CHARGE_PARTIALLY_REFUNDED;
}

enum pf_error
policy_charge_refund(int64_t amount_cents, int64_t refunded_cents, int64_t refund_cents,
    int64_t pack_credits, int64_t purchased_balance, struct charge_refund *out)
{
	int64_t unrefunded;

	memset(out, 0, sizeof(*out));
	/* A corrupt row (refunded beyond the amount, negatives) leaves nothing
	 * refundable rather than an amount computed from garbage. */
	if (amount_cents < 0 || refunded_cents < 0 || refunded_cents > amount_cents)
		return PF_ERR_INVALID_AMOUNT;
	unrefunded = amount_cents - refunded_cents;
	if (!policy_refund_amount_valid(refund_cents, unrefunded))
		return PF_ERR_INVALID_AMOUNT;
	out->refunded_cents = refunded_cents + refund_cents;
	out->status = policy_charge_status(amount_cents, out->refunded_cents);
	/* Only the refund that completes it takes credits back: a partial
	 * refund (an overcharge returned) leaves the pack's credits paid for. */
	if (pack_credits > 0 && out->status == CHARGE_REFUNDED)
		out->credits_taken_back = policy_credits_pack_clawback(pack_credits, purchased_balance);
	return PF_OK;
}

int
policy_charge_period_index(pf_time anchor, int current_index, pf_time period_start)
{
	int k;

	if (current_index < 0 || period_start < anchor)
		return -1;
	k = pf_time_period_index_at(anchor, period_start);
	if (k > current_index || pf_time_add_months(anchor, k) != period_start)
		return -1;
	return k;
}
