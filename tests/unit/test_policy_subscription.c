/* test_policy_subscription.c: every subscription action in every state, and
 * the billing-period rollover including catch-up and month-end anchors. */
#include "policy_subscription.h"
#include "unit.h"
#include "unit_time.h"

static const struct plan plan_free = {"free", 0, 0, "EUR", 50};
static const struct plan plan_pro = {"pro", 1, 1900, "EUR", 800};
static const struct plan plan_studio = {"studio", 2, 4900, "EUR", 2000};
/* Operator-made oddities: the rule must still refuse them as downgrades. */
static const struct plan plan_pro_free_price = {"pro_promo", 1, 0, "EUR", 800};
static const struct plan plan_rank0_priced = {"basic", 0, 500, "EUR", 100};
static const struct plan plan_enterprise = {"enterprise", 3, 9900, "EUR", 9000};
static const struct plan plan_lite = {"lite", 1, 900, "EUR", 300};


static const char *
fmt(pf_time t)
{
	static char bufs[8][PF_RFC3339_LEN];
	static int next;
	char *b = bufs[next++ % 8];

	if (pf_time_format(t, b) != 0)
		return "(unformattable)";
	return b;
}

#define EQ_TIME(got, want) UNIT_EQ_STR(fmt(got), (want))

static struct subscription_state
free_user(void)
{
	struct subscription_state s;

	memset(&s, 0, sizeof(s));
	strcpy(s.plan, "free");
	return s;
}

static struct subscription_state
paid_on(const struct plan *p, const char *anchor)
{
	struct subscription_state s;

	memset(&s, 0, sizeof(s));
	s.paid = true;
	strcpy(s.plan, p->name);
	s.plan_rank = p->rank;
	s.anchor = at(anchor);
	s.period_index = 0;
	s.period_start = s.anchor;
	s.period_end = pf_time_add_months(s.anchor, 1);
	return s;
}

static struct subscription_state
paid_studio(void)
{
	return paid_on(&plan_studio, "2026-01-31T10:00:00Z");
}

static struct subscription_state
cancel_scheduled(void)
{
	struct subscription_state s = paid_studio();

	s.cancel_at_period_end = true;
	return s;
}

static struct subscription_state
downgrade_scheduled(void)
{
	struct subscription_state s = paid_studio();

	strcpy(s.scheduled_plan, "pro");
	s.scheduled_effective_at = s.period_end;
	return s;
}

/* Field by field: struct copies need not preserve padding bytes, and bytes
 * after a name's NUL carry no meaning. */
static int
same(const struct subscription_state *a, const struct subscription_state *b)
{
	return a->paid == b->paid &&
	    strncmp(a->plan, b->plan, PLAN_NAME_MAX) == 0 &&
	    a->plan_rank == b->plan_rank && a->anchor == b->anchor &&
	    a->period_index == b->period_index &&
	    a->period_start == b->period_start && a->period_end == b->period_end &&
	    a->cancel_at_period_end == b->cancel_at_period_end &&
	    strncmp(a->scheduled_plan, b->scheduled_plan, PLAN_NAME_MAX) == 0 &&
	    a->scheduled_effective_at == b->scheduled_effective_at;
}

/* An output the rule must not write on error: valid values (a bool byte of
 * 0xAB would itself be undefined behaviour) that no rule would produce. */
static struct subscription_state
poison(void)
{
	struct subscription_state s;

	memset(&s, 0, sizeof(s));
	s.paid = true;
	strcpy(s.plan, "poison");
	s.plan_rank = 99;
	s.anchor = -7;
	s.period_index = -7;
	s.period_start = -7;
	s.period_end = -7;
	s.cancel_at_period_end = true;
	strcpy(s.scheduled_plan, "poison");
	s.scheduled_effective_at = -7;
	return s;
}

static void
test_cancel(void)
{
	struct subscription_state in, out, p = poison(), want;

	in = free_user();
	out = p;
	UNIT_EQ_INT(policy_cancel(&in, &out), PF_ERR_NO_ACTIVE_SUBSCRIPTION);
	UNIT_CHECK(same(&out, &p));

	in = paid_studio();
	UNIT_EQ_INT(policy_cancel(&in, &out), PF_OK);
	want = in;
	want.cancel_at_period_end = true;
	UNIT_CHECK(same(&out, &want));

	/* Idempotent: a second cancel changes nothing. */
	in = cancel_scheduled();
	UNIT_EQ_INT(policy_cancel(&in, &out), PF_OK);
	UNIT_CHECK(same(&out, &in));

	/* Clears a scheduled downgrade. */
	in = downgrade_scheduled();
	UNIT_EQ_INT(policy_cancel(&in, &out), PF_OK);
	UNIT_CHECK(out.cancel_at_period_end);
	UNIT_EQ_STR(out.scheduled_plan, "");
	UNIT_EQ_INT(out.scheduled_effective_at, 0);
	UNIT_EQ_STR(out.plan, "studio");
	UNIT_EQ_INT(out.period_end, in.period_end);

	/* in and out may be the same struct. */
	in = downgrade_scheduled();
	UNIT_EQ_INT(policy_cancel(&in, &in), PF_OK);
	UNIT_CHECK(in.cancel_at_period_end);
	UNIT_EQ_STR(in.scheduled_plan, "");
}

static void
test_resume(void)
{
	struct subscription_state in, out, p = poison(), want;
	pf_time end;

	in = free_user();
	out = p;
	UNIT_EQ_INT(policy_resume(&in, 0, &out), PF_ERR_NOT_SCHEDULED_TO_CANCEL);
	UNIT_CHECK(same(&out, &p));
	/* A free row with a stray flag is still a free user. */
	in.cancel_at_period_end = true;
	UNIT_EQ_INT(policy_resume(&in, 0, &out), PF_ERR_NOT_SCHEDULED_TO_CANCEL);

	in = paid_studio();
	UNIT_EQ_INT(policy_resume(&in, in.period_start, &out), PF_ERR_NOT_SCHEDULED_TO_CANCEL);
	UNIT_CHECK(same(&out, &p));

	in = downgrade_scheduled();
	UNIT_EQ_INT(policy_resume(&in, in.period_start, &out), PF_ERR_NOT_SCHEDULED_TO_CANCEL);
	UNIT_CHECK(same(&out, &p));

	in = cancel_scheduled();
	end = in.period_end;
	want = in;
	want.cancel_at_period_end = false;
	UNIT_EQ_INT(policy_resume(&in, in.period_start, &out), PF_OK);
	UNIT_CHECK(same(&out, &want));
	out = p;
	UNIT_EQ_INT(policy_resume(&in, end - 1, &out), PF_OK);
	UNIT_CHECK(same(&out, &want));
	/* At period_end the cancellation has taken effect. */
	out = p;
	UNIT_EQ_INT(policy_resume(&in, end, &out), PF_ERR_NOT_SCHEDULED_TO_CANCEL);
	UNIT_CHECK(same(&out, &p));
	UNIT_EQ_INT(policy_resume(&in, end + 1, &out), PF_ERR_NOT_SCHEDULED_TO_CANCEL);
	UNIT_EQ_INT(policy_resume(&in, INT64_MAX, &out), PF_ERR_NOT_SCHEDULED_TO_CANCEL);

	/* Resume after cancel restores the state from before the cancel. */
	in = paid_studio();
	UNIT_EQ_INT(policy_cancel(&in, &out), PF_OK);
	UNIT_EQ_INT(policy_resume(&out, in.period_start, &out), PF_OK);
	UNIT_CHECK(same(&out, &in));
}

static void
test_downgrade(void)
{
	struct subscription_state in, out, p = poison(), want;
	struct plan long_name;

	/* Free user: NO_ACTIVE_SUBSCRIPTION before anything about the target. */
	in = free_user();
	out = p;
	UNIT_EQ_INT(policy_downgrade(&in, &plan_pro, &out), PF_ERR_NO_ACTIVE_SUBSCRIPTION);
	UNIT_EQ_INT(policy_downgrade(&in, NULL, &out), PF_ERR_NO_ACTIVE_SUBSCRIPTION);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_free, &out), PF_ERR_NO_ACTIVE_SUBSCRIPTION);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_studio, &out), PF_ERR_NO_ACTIVE_SUBSCRIPTION);
	UNIT_CHECK(same(&out, &p));

	/* Cancellation scheduled: CANCELLATION_SCHEDULED before the target. */
	in = cancel_scheduled();
	UNIT_EQ_INT(policy_downgrade(&in, &plan_pro, &out), PF_ERR_CANCELLATION_SCHEDULED);
	UNIT_EQ_INT(policy_downgrade(&in, NULL, &out), PF_ERR_CANCELLATION_SCHEDULED);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_free, &out), PF_ERR_CANCELLATION_SCHEDULED);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_studio, &out), PF_ERR_CANCELLATION_SCHEDULED);
	UNIT_CHECK(same(&out, &p));

	/* Paid studio: UNKNOWN_PLAN before NOT_A_DOWNGRADE. */
	in = paid_studio();
	UNIT_EQ_INT(policy_downgrade(&in, NULL, &out), PF_ERR_UNKNOWN_PLAN);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_studio, &out), PF_ERR_NOT_A_DOWNGRADE);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_enterprise, &out), PF_ERR_NOT_A_DOWNGRADE);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_free, &out), PF_ERR_NOT_A_DOWNGRADE);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_pro_free_price, &out), PF_ERR_NOT_A_DOWNGRADE);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_rank0_priced, &out), PF_ERR_NOT_A_DOWNGRADE);
	UNIT_CHECK(same(&out, &p));
	want = in;
	strcpy(want.scheduled_plan, "pro");
	want.scheduled_effective_at = in.period_end;
	UNIT_EQ_INT(policy_downgrade(&in, &plan_pro, &out), PF_OK);
	UNIT_CHECK(same(&out, &want));
	UNIT_EQ_STR(out.plan, "studio");     /* current plan stays until then */
	UNIT_EQ_INT(out.plan_rank, 2);
	EQ_TIME(out.scheduled_effective_at, "2026-02-28T10:00:00Z");

	/* Downgrade scheduled: a later call replaces it. */
	in = downgrade_scheduled();
	UNIT_EQ_INT(policy_downgrade(&in, &plan_lite, &out), PF_OK);
	UNIT_EQ_STR(out.scheduled_plan, "lite");
	UNIT_EQ_INT(out.scheduled_effective_at, in.period_end);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_pro, &out), PF_OK);
	UNIT_CHECK(same(&out, &in));
	UNIT_EQ_INT(policy_downgrade(&in, NULL, &out), PF_ERR_UNKNOWN_PLAN);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_studio, &out), PF_ERR_NOT_A_DOWNGRADE);

	/* Pro, the lowest paid plan, has nowhere lower to go. */
	in = paid_on(&plan_pro, "2026-03-15T00:00:00Z");
	out = p;
	UNIT_EQ_INT(policy_downgrade(&in, &plan_pro, &out), PF_ERR_NOT_A_DOWNGRADE);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_lite, &out), PF_ERR_NOT_A_DOWNGRADE);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_studio, &out), PF_ERR_NOT_A_DOWNGRADE);
	UNIT_EQ_INT(policy_downgrade(&in, &plan_free, &out), PF_ERR_NOT_A_DOWNGRADE);
	UNIT_EQ_INT(policy_downgrade(&in, NULL, &out), PF_ERR_UNKNOWN_PLAN);
	UNIT_CHECK(same(&out, &p));

	/* A name filling the whole field is cut to fit, never left unterminated. */
	long_name = plan_pro;
	memset(long_name.name, 'x', sizeof(long_name.name));
	in = paid_studio();
	UNIT_EQ_INT(policy_downgrade(&in, &long_name, &out), PF_OK);
	UNIT_EQ_INT(strlen(out.scheduled_plan), PLAN_NAME_MAX);

	/* The longest name the database allows is kept whole (it was cut to
	 * 31 characters, and then matched no plan). */
	long_name = plan_pro;
	memset(long_name.name, 'x', PLAN_NAME_MAX);
	long_name.name[PLAN_NAME_MAX] = '\0';
	in = paid_studio();
	UNIT_EQ_INT(policy_downgrade(&in, &long_name, &out), PF_OK);
	UNIT_EQ_STR(out.scheduled_plan, long_name.name);

	/* Aliasing. */
	in = paid_studio();
	UNIT_EQ_INT(policy_downgrade(&in, &plan_pro, &in), PF_OK);
	UNIT_EQ_STR(in.scheduled_plan, "pro");
}

static void
test_withdraw(void)
{
	struct subscription_state in, out, p = poison(), want;

	in = free_user();
	out = p;
	UNIT_EQ_INT(policy_withdraw_scheduled_change(&in, &out), PF_ERR_NO_SCHEDULED_CHANGE);
	/* A free row with a stale scheduled plan still has nothing to withdraw. */
	strcpy(in.scheduled_plan, "pro");
	UNIT_EQ_INT(policy_withdraw_scheduled_change(&in, &out), PF_ERR_NO_SCHEDULED_CHANGE);
	UNIT_CHECK(same(&out, &p));

	in = paid_studio();
	UNIT_EQ_INT(policy_withdraw_scheduled_change(&in, &out), PF_ERR_NO_SCHEDULED_CHANGE);
	in = cancel_scheduled();
	UNIT_EQ_INT(policy_withdraw_scheduled_change(&in, &out), PF_ERR_NO_SCHEDULED_CHANGE);
	UNIT_CHECK(same(&out, &p));

	in = downgrade_scheduled();
	UNIT_EQ_INT(policy_withdraw_scheduled_change(&in, &out), PF_OK);
	want = paid_studio();
	UNIT_CHECK(same(&out, &want));
	/* A second withdraw has nothing left. */
	UNIT_EQ_INT(policy_withdraw_scheduled_change(&out, &out), PF_ERR_NO_SCHEDULED_CHANGE);
	UNIT_CHECK(same(&out, &want));
}

static void
test_rollover_single_steps(void)
{
	struct subscription_state s, n;
	struct rollover_step step;
	pf_time end;

	/* Free user: never a step. */
	s = free_user();
	policy_rollover_next(&s, 0, &step);
	UNIT_EQ_INT(step.kind, ROLLOVER_NONE);
	policy_rollover_next(&s, INT64_MAX, &step);
	UNIT_EQ_INT(step.kind, ROLLOVER_NONE);

	/* Before period_end: nothing. */
	s = paid_studio();
	end = s.period_end;
	policy_rollover_next(&s, s.period_start, &step);
	UNIT_EQ_INT(step.kind, ROLLOVER_NONE);
	policy_rollover_next(&s, end - 1, &step);
	UNIT_EQ_INT(step.kind, ROLLOVER_NONE);
	UNIT_EQ_INT(step.at, 0);
	policy_rollover_apply(&s, &step, &n);
	UNIT_CHECK(same(&n, &s));

	/* At now == period_end: renewal. */
	policy_rollover_next(&s, end, &step);
	UNIT_EQ_INT(step.kind, ROLLOVER_RENEW);
	UNIT_EQ_INT(step.at, end);
	UNIT_EQ_INT(step.new_period_index, 1);
	EQ_TIME(step.new_period_start, "2026-02-28T10:00:00Z");
	EQ_TIME(step.new_period_end, "2026-03-31T10:00:00Z");
	UNIT_EQ_STR(step.new_plan, "studio");
	policy_rollover_apply(&s, &step, &n);
	UNIT_CHECK(n.paid);
	UNIT_EQ_STR(n.plan, "studio");
	UNIT_EQ_INT(n.plan_rank, 2);
	UNIT_EQ_INT(n.anchor, s.anchor);
	UNIT_EQ_INT(n.period_index, 1);
	EQ_TIME(n.period_start, "2026-02-28T10:00:00Z");
	EQ_TIME(n.period_end, "2026-03-31T10:00:00Z");
	UNIT_CHECK(!n.cancel_at_period_end);
	UNIT_EQ_STR(n.scheduled_plan, "");
	/* Long after the end it is still one step, from the old period_end. */
	policy_rollover_next(&s, end + 400 * PF_DAY_SECONDS, &step);
	UNIT_EQ_INT(step.kind, ROLLOVER_RENEW);
	UNIT_EQ_INT(step.at, end);
	UNIT_EQ_INT(step.new_period_index, 1);

	/* Cancel scheduled: END at period_end, then a free user. */
	s = cancel_scheduled();
	policy_rollover_next(&s, end - 1, &step);
	UNIT_EQ_INT(step.kind, ROLLOVER_NONE);
	policy_rollover_next(&s, end, &step);
	UNIT_EQ_INT(step.kind, ROLLOVER_END);
	UNIT_EQ_INT(step.at, end);
	UNIT_EQ_STR(step.new_plan, "free");
	policy_rollover_apply(&s, &step, &n);
	UNIT_CHECK(!n.paid);
	UNIT_EQ_STR(n.plan, "free");
	UNIT_EQ_INT(n.plan_rank, 0);
	UNIT_CHECK(!n.cancel_at_period_end);
	UNIT_EQ_STR(n.scheduled_plan, "");
	policy_rollover_next(&n, end, &step);
	UNIT_EQ_INT(step.kind, ROLLOVER_NONE);

	/* Downgrade scheduled: CHANGE_PLAN into a new period on the new plan. */
	s = downgrade_scheduled();
	policy_rollover_next(&s, end - 1, &step);
	UNIT_EQ_INT(step.kind, ROLLOVER_NONE);
	policy_rollover_next(&s, end, &step);
	UNIT_EQ_INT(step.kind, ROLLOVER_CHANGE_PLAN);
	UNIT_EQ_INT(step.at, end);
	UNIT_EQ_STR(step.new_plan, "pro");
	UNIT_EQ_INT(step.new_period_index, 1);
	EQ_TIME(step.new_period_start, "2026-02-28T10:00:00Z");
	EQ_TIME(step.new_period_end, "2026-03-31T10:00:00Z");
	policy_rollover_apply(&s, &step, &n);
	UNIT_CHECK(n.paid);
	UNIT_EQ_STR(n.plan, "pro");
	UNIT_EQ_INT(n.plan_rank, 2);          /* the caller sets it from the table */
	UNIT_EQ_INT(n.period_index, 1);
	UNIT_EQ_STR(n.scheduled_plan, "");
	UNIT_EQ_INT(n.scheduled_effective_at, 0);
	UNIT_CHECK(!n.cancel_at_period_end);

	/* A corrupt row with both flags ends rather than charging. */
	s = downgrade_scheduled();
	s.cancel_at_period_end = true;
	policy_rollover_next(&s, end, &step);
	UNIT_EQ_INT(step.kind, ROLLOVER_END);

	/* Aliasing of apply. */
	s = paid_studio();
	policy_rollover_next(&s, end, &step);
	policy_rollover_apply(&s, &step, &s);
	UNIT_EQ_INT(s.period_index, 1);
	UNIT_EQ_INT(s.period_start, end);
}

/* Steps until ROLLOVER_NONE, as the billing command does; returns the count
 * and records each step's kind and time. */
static int
catch_up(struct subscription_state *s, pf_time now, enum rollover_kind *kinds,
    pf_time *ats, int max)
{
	struct rollover_step step;
	int n = 0;

	for (;;) {
		policy_rollover_next(s, now, &step);
		if (step.kind == ROLLOVER_NONE || n == max)
			return n;
		kinds[n] = step.kind;
		ats[n] = step.at;
		n++;
		policy_rollover_apply(s, &step, s);
		if (step.kind == ROLLOVER_CHANGE_PLAN)
			s->plan_rank = strcmp(s->plan, "pro") == 0 ? plan_pro.rank : -1;
	}
}

static void
test_rollover_catch_up(void)
{
	struct subscription_state s;
	enum rollover_kind kinds[16];
	pf_time ats[16];
	pf_time now;

	/* Three missed periods: three renewals in order, then nothing. */
	s = paid_studio();
	now = pf_time_add_months(s.anchor, 3) + 5;
	UNIT_EQ_INT(catch_up(&s, now, kinds, ats, 16), 3);
	UNIT_EQ_INT(kinds[0], ROLLOVER_RENEW);
	UNIT_EQ_INT(kinds[1], ROLLOVER_RENEW);
	UNIT_EQ_INT(kinds[2], ROLLOVER_RENEW);
	EQ_TIME(ats[0], "2026-02-28T10:00:00Z");
	EQ_TIME(ats[1], "2026-03-31T10:00:00Z");
	EQ_TIME(ats[2], "2026-04-30T10:00:00Z");
	UNIT_EQ_INT(s.period_index, 3);
	EQ_TIME(s.period_start, "2026-04-30T10:00:00Z");
	EQ_TIME(s.period_end, "2026-05-31T10:00:00Z");
	UNIT_EQ_STR(s.plan, "studio");
	/* Running it again at the same time does nothing more. */
	UNIT_EQ_INT(catch_up(&s, now, kinds, ats, 16), 0);
	/* Exactly at the fourth boundary: one more. */
	UNIT_EQ_INT(catch_up(&s, pf_time_add_months(s.anchor, 4), kinds, ats, 16), 1);
	UNIT_EQ_INT(s.period_index, 4);

	/* Missed periods with a downgrade: the change, then renewals on it. */
	s = downgrade_scheduled();
	UNIT_EQ_INT(catch_up(&s, pf_time_add_months(s.anchor, 3), kinds, ats, 16), 3);
	UNIT_EQ_INT(kinds[0], ROLLOVER_CHANGE_PLAN);
	UNIT_EQ_INT(kinds[1], ROLLOVER_RENEW);
	UNIT_EQ_INT(kinds[2], ROLLOVER_RENEW);
	UNIT_EQ_STR(s.plan, "pro");
	UNIT_EQ_INT(s.plan_rank, 1);
	UNIT_EQ_INT(s.period_index, 3);

	/* Missed periods with a cancellation: it ends once, then nothing. */
	s = cancel_scheduled();
	UNIT_EQ_INT(catch_up(&s, pf_time_add_months(s.anchor, 3), kinds, ats, 16), 1);
	UNIT_EQ_INT(kinds[0], ROLLOVER_END);
	EQ_TIME(ats[0], "2026-02-28T10:00:00Z");
	UNIT_CHECK(!s.paid);
}

static void
test_rollover_anchor_month_end(void)
{
	static const char *const non_leap[] = {
		"2027-02-28T00:00:00Z", "2027-03-31T00:00:00Z", "2027-04-30T00:00:00Z",
		"2027-05-31T00:00:00Z", "2027-06-30T00:00:00Z", "2027-07-31T00:00:00Z",
		"2027-08-31T00:00:00Z", "2027-09-30T00:00:00Z", "2027-10-31T00:00:00Z",
		"2027-11-30T00:00:00Z", "2027-12-31T00:00:00Z", "2028-01-31T00:00:00Z",
		"2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z",
	};
	static const char *const leap[] = {
		"2028-02-29T23:59:59Z", "2028-03-31T23:59:59Z", "2028-04-30T23:59:59Z",
	};
	struct subscription_state s;
	struct rollover_step step;
	int bad = 0;

	/* Anchor Jan 31 of a non-leap year: Feb 28, then back to Mar 31. */
	s = paid_on(&plan_studio, "2027-01-31T00:00:00Z");
	EQ_TIME(s.period_end, "2027-02-28T00:00:00Z");
	for (size_t k = 1; k < sizeof(non_leap) / sizeof(non_leap[0]); k++) {
		policy_rollover_next(&s, s.period_end, &step);
		UNIT_EQ_INT(step.kind, ROLLOVER_RENEW);
		UNIT_EQ_INT(step.new_period_start, s.period_end);
		policy_rollover_apply(&s, &step, &s);
		UNIT_EQ_INT(s.period_index, k);
		EQ_TIME(s.period_start, non_leap[k - 1]);
		EQ_TIME(s.period_end, non_leap[k]);
	}

	/* Anchor Jan 31 of a leap year. */
	s = paid_on(&plan_pro, "2028-01-31T23:59:59Z");
	EQ_TIME(s.period_end, leap[0]);
	for (size_t k = 1; k < sizeof(leap) / sizeof(leap[0]); k++) {
		policy_rollover_next(&s, s.period_end, &step);
		policy_rollover_apply(&s, &step, &s);
		EQ_TIME(s.period_start, leap[k - 1]);
		EQ_TIME(s.period_end, leap[k]);
	}

	/* A stored period_end that drifted (Feb 28 + 1 month = Mar 28) does not
	 * propagate: the next period comes from the anchor. */
	s = paid_on(&plan_studio, "2027-01-31T00:00:00Z");
	s.period_index = 1;
	s.period_start = at("2027-02-28T00:00:00Z");
	s.period_end = at("2027-03-28T00:00:00Z");
	policy_rollover_next(&s, s.period_end, &step);
	EQ_TIME(step.new_period_start, "2027-03-31T00:00:00Z");
	EQ_TIME(step.new_period_end, "2027-04-30T00:00:00Z");

	/* Ten years of renewals: period k always spans
	 * [add_months(anchor, k), add_months(anchor, k + 1)). */
	s = paid_on(&plan_studio, "2027-01-31T06:30:00Z");
	for (int k = 0; k < 120; k++) {
		if (s.period_index != k ||
		    s.period_start != pf_time_add_months(s.anchor, k) ||
		    s.period_end != pf_time_add_months(s.anchor, k + 1))
			bad++;
		policy_rollover_next(&s, s.period_end, &step);
		if (step.kind != ROLLOVER_RENEW || step.at != s.period_end)
			bad++;
		policy_rollover_apply(&s, &step, &s);
	}
	UNIT_EQ_INT(bad, 0);
	EQ_TIME(s.period_start, "2037-01-31T06:30:00Z");
}

int
main(void)
{
	test_cancel();
	test_resume();
	test_downgrade();
	test_withdraw();
	test_rollover_single_steps();
	test_rollover_catch_up();
	test_rollover_anchor_month_end();
	return UNIT_REPORT("test_policy_subscription");
}
