/* policy_subscription.h: policy section 1 (cancel, resume, downgrade,
 * withdraw) and the billing-period rollover, as pure functions over plain
 * structs. The handlers load the locked rows into these structs, call the
 * rule, and write back what it returns. */
#ifndef POLICY_SUBSCRIPTION_H
#define POLICY_SUBSCRIPTION_H

#include <stdbool.h>
#include "pf_error.h"
#include "pf_time.h"

/* a plan name's longest, in characters: plans.name's CHECK allows
 * [a-z][a-z0-9_]{0,31} */
#define PLAN_NAME_MAX 32

struct plan {
	char name[PLAN_NAME_MAX + 1];
	int rank;                 /* free = 0, pro = 1, studio = 2 */
	int64_t price_cents;      /* monthly price; 0 for free */
	char currency[4];
	int64_t included_credits; /* monthly allowance */
};

/* A user's paid subscription as the rules see it. paid == false means the
 * user is on the free plan (all other fields are then ignored). */
struct subscription_state {
	bool paid;
	char plan[PLAN_NAME_MAX + 1];
	int plan_rank;
	pf_time anchor;           /* period k starts at anchor + k months */
	int period_index;         /* k of the current period */
	pf_time period_start;
	pf_time period_end;       /* = start of period k + 1 */
	bool cancel_at_period_end;
	char scheduled_plan[PLAN_NAME_MAX + 1]; /* "" when no downgrade is scheduled */
	pf_time scheduled_effective_at;     /* = period_end when scheduled */
};

/* Cancel at period end. PF_ERR_NO_ACTIVE_SUBSCRIPTION for a free user.
 * Idempotent; clears a scheduled downgrade. *out gets the new state. */
enum pf_error policy_cancel(const struct subscription_state *in,
    struct subscription_state *out);

/* Undo a scheduled cancellation. PF_ERR_NOT_SCHEDULED_TO_CANCEL when nothing
 * is scheduled (a free user included) or the period is already over at now. */
enum pf_error policy_resume(const struct subscription_state *in, pf_time now,
    struct subscription_state *out);

/* Schedule a downgrade to target at period_end; target NULL means the plan
 * name is not in the plans table. Errors in the contract's order:
 * NO_ACTIVE_SUBSCRIPTION, CANCELLATION_SCHEDULED, UNKNOWN_PLAN,
 * NOT_A_DOWNGRADE (same or higher rank, or a free plan: price 0 / rank 0).
 * Replaces an earlier scheduled downgrade. */
enum pf_error policy_downgrade(const struct subscription_state *in,
    const struct plan *target, struct subscription_state *out);

/* Withdraw a scheduled downgrade. PF_ERR_NO_SCHEDULED_CHANGE when none. */
enum pf_error policy_withdraw_scheduled_change(const struct subscription_state *in,
    struct subscription_state *out);

enum rollover_kind {
	ROLLOVER_NONE = 0,   /* the current period has not ended at now */
	ROLLOVER_END,        /* cancellation scheduled: paid subscription ends at period_end */
	ROLLOVER_CHANGE_PLAN,/* downgrade scheduled: new period on the scheduled plan (charged, allowance reset) */
	ROLLOVER_RENEW       /* new period on the same plan (charged, allowance reset) */
};

struct rollover_step {
	enum rollover_kind kind;
	pf_time at;                /* when the step takes effect: the old period_end */
	int new_period_index;      /* for CHANGE_PLAN and RENEW */
	pf_time new_period_start;
	pf_time new_period_end;
	char new_plan[PLAN_NAME_MAX + 1];
};

/* The next single step for a paid subscription at time now (one period at a
 * time: a caller catching up loops until ROLLOVER_NONE). A period has ended
 * when now >= period_end. For a free user: ROLLOVER_NONE. */
void policy_rollover_next(const struct subscription_state *s, pf_time now,
    struct rollover_step *step);

/* The state after step (s with the step applied). For ROLLOVER_END, paid
 * becomes false. For CHANGE_PLAN the caller sets plan_rank from the plans
 * table (the pure rule does not know ranks by name). */
void policy_rollover_apply(const struct subscription_state *s,
    const struct rollover_step *step, struct subscription_state *out);

#endif
