/* policy_refund.h: policy sections 4-6. Which reasons are eligible, for which
 * record kind, the 14-day window, and the order in which a refund request is
 * refused. Pure functions and constant tables. */
#ifndef POLICY_REFUND_H
#define POLICY_REFUND_H

#include <stdbool.h>
#include "pf_error.h"
#include "pf_time.h"

#define REFUND_WINDOW_DAYS 14
#define REFUND_WINDOW_SECONDS ((pf_time)REFUND_WINDOW_DAYS * PF_DAY_SECONDS)
#define REFUND_RESPONSE_BUSINESS_DAYS 5
#define REFUND_SUPPORT_EMAIL "support@personaforge.xyz"

enum refund_reason {
	REFUND_REASON_DUPLICATE_CHARGE = 0,
	REFUND_REASON_SYSTEM_FAILURE,
	REFUND_REASON_BILLING_ERROR,
	REFUND_REASON_UNAUTHORIZED_CHARGE,
	REFUND_REASON_DISSATISFACTION,
	REFUND_REASON_UNUSED_CREDITS,
	REFUND_REASON_ACCOUNT_SUSPENSION,
	REFUND_REASON_THIRD_PARTY_OUTAGE,
	REFUND_REASON_PRICE_CHANGE,
	REFUND_REASON__MAX
};

struct refund_reason_info {
	const char *label;       /* shown on the form */
	bool eligible;           /* policy 4 (true) or 5 (false) */
	bool applies_to_charge;  /* eligible reasons only */
	bool applies_to_task;
	const char *explanation; /* ineligible reasons: why policy 5 excludes it, for the customer */
};

/* The API codes ("duplicate_charge", ...) indexed by enum refund_reason,
 * ending with NULL: the one list, which the request validator takes as its
 * enum. */
extern const char *const refund_reason_codes[REFUND_REASON__MAX + 1];

/* r's code; NULL when r is out of range. */
const char *refund_reason_code(enum refund_reason r);

/* The table entry for r; NULL when r is out of range. */
const struct refund_reason_info *refund_reason_info(enum refund_reason r);

/* Looks up a reason code. Returns 0 and sets *out, or -1 for an unknown code. */
int refund_reason_from_code(const char *code, enum refund_reason *out);

/* Inside the window: now - event_at <= 14 x 24 h (exactly 14 days is still
 * inside; 14 d + 1 s is not). An event in the future counts as inside. */
bool policy_refund_within_window(pf_time event_at, pf_time now);

/* The last instant still inside the window: event_at + 14 days. */
pf_time policy_refund_window_end(pf_time event_at);

/* What the rules need to know about the record a request names. */
struct refund_target {
	bool is_task;
	/* charge */
	bool fully_refunded;     /* status refunded */
	/* task */
	bool task_failed;        /* status failed (not running, not completed) */
	bool credits_returned;
	/* both */
	pf_time event_at;        /* charged_at, or the task's failed_at */
	bool has_open_request;   /* a pending request names the same record */
};

/* Decides whether a request may be filed, in the contract's order:
 * REASON_NOT_ELIGIBLE, REASON_NOT_APPLICABLE (wrong record kind, or
 * system_failure on a task that has not failed), OUTSIDE_REFUND_WINDOW,
 * ALREADY_REFUNDED, REFUND_ALREADY_REQUESTED. PF_OK when it may. */
enum pf_error policy_refund_request_check(enum refund_reason reason,
    const struct refund_target *target, pf_time now);

/* True when the request is decided at once: duplicate_charge on a
 * subscription charge while another charge with status paid exists for the
 * same subscription period, and the account is not suspended. */
bool policy_refund_auto_approve(enum refund_reason reason, bool is_subscription_charge,
    bool other_paid_charge_same_period, bool account_suspended);

/* Support's partial amount: valid when 1 <= amount <= unrefunded. */
bool policy_refund_amount_valid(int64_t amount_cents, int64_t unrefunded_cents);

#endif
