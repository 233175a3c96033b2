/* test_policy_charge.c: charge status names, full and partial refunds, the
 * credit-pack clawback at the boundaries, and period-start validation. */
#include "policy_charge.h"
#include "unit.h"
#include "unit_time.h"


static void
test_status_names(void)
{
	enum charge_status s = CHARGE_REFUNDED;

	UNIT_EQ_STR(charge_status_name(CHARGE_PAID), "paid");
	UNIT_EQ_STR(charge_status_name(CHARGE_PARTIALLY_REFUNDED), "partially_refunded");
	UNIT_EQ_STR(charge_status_name(CHARGE_REFUNDED), "refunded");
	UNIT_CHECK(charge_status_name(CHARGE_STATUS__MAX) == NULL);
	UNIT_CHECK(charge_status_name((enum charge_status)-1) == NULL);
	UNIT_EQ_INT(charge_status_from_name("paid", &s), 0);
	UNIT_EQ_INT(s, CHARGE_PAID);
	UNIT_EQ_INT(charge_status_from_name("partially_refunded", &s), 0);
	UNIT_EQ_INT(s, CHARGE_PARTIALLY_REFUNDED);
	UNIT_EQ_INT(charge_status_from_name("Paid", &s), -1);
	UNIT_EQ_INT(charge_status_from_name("", &s), -1);
	UNIT_EQ_INT(charge_status_from_name(NULL, &s), -1);
}

static void
test_status(void)
{
	UNIT_EQ_INT(policy_charge_status(2900, 0), CHARGE_PAID);
	UNIT_EQ_INT(policy_charge_status(2900, 1), CHARGE_PARTIALLY_REFUNDED);
	UNIT_EQ_INT(policy_charge_status(2900, 2899), CHARGE_PARTIALLY_REFUNDED);
	UNIT_EQ_INT(policy_charge_status(2900, 2900), CHARGE_REFUNDED);
	UNIT_EQ_INT(policy_charge_status(0, 0), CHARGE_PAID);
}

static void
test_refund_amounts(void)
{
	struct charge_refund r;

	/* full */
	UNIT_EQ_INT(policy_charge_refund(2900, 0, 2900, 0, 0, &r), PF_OK);
	UNIT_EQ_INT(r.refunded_cents, 2900);
	UNIT_EQ_INT(r.status, CHARGE_REFUNDED);
	UNIT_EQ_INT(r.credits_taken_back, 0);
	/* partial, then the rest */
	UNIT_EQ_INT(policy_charge_refund(2900, 0, 1, 0, 0, &r), PF_OK);
	UNIT_EQ_INT(r.refunded_cents, 1);
	UNIT_EQ_INT(r.status, CHARGE_PARTIALLY_REFUNDED);
	UNIT_EQ_INT(policy_charge_refund(2900, 1000, 1900, 0, 0, &r), PF_OK);
	UNIT_EQ_INT(r.refunded_cents, 2900);
	UNIT_EQ_INT(r.status, CHARGE_REFUNDED);
	/* outside 1..unrefunded */
	UNIT_EQ_INT(policy_charge_refund(2900, 0, 0, 0, 0, &r), PF_ERR_INVALID_AMOUNT);
	UNIT_EQ_INT(policy_charge_refund(2900, 0, -1, 0, 0, &r), PF_ERR_INVALID_AMOUNT);
	UNIT_EQ_INT(policy_charge_refund(2900, 0, 2901, 0, 0, &r), PF_ERR_INVALID_AMOUNT);
	UNIT_EQ_INT(policy_charge_refund(2900, 1000, 1901, 0, 0, &r), PF_ERR_INVALID_AMOUNT);
	UNIT_EQ_INT(policy_charge_refund(2900, 2900, 1, 0, 0, &r), PF_ERR_INVALID_AMOUNT);
	UNIT_EQ_INT(policy_charge_refund(2900, 0, INT64_MAX, 0, 0, &r), PF_ERR_INVALID_AMOUNT);
	/* corrupt rows refund nothing */
	UNIT_EQ_INT(policy_charge_refund(2900, 3000, 1, 0, 0, &r), PF_ERR_INVALID_AMOUNT);
	UNIT_EQ_INT(policy_charge_refund(-5, 0, 1, 0, 0, &r), PF_ERR_INVALID_AMOUNT);
	UNIT_EQ_INT(policy_charge_refund(2900, -1, 1, 0, 0, &r), PF_ERR_INVALID_AMOUNT);
	UNIT_EQ_INT(r.refunded_cents, 0);
}

static void
test_pack_clawback(void)
{
	struct charge_refund r;

	/* balance holds all of the pack: all taken back */
	UNIT_EQ_INT(policy_charge_refund(1000, 0, 1000, 500, 700, &r), PF_OK);
	UNIT_EQ_INT(r.credits_taken_back, 500);
	/* exactly the pack */
	UNIT_EQ_INT(policy_charge_refund(1000, 0, 1000, 500, 500, &r), PF_OK);
	UNIT_EQ_INT(r.credits_taken_back, 500);
	/* some of it spent: only what is still held */
	UNIT_EQ_INT(policy_charge_refund(1000, 0, 1000, 500, 499, &r), PF_OK);
	UNIT_EQ_INT(r.credits_taken_back, 499);
	UNIT_EQ_INT(policy_charge_refund(1000, 0, 1000, 500, 0, &r), PF_OK);
	UNIT_EQ_INT(r.credits_taken_back, 0);
	/* partly refunded: none taken back */
	UNIT_EQ_INT(policy_charge_refund(1000, 0, 999, 500, 700, &r), PF_OK);
	UNIT_EQ_INT(r.status, CHARGE_PARTIALLY_REFUNDED);
	UNIT_EQ_INT(r.credits_taken_back, 0);
	/* the refund completing an earlier partial one takes them back */
	UNIT_EQ_INT(policy_charge_refund(1000, 999, 1, 500, 700, &r), PF_OK);
	UNIT_EQ_INT(r.status, CHARGE_REFUNDED);
	UNIT_EQ_INT(r.credits_taken_back, 500);
	/* a subscription charge has no credits to take back */
	UNIT_EQ_INT(policy_charge_refund(1000, 0, 1000, 0, 700, &r), PF_OK);
	UNIT_EQ_INT(r.credits_taken_back, 0);
}

static void
test_period_index(void)
{
	pf_time anchor = at("2026-01-31T10:00:00Z");

	UNIT_EQ_INT(policy_charge_period_index(anchor, 0, anchor), 0);
	UNIT_EQ_INT(policy_charge_period_index(anchor, 3, anchor), 0);
	/* Jan 31 -> Feb 28 -> Mar 31 -> Apr 30 */
	UNIT_EQ_INT(policy_charge_period_index(anchor, 3, at("2026-02-28T10:00:00Z")), 1);
	UNIT_EQ_INT(policy_charge_period_index(anchor, 3, at("2026-03-31T10:00:00Z")), 2);
	UNIT_EQ_INT(policy_charge_period_index(anchor, 3, at("2026-04-30T10:00:00Z")), 3);
	/* a future period is not one "so far" */
	UNIT_EQ_INT(policy_charge_period_index(anchor, 2, at("2026-04-30T10:00:00Z")), -1);
	/* one second off a boundary, a drifted day, before the anchor */
	UNIT_EQ_INT(policy_charge_period_index(anchor, 3, at("2026-02-28T10:00:01Z")), -1);
	UNIT_EQ_INT(policy_charge_period_index(anchor, 3, at("2026-03-28T10:00:00Z")), -1);
	UNIT_EQ_INT(policy_charge_period_index(anchor, 3, anchor - 1), -1);
	UNIT_EQ_INT(policy_charge_period_index(anchor, 3, at("2025-12-31T10:00:00Z")), -1);
	UNIT_EQ_INT(policy_charge_period_index(anchor, -1, anchor), -1);
}

int
main(void)
{
	test_status_names();
	test_status();
	test_refund_amounts();
	test_pack_clawback();
	test_period_index();
	return UNIT_REPORT("test_policy_charge");
}
