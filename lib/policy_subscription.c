/* policy_subscription.c: policy section 1 and the billing-cycle rollover.
 *
 * Every rule copies its input before writing its output, so a caller may pass
 * the same struct as in and out. On an error the output is left untouched:
 * the contract says a refused request changes nothing, and an untouched
 * struct cannot be written back by mistake as a half-applied state. */
#include <string.h>
#include "policy_subscription.h"

/* Plan names come from the database and from rows the caller filled; bound
 * the copy by the field size so an unterminated source cannot be overread. */
static void
copy_plan_name(char dst[PLAN_NAME_MAX + 1], const char *src)
{
	size_t n = 0;

	while (n < PLAN_NAME_MAX && src[n] != '\0')
		n++;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
clear_scheduled_change(struct subscription_state *s)
{
	s->scheduled_plan[0] = '\0';
	s->scheduled_effective_at = 0;
}

enum pf_error
policy_cancel(const struct subscription_state *in, struct subscription_state *out)
{
	struct subscription_state s = *in;

	if (!s.paid)
		return PF_ERR_NO_ACTIVE_SUBSCRIPTION;
	/* Leaving paid plans altogether supersedes moving to a cheaper one. */
	s.cancel_at_period_end = true;
	clear_scheduled_change(&s);
	*out = s;
	return PF_OK;
}

enum pf_error
policy_resume(const struct subscription_state *in, pf_time now,
    struct subscription_state *out)
{
	struct subscription_state s = *in;

	/* Once period_end has passed the cancellation has taken effect (even if
	 * the rollover has not been written yet), so there is nothing to undo. */
	if (!s.paid || !s.cancel_at_period_end || now >= s.period_end)
		return PF_ERR_NOT_SCHEDULED_TO_CANCEL;
	s.cancel_at_period_end = false;
	*out = s;
	return PF_OK;
}

enum pf_error
policy_downgrade(const struct subscription_state *in, const struct plan *target,
    struct subscription_state *out)
{
	struct subscription_state s = *in;

	if (!s.paid)
		return PF_ERR_NO_ACTIVE_SUBSCRIPTION;
	if (s.cancel_at_period_end)
		return PF_ERR_CANCELLATION_SCHEDULED;
	if (target == NULL)
		return PF_ERR_UNKNOWN_PLAN;
	/* A free target is refused by price or rank alike, so an operator's
	 * zero-priced plan cannot become a way round cancel's semantics. */
	if (target->rank >= s.plan_rank || target->rank <= 0 ||
	    target->price_cents <= 0)
		return PF_ERR_NOT_A_DOWNGRADE;
	copy_plan_name(s.scheduled_plan, target->name);
	s.scheduled_effective_at = s.period_end;
	*out = s;
	return PF_OK;
}

enum pf_error
policy_withdraw_scheduled_change(const struct subscription_state *in,
    struct subscription_state *out)
{
	struct subscription_state s = *in;

	if (!s.paid || s.scheduled_plan[0] == '\0')
		return PF_ERR_NO_SCHEDULED_CHANGE;
	clear_scheduled_change(&s);
	*out = s;
	return PF_OK;
}

void
policy_rollover_next(const struct subscription_state *s, pf_time now,
    struct rollover_step *step)
{
	struct rollover_step r;

	memset(&r, 0, sizeof(r));
	r.kind = ROLLOVER_NONE;
	if (!s->paid || now < s->period_end) {
		*step = r;
		return;
	}
	r.at = s->period_end;
	/* Cancel and downgrade exclude each other through the rules above; should
	 * a row carry both, ending is the choice that never charges the customer. */
	if (s->cancel_at_period_end) {
		r.kind = ROLLOVER_END;
		copy_plan_name(r.new_plan, "free");
		*step = r;
		return;
	}
	r.kind = s->scheduled_plan[0] != '\0' ? ROLLOVER_CHANGE_PLAN : ROLLOVER_RENEW;
	r.new_period_index = s->period_index + 1;
	/* Boundaries always come from the anchor, never from the stored
	 * period_end, so one clamped month (Feb 28) cannot shift later ones. */
	r.new_period_start = pf_time_add_months(s->anchor, r.new_period_index);
	r.new_period_end = pf_time_add_months(s->anchor, r.new_period_index + 1);
	copy_plan_name(r.new_plan, r.kind == ROLLOVER_CHANGE_PLAN ?
	    s->scheduled_plan : s->plan);
	*step = r;
}

void
policy_rollover_apply(const struct subscription_state *s,
    const struct rollover_step *step, struct subscription_state *out)
{
	struct subscription_state n = *s;

	if (step->kind == ROLLOVER_END) {
		/* Zeroed rather than left stale: a free user has no period, and a
		 * later checkout must not inherit the old anchor. */
		memset(&n, 0, sizeof(n));
		n.paid = false;
		copy_plan_name(n.plan, "free");
		n.plan_rank = 0;
	} else if (step->kind == ROLLOVER_CHANGE_PLAN || step->kind == ROLLOVER_RENEW) {
		if (step->kind == ROLLOVER_CHANGE_PLAN)
			copy_plan_name(n.plan, step->new_plan);
		n.period_index = step->new_period_index;
		n.period_start = step->new_period_start;
		n.period_end = step->new_period_end;
		n.cancel_at_period_end = false;
		clear_scheduled_change(&n);
	}
	*out = n;
}
