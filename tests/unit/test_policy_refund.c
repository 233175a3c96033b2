/* test_policy_refund.c: the reason table, the 14-day window, the order in
 * which a request is refused, automatic approval and partial amounts. */
#include "policy_refund.h"
#include "unit.h"
#include "unit_time.h"

#define DAY PF_DAY_SECONDS
#define N_REASONS ((int)REFUND_REASON__MAX)


/* The published section 5 sentences, word for word. */
static const char *const policy5[N_REASONS] = {
	[REFUND_REASON_DISSATISFACTION] =
	    "Dissatisfaction with AI-generated output quality or accuracy.",
	[REFUND_REASON_UNUSED_CREDITS] =
	    "Failure to use credits or features before cancellation or plan reset.",
	[REFUND_REASON_ACCOUNT_SUSPENSION] =
	    "Account suspension or termination due to violation of our Terms of Service.",
	[REFUND_REASON_THIRD_PARTY_OUTAGE] =
	    "Outages or limitations caused by third-party AI providers (Fal.ai, Kling).",
	[REFUND_REASON_PRICE_CHANGE] =
	    "Changes in pricing or plan features after the current billing period.",
};

static void
test_reason_table(void)
{
	/* The contract's order and codes (the refund form lists them so). */
	static const char *const codes[N_REASONS] = {
		"duplicate_charge", "system_failure", "billing_error",
		"unauthorized_charge", "dissatisfaction", "unused_credits",
		"account_suspension", "third_party_outage", "price_change",
	};
	static const bool eligible[N_REASONS] = {true, true, true, true};
	static const bool to_charge[N_REASONS] = {true, false, true, true};
	static const bool to_task[N_REASONS] = {false, true, false, false};
	const char *sf_label = refund_reason_info(REFUND_REASON_SYSTEM_FAILURE)->label;

	for (int r = 0; r < N_REASONS; r++) {
		const struct refund_reason_info *i = refund_reason_info((enum refund_reason)r);

		UNIT_CHECK(i != NULL);
		if (i == NULL)
			continue;
		UNIT_EQ_STR(refund_reason_code((enum refund_reason)r), codes[r]);
		UNIT_EQ_STR(refund_reason_codes[r], codes[r]);
		UNIT_EQ_INT(i->eligible, eligible[r]);
		UNIT_EQ_INT(i->applies_to_charge, to_charge[r]);
		UNIT_EQ_INT(i->applies_to_task, to_task[r]);
		UNIT_CHECK(i->label != NULL && strlen(i->label) > 10);
		/* Labels are what the customer picks from: all distinct. */
		for (int o = 0; o < r; o++)
			UNIT_CHECK(strcmp(refund_reason_info((enum refund_reason)o)->label,
			    i->label) != 0);
		if (i->eligible) {
			UNIT_CHECK(i->explanation == NULL);
			/* Applies to exactly one kind of record. */
			UNIT_CHECK(i->applies_to_charge != i->applies_to_task);
			continue;
		}
		UNIT_CHECK(i->explanation != NULL);
		if (i->explanation == NULL)
			continue;
		/* Each explanation cites section 5 and quotes its sentence. */
		UNIT_CHECK(strstr(i->explanation, "section 5") != NULL);
		if (strstr(i->explanation, policy5[r]) == NULL)
			fprintf(stderr, "%s does not quote \"%s\"\n", refund_reason_code((enum refund_reason)r), policy5[r]);
		UNIT_CHECK(strstr(i->explanation, policy5[r]) != NULL);
		/* No code names leak into text meant for customers. */
		UNIT_CHECK(strchr(i->explanation, '_') == NULL);
		UNIT_CHECK(strchr(i->label, '_') == NULL);
	}
	/* Where an explanation sends the customer to another reason, it names
	 * that reason's label exactly as the form shows it. */
	UNIT_CHECK(strstr(refund_reason_info(REFUND_REASON_THIRD_PARTY_OUTAGE)->explanation,
	    sf_label) != NULL);
	UNIT_CHECK(strstr(refund_reason_info(REFUND_REASON_DISSATISFACTION)->explanation,
	    sf_label) != NULL);

	UNIT_CHECK(refund_reason_info(REFUND_REASON__MAX) == NULL);
	UNIT_CHECK(refund_reason_code(REFUND_REASON__MAX) == NULL);
	UNIT_CHECK(refund_reason_codes[REFUND_REASON__MAX] == NULL);
	UNIT_CHECK(refund_reason_info((enum refund_reason)-1) == NULL);
	UNIT_CHECK(refund_reason_info((enum refund_reason)1000) == NULL);
}

static void
test_reason_lookup(void)
{
	static const char *const unknown[] = {
		"", "DUPLICATE_CHARGE", "Duplicate_charge", "duplicate_charge ",
		" duplicate_charge", "duplicate", "duplicate_charges",
		"system failure", "system-failure", "other", "refund",
		"duplicate_charge\n",
	};
	enum refund_reason r;

	for (int i = 0; i < N_REASONS; i++) {
		const char *code = refund_reason_code((enum refund_reason)i);

		r = REFUND_REASON__MAX;
		UNIT_EQ_INT(refund_reason_from_code(code, &r), 0);
		UNIT_EQ_INT(r, i);
	}
	UNIT_EQ_INT(refund_reason_from_code("price_change", &r), 0);
	UNIT_EQ_INT(r, REFUND_REASON_PRICE_CHANGE);
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		r = REFUND_REASON_BILLING_ERROR;
		UNIT_EQ_INT(refund_reason_from_code(unknown[i], &r), -1);
		UNIT_EQ_INT(r, REFUND_REASON_BILLING_ERROR);   /* untouched */
	}
	UNIT_EQ_INT(refund_reason_from_code(NULL, &r), -1);
	/* A caller that only wants to validate may pass no output. */
	UNIT_EQ_INT(refund_reason_from_code("billing_error", NULL), 0);
	UNIT_EQ_INT(refund_reason_from_code("nope", NULL), -1);
}

static void
test_window(void)
{
	pf_time e = at("2026-11-12T03:45:17Z");

	UNIT_EQ_INT(REFUND_WINDOW_SECONDS, 1209600);
	UNIT_CHECK(policy_refund_within_window(e, e));
	UNIT_CHECK(policy_refund_within_window(e, e + 1));
	UNIT_CHECK(policy_refund_within_window(e, e + 13 * DAY));
	UNIT_CHECK(policy_refund_within_window(e, e + 13 * DAY + 23 * 3600 + 59 * 60 + 59));
	UNIT_CHECK(policy_refund_within_window(e, at("2026-11-26T03:45:16Z")));
	/* Exactly 14 x 24 h is still inside; one second more is not. */
	UNIT_CHECK(policy_refund_within_window(e, e + 14 * DAY));
	UNIT_CHECK(policy_refund_within_window(e, at("2026-11-26T03:45:17Z")));
	UNIT_CHECK(!policy_refund_within_window(e, e + 14 * DAY + 1));
	UNIT_CHECK(!policy_refund_within_window(e, at("2026-11-26T03:45:18Z")));
	UNIT_CHECK(!policy_refund_within_window(e, e + 15 * DAY));
	UNIT_CHECK(!policy_refund_within_window(e, e + 3650 * DAY));
	/* An event in the future (clock skew) counts as inside. */
	UNIT_CHECK(policy_refund_within_window(e, e - 1));
	UNIT_CHECK(policy_refund_within_window(e, e - 365 * DAY));
	/* Extremes do not overflow into the wrong answer. */
	UNIT_CHECK(!policy_refund_within_window(INT64_MIN, INT64_MAX));
	UNIT_CHECK(policy_refund_within_window(INT64_MAX, INT64_MIN));
	UNIT_CHECK(policy_refund_within_window(INT64_MAX, INT64_MAX));
	UNIT_CHECK(!policy_refund_within_window(-REFUND_WINDOW_SECONDS - 1, 0));
	UNIT_CHECK(policy_refund_within_window(-REFUND_WINDOW_SECONDS, 0));

	UNIT_EQ_INT(policy_refund_window_end(e), at("2026-11-26T03:45:17Z"));
	UNIT_EQ_INT(policy_refund_window_end(0), 1209600);
	UNIT_EQ_INT(policy_refund_window_end(INT64_MAX), INT64_MAX);
	UNIT_EQ_INT(policy_refund_window_end(INT64_MAX - REFUND_WINDOW_SECONDS), INT64_MAX);
	/* The window end is the last instant inside. */
	UNIT_CHECK(policy_refund_within_window(e, policy_refund_window_end(e)));
	UNIT_CHECK(!policy_refund_within_window(e, policy_refund_window_end(e) + 1));
}

/* A record against which a fitting reason is accepted. */
static struct refund_target
open_charge(pf_time event_at)
{
	struct refund_target t;

	memset(&t, 0, sizeof(t));
	t.event_at = event_at;
	return t;
}

static struct refund_target
failed_task(pf_time event_at)
{
	struct refund_target t = open_charge(event_at);

	t.is_task = true;
	t.task_failed = true;
	return t;
}

static void
test_reason_by_record_kind(void)
{
	pf_time e = at("2026-11-20T00:00:00Z"), now = e + DAY;
	static const enum pf_error on_charge[N_REASONS] = {
		[REFUND_REASON_DUPLICATE_CHARGE] = PF_OK,
		[REFUND_REASON_SYSTEM_FAILURE] = PF_ERR_REASON_NOT_APPLICABLE,
		[REFUND_REASON_BILLING_ERROR] = PF_OK,
		[REFUND_REASON_UNAUTHORIZED_CHARGE] = PF_OK,
		[REFUND_REASON_DISSATISFACTION] = PF_ERR_REASON_NOT_ELIGIBLE,
		[REFUND_REASON_UNUSED_CREDITS] = PF_ERR_REASON_NOT_ELIGIBLE,
		[REFUND_REASON_ACCOUNT_SUSPENSION] = PF_ERR_REASON_NOT_ELIGIBLE,
		[REFUND_REASON_THIRD_PARTY_OUTAGE] = PF_ERR_REASON_NOT_ELIGIBLE,
		[REFUND_REASON_PRICE_CHANGE] = PF_ERR_REASON_NOT_ELIGIBLE,
	};
	static const enum pf_error on_task[N_REASONS] = {
		[REFUND_REASON_DUPLICATE_CHARGE] = PF_ERR_REASON_NOT_APPLICABLE,
		[REFUND_REASON_SYSTEM_FAILURE] = PF_OK,
		[REFUND_REASON_BILLING_ERROR] = PF_ERR_REASON_NOT_APPLICABLE,
		[REFUND_REASON_UNAUTHORIZED_CHARGE] = PF_ERR_REASON_NOT_APPLICABLE,
		[REFUND_REASON_DISSATISFACTION] = PF_ERR_REASON_NOT_ELIGIBLE,
		[REFUND_REASON_UNUSED_CREDITS] = PF_ERR_REASON_NOT_ELIGIBLE,
		[REFUND_REASON_ACCOUNT_SUSPENSION] = PF_ERR_REASON_NOT_ELIGIBLE,
		[REFUND_REASON_THIRD_PARTY_OUTAGE] = PF_ERR_REASON_NOT_ELIGIBLE,
		[REFUND_REASON_PRICE_CHANGE] = PF_ERR_REASON_NOT_ELIGIBLE,
	};
	struct refund_target c = open_charge(e), t = failed_task(e), running, completed;

	for (int r = 0; r < N_REASONS; r++) {
		UNIT_EQ_INT(policy_refund_request_check((enum refund_reason)r, &c, now), on_charge[r]);
		UNIT_EQ_INT(policy_refund_request_check((enum refund_reason)r, &t, now), on_task[r]);
	}

	/* system_failure on a task that has not failed: running or completed
	 * both look like task_failed == false to the rule. */
	running = failed_task(0);
	running.task_failed = false;
	completed = running;
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_SYSTEM_FAILURE, &running, now),
	    PF_ERR_REASON_NOT_APPLICABLE);
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_SYSTEM_FAILURE, &completed, e),
	    PF_ERR_REASON_NOT_APPLICABLE);
	/* ...even when its (meaningless) event time is inside the window. */
	running.event_at = e;
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_SYSTEM_FAILURE, &running, now),
	    PF_ERR_REASON_NOT_APPLICABLE);
	/* Ineligible still wins on such a task. */
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_THIRD_PARTY_OUTAGE, &running, now),
	    PF_ERR_REASON_NOT_ELIGIBLE);

	/* Fields of the other record kind are ignored. */
	c.credits_returned = true;
	c.task_failed = false;
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_BILLING_ERROR, &c, now), PF_OK);
	t.fully_refunded = true;
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_SYSTEM_FAILURE, &t, now), PF_OK);

	/* Not a reason at all; no record. */
	c = open_charge(e);
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON__MAX, &c, now), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(policy_refund_request_check((enum refund_reason)-1, &c, now),
	    PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_BILLING_ERROR, NULL, now),
	    PF_ERR_INTERNAL);
}

static void
test_precedence(void)
{
	pf_time e = at("2026-11-01T12:00:00Z");
	pf_time in = e + 14 * DAY, out = e + 14 * DAY + 1;
	struct refund_target c, t;

	/* Everything wrong with a charge: the reason is reported first. */
	c = open_charge(e);
	c.fully_refunded = true;
	c.has_open_request = true;
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_DISSATISFACTION, &c, out),
	    PF_ERR_REASON_NOT_ELIGIBLE);
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_PRICE_CHANGE, &c, in),
	    PF_ERR_REASON_NOT_ELIGIBLE);
	/* Eligible but for the other kind of record: before time and state. */
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_SYSTEM_FAILURE, &c, out),
	    PF_ERR_REASON_NOT_APPLICABLE);
	/* Applicable, outside the window and already refunded: the window. */
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_DUPLICATE_CHARGE, &c, out),
	    PF_ERR_OUTSIDE_REFUND_WINDOW);
	/* Inside (exactly 14 days), refunded and requested: refunded. */
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_DUPLICATE_CHARGE, &c, in),
	    PF_ERR_ALREADY_REFUNDED);
	/* Only the open request left. */
	c.fully_refunded = false;
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_UNAUTHORIZED_CHARGE, &c, in),
	    PF_ERR_REFUND_ALREADY_REQUESTED);
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_UNAUTHORIZED_CHARGE, &c, out),
	    PF_ERR_OUTSIDE_REFUND_WINDOW);
	/* Nothing left. */
	c.has_open_request = false;
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_UNAUTHORIZED_CHARGE, &c, in), PF_OK);
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_UNAUTHORIZED_CHARGE, &c,
	    e + 13 * DAY + 23 * 3600 + 59 * 60 + 59), PF_OK);
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_UNAUTHORIZED_CHARGE, &c, out),
	    PF_ERR_OUTSIDE_REFUND_WINDOW);

	/* The same ladder for a task. */
	t = failed_task(e);
	t.credits_returned = true;
	t.has_open_request = true;
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_THIRD_PARTY_OUTAGE, &t, out),
	    PF_ERR_REASON_NOT_ELIGIBLE);
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_DUPLICATE_CHARGE, &t, out),
	    PF_ERR_REASON_NOT_APPLICABLE);
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_SYSTEM_FAILURE, &t, out),
	    PF_ERR_OUTSIDE_REFUND_WINDOW);
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_SYSTEM_FAILURE, &t, in),
	    PF_ERR_ALREADY_REFUNDED);
	t.credits_returned = false;
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_SYSTEM_FAILURE, &t, in),
	    PF_ERR_REFUND_ALREADY_REQUESTED);
	t.has_open_request = false;
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_SYSTEM_FAILURE, &t, in), PF_OK);
	/* A task that has not failed: NOT_APPLICABLE before the window. */
	t.task_failed = false;
	UNIT_EQ_INT(policy_refund_request_check(REFUND_REASON_SYSTEM_FAILURE, &t, out),
	    PF_ERR_REASON_NOT_APPLICABLE);
}

/* The contract's list, written as "the first rule that is violated". */
static enum pf_error
expected_verdict(int r, const struct refund_target *t, bool inside)
{
	const struct refund_reason_info *i = refund_reason_info((enum refund_reason)r);
	bool fits = t->is_task ? i->applies_to_task && t->task_failed : i->applies_to_charge;

	if (!i->eligible)
		return PF_ERR_REASON_NOT_ELIGIBLE;
	if (!fits)
		return PF_ERR_REASON_NOT_APPLICABLE;
	if (!inside)
		return PF_ERR_OUTSIDE_REFUND_WINDOW;
	if (t->is_task ? t->credits_returned : t->fully_refunded)
		return PF_ERR_ALREADY_REFUNDED;
	if (t->has_open_request)
		return PF_ERR_REFUND_ALREADY_REQUESTED;
	return PF_OK;
}

static void
test_precedence_exhaustive(void)
{
	static const pf_time offsets[] = {
		-DAY, 0, 1, 14 * 86400 - 1, 14 * 86400, 14 * 86400 + 1, 30 * 86400,
	};
	pf_time e = at("2026-11-01T12:00:00Z");
	int bad = 0, cases = 0;

	/* Every reason, both record kinds, every combination of flags, and
	 * times on both sides of the window edge. */
	for (int r = 0; r < N_REASONS; r++)
	for (unsigned flags = 0; flags < 32; flags++)
	for (size_t o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++) {
		struct refund_target t;

		memset(&t, 0, sizeof(t));
		t.is_task = flags & 1;
		t.fully_refunded = flags & 2;
		t.task_failed = flags & 4;
		t.credits_returned = flags & 8;
		t.has_open_request = flags & 16;
		t.event_at = e;
		if (policy_refund_request_check((enum refund_reason)r, &t, e + offsets[o]) !=
		    expected_verdict(r, &t, offsets[o] <= 14 * 86400)) {
			fprintf(stderr, "reason %d flags %u offset %lld\n", r, flags,
			    (long long)offsets[o]);
			bad++;
		}
		cases++;
	}
	UNIT_EQ_INT(cases, N_REASONS * 32 * 7);
	UNIT_EQ_INT(bad, 0);
}

static void
test_auto_approve(void)
{
	/* Full truth table: only duplicate_charge on a subscription charge with
	 * another paid charge for the period, on an account not suspended. */
	for (int r = 0; r < N_REASONS; r++)
	for (int sub = 0; sub <= 1; sub++)
	for (int other = 0; other <= 1; other++)
	for (int susp = 0; susp <= 1; susp++) {
		bool want = r == REFUND_REASON_DUPLICATE_CHARGE && sub && other && !susp;

		UNIT_EQ_INT(policy_refund_auto_approve((enum refund_reason)r, sub, other, susp),
		    want);
	}
	/* Named cases, for a reader of this file. */
	UNIT_CHECK(policy_refund_auto_approve(REFUND_REASON_DUPLICATE_CHARGE, true, true, false));
	UNIT_CHECK(!policy_refund_auto_approve(REFUND_REASON_DUPLICATE_CHARGE, false, true, false));
	UNIT_CHECK(!policy_refund_auto_approve(REFUND_REASON_DUPLICATE_CHARGE, true, false, false));
	UNIT_CHECK(!policy_refund_auto_approve(REFUND_REASON_DUPLICATE_CHARGE, true, true, true));
	UNIT_CHECK(!policy_refund_auto_approve(REFUND_REASON_SYSTEM_FAILURE, true, true, false));
	UNIT_CHECK(!policy_refund_auto_approve(REFUND_REASON_BILLING_ERROR, true, true, false));
	UNIT_CHECK(!policy_refund_auto_approve(REFUND_REASON__MAX, true, true, false));
}

static void
test_amount(void)
{
	UNIT_CHECK(!policy_refund_amount_valid(0, 1900));
	UNIT_CHECK(policy_refund_amount_valid(1, 1900));
	UNIT_CHECK(policy_refund_amount_valid(1899, 1900));
	UNIT_CHECK(policy_refund_amount_valid(1900, 1900));
	UNIT_CHECK(!policy_refund_amount_valid(1901, 1900));
	UNIT_CHECK(!policy_refund_amount_valid(-1, 1900));
	UNIT_CHECK(!policy_refund_amount_valid(INT64_MIN, 1900));
	UNIT_CHECK(!policy_refund_amount_valid(INT64_MAX, 1900));
	/* Partly refunded: only what is left. */
	UNIT_CHECK(policy_refund_amount_valid(400, 400));
	UNIT_CHECK(!policy_refund_amount_valid(401, 400));
	/* Nothing left to refund: no amount is valid. */
	UNIT_CHECK(!policy_refund_amount_valid(1, 0));
	UNIT_CHECK(!policy_refund_amount_valid(0, 0));
	UNIT_CHECK(!policy_refund_amount_valid(1, -5));
	UNIT_CHECK(policy_refund_amount_valid(1, 1));
	UNIT_CHECK(policy_refund_amount_valid(INT64_MAX, INT64_MAX));
}

int
main(void)
{
	test_reason_table();
	test_reason_lookup();
	test_window();
	test_reason_by_record_kind();
	test_precedence();
	test_precedence_exhaustive();
	test_auto_approve();
	test_amount();
	return UNIT_REPORT("test_policy_refund");
}
