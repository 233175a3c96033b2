/* policy_charge.h: a charge's refund state (policy 4: full and partial
 * refunds, the credit-pack clawback of policy 2) and which subscription
 * periods a provider-reported charge may name. Pure functions. */
#ifndef POLICY_CHARGE_H
#define POLICY_CHARGE_H

#include <stdbool.h>
#include <stdint.h>
#include "pf_error.h"
#include "pf_time.h"

enum charge_status {
	CHARGE_PAID = 0,
	CHARGE_PARTIALLY_REFUNDED,
	CHARGE_REFUNDED,
	CHARGE_STATUS__MAX
};

/* "paid", "partially_refunded", "refunded"; NULL when s is out of range. */
const char *charge_status_name(enum charge_status s);

/* Parses a status name. Returns 0 and sets *out, or -1. */
int charge_status_from_name(const char *name, enum charge_status *out);

/* The status of a charge of amount_cents of which refunded_cents are
 * refunded: paid (nothing), refunded (all), partially_refunded (between). A
 * zero-amount charge is paid until something marks it refunded, which
 * policy_charge_refund never does. */
enum charge_status policy_charge_status(int64_t amount_cents, int64_t refunded_cents);

struct charge_refund {
	int64_t refunded_cents;      /* total refunded after this refund */
	enum charge_status status;   /* after this refund */
	int64_t credits_taken_back;  /* credit pack only: what the purchased balance loses */
};

/* Refunds refund_cents more of a charge (amount_cents, of which
 * refunded_cents already refunded). pack_credits is the credit pack's
 * credits (0 for a subscription charge); purchased_balance the user's
 * purchased credits now. A pack's credits are taken back, as far as the
 * balance still holds them, only by the refund that makes it fully
 * refunded; while partly refunded, none are.
 * PF_ERR_INVALID_AMOUNT unless 1 <= refund_cents <= unrefunded. */
enum pf_error policy_charge_refund(int64_t amount_cents, int64_t refunded_cents,
    int64_t refund_cents, int64_t pack_credits, int64_t purchased_balance,
    struct charge_refund *out);

/* The index k (0 <= k <= current_index) of the subscription period that
 * starts at period_start (anchor + k months exactly), or -1 when
 * period_start is not the start of one of the periods so far. */
int policy_charge_period_index(pf_time anchor, int current_index, pf_time period_start);

#endif
