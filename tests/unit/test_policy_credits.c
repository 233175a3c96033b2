/* test_policy_credits.c: spend order, returns across a reset, pack clawback. */
#include "policy_credits.h"
#include "unit.h"

/* Spends and checks the verdict and both halves of the split in one line. */
#define SPEND(inc, pur, credits, want_err, want_inc, want_pur) do { \
	struct credit_balance b_ = {(inc), (pur), 7}; \
	struct credit_split s_ = {-1, -1}; \
	UNIT_EQ_INT(policy_credits_spend(&b_, (credits), &s_), (want_err)); \
	UNIT_EQ_INT(s_.included, (want_inc)); \
	UNIT_EQ_INT(s_.purchased, (want_pur)); \
} while (0)

static void
test_spend(void)
{
	/* Included only. */
	SPEND(100, 50, 1, PF_OK, 1, 0);
	SPEND(100, 50, 99, PF_OK, 99, 0);
	SPEND(100, 50, 100, PF_OK, 100, 0);        /* exactly the included balance */
	SPEND(100, 0, 100, PF_OK, 100, 0);
	/* Both: included first, the rest from purchased. */
	SPEND(100, 50, 101, PF_OK, 100, 1);
	SPEND(100, 50, 120, PF_OK, 100, 20);
	SPEND(100, 50, 149, PF_OK, 100, 49);
	/* Exactly the total. */
	SPEND(100, 50, 150, PF_OK, 100, 50);
	/* Purchased only. */
	SPEND(0, 50, 1, PF_OK, 0, 1);
	SPEND(0, 50, 50, PF_OK, 0, 50);
	/* One over: nothing spent. */
	SPEND(100, 50, 151, PF_ERR_INSUFFICIENT_CREDITS, 0, 0);
	SPEND(100, 0, 101, PF_ERR_INSUFFICIENT_CREDITS, 0, 0);
	SPEND(0, 50, 51, PF_ERR_INSUFFICIENT_CREDITS, 0, 0);
	SPEND(0, 0, 1, PF_ERR_INSUFFICIENT_CREDITS, 0, 0);
	SPEND(100, 50, INT64_MAX, PF_ERR_INSUFFICIENT_CREDITS, 0, 0);
	/* Balances whose sum exceeds int64 must not overflow. */
	SPEND(INT64_MAX, INT64_MAX, INT64_MAX, PF_OK, INT64_MAX, 0);
	SPEND(INT64_MAX - 1, INT64_MAX, INT64_MAX, PF_OK, INT64_MAX - 1, 1);
	SPEND(1, INT64_MAX - 1, INT64_MAX, PF_OK, 1, INT64_MAX - 1);
	/* Non-positive requests never spend (the contract wants credits > 0). */
	SPEND(100, 50, 0, PF_ERR_INVALID_REQUEST, 0, 0);
	SPEND(100, 50, -1, PF_ERR_INVALID_REQUEST, 0, 0);
	SPEND(100, 50, INT64_MIN, PF_ERR_INVALID_REQUEST, 0, 0);
	/* A corrupt negative balance counts as empty, never as credit. */
	SPEND(-10, 50, 50, PF_OK, 0, 50);
	SPEND(-10, 50, 51, PF_ERR_INSUFFICIENT_CREDITS, 0, 0);
	SPEND(100, -10, 100, PF_OK, 100, 0);
	SPEND(100, -10, 101, PF_ERR_INSUFFICIENT_CREDITS, 0, 0);
}

static void
test_spend_matches_split_rule(void)
{
	int bad = 0;

	/* Every small combination: the split covers the spend exactly, takes
	 * included first, never exceeds either balance, or refuses only when
	 * the total is short. */
	for (int64_t inc = 0; inc <= 12; inc++)
	for (int64_t pur = 0; pur <= 12; pur++)
	for (int64_t c = 1; c <= 26; c++) {
		struct credit_balance b = {inc, pur, 0};
		struct credit_split s;
		enum pf_error e = policy_credits_spend(&b, c, &s);

		if (c <= inc + pur) {
			if (e != PF_OK || s.included + s.purchased != c ||
			    s.included != (c < inc ? c : inc) || s.purchased > pur ||
			    s.included < 0 || s.purchased < 0)
				bad++;
		} else if (e != PF_ERR_INSUFFICIENT_CREDITS || s.included != 0 ||
		    s.purchased != 0) {
			bad++;
		}
	}
	UNIT_EQ_INT(bad, 0);
}

static void
test_return(void)
{
	struct credit_split spent, back;

	/* Same epoch: each part goes back where it came from. */
	spent = (struct credit_split){30, 20};
	policy_credits_return(&spent, 5, 5, &back);
	UNIT_EQ_INT(back.included, 30);
	UNIT_EQ_INT(back.purchased, 20);
	spent = (struct credit_split){30, 0};
	policy_credits_return(&spent, 5, 5, &back);
	UNIT_EQ_INT(back.included, 30);
	UNIT_EQ_INT(back.purchased, 0);
	spent = (struct credit_split){0, 20};
	policy_credits_return(&spent, 5, 5, &back);
	UNIT_EQ_INT(back.included, 0);
	UNIT_EQ_INT(back.purchased, 20);

	/* A later epoch (the included balance was reset since): all purchased. */
	spent = (struct credit_split){30, 20};
	policy_credits_return(&spent, 5, 6, &back);
	UNIT_EQ_INT(back.included, 0);
	UNIT_EQ_INT(back.purchased, 50);
	policy_credits_return(&spent, 5, 42, &back);
	UNIT_EQ_INT(back.included, 0);
	UNIT_EQ_INT(back.purchased, 50);
	spent = (struct credit_split){30, 0};
	policy_credits_return(&spent, 5, 6, &back);
	UNIT_EQ_INT(back.included, 0);
	UNIT_EQ_INT(back.purchased, 30);
	/* Purchased-only spends are unaffected by a reset. */
	spent = (struct credit_split){0, 20};
	policy_credits_return(&spent, 5, 6, &back);
	UNIT_EQ_INT(back.included, 0);
	UNIT_EQ_INT(back.purchased, 20);
	/* Any epoch difference counts, not only a larger one. */
	spent = (struct credit_split){30, 20};
	policy_credits_return(&spent, 6, 5, &back);
	UNIT_EQ_INT(back.included, 0);
	UNIT_EQ_INT(back.purchased, 50);

	/* In place: back may be the same struct as spent. */
	spent = (struct credit_split){30, 20};
	policy_credits_return(&spent, 1, 2, &spent);
	UNIT_EQ_INT(spent.included, 0);
	UNIT_EQ_INT(spent.purchased, 50);

	/* Spend, then return in the same epoch: the balance is restored. */
	{
		struct credit_balance b = {100, 50, 3};
		struct credit_split s;

		UNIT_EQ_INT(policy_credits_spend(&b, 120, &s), PF_OK);
		policy_credits_return(&s, b.included_epoch, 3, &back);
		UNIT_EQ_INT(b.included - s.included + back.included, 100);
		UNIT_EQ_INT(b.purchased - s.purchased + back.purchased, 50);
	}
}

static void
test_pack_clawback(void)
{
	/* Balance at least the pack: the whole pack. */
	UNIT_EQ_INT(policy_credits_pack_clawback(500, 800), 500);
	UNIT_EQ_INT(policy_credits_pack_clawback(500, 500), 500);
	UNIT_EQ_INT(policy_credits_pack_clawback(500, 501), 500);
	/* Less than the pack: what is left. */
	UNIT_EQ_INT(policy_credits_pack_clawback(500, 499), 499);
	UNIT_EQ_INT(policy_credits_pack_clawback(500, 1), 1);
	/* Nothing left. */
	UNIT_EQ_INT(policy_credits_pack_clawback(500, 0), 0);
	/* Nonsense inputs never produce a negative or an extra clawback. */
	UNIT_EQ_INT(policy_credits_pack_clawback(500, -5), 0);
	UNIT_EQ_INT(policy_credits_pack_clawback(0, 800), 0);
	UNIT_EQ_INT(policy_credits_pack_clawback(-5, 800), 0);
	UNIT_EQ_INT(policy_credits_pack_clawback(INT64_MAX, INT64_MAX), INT64_MAX);
}

int
main(void)
{
	test_spend();
	test_spend_matches_split_rule();
	test_return();
	test_pack_clawback();
	return UNIT_REPORT("test_policy_credits");
}
