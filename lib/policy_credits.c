/* policy_credits.c: policy sections 2 and 3 on credit balances.
 *
 * Sums are never formed from two balances: each comparison subtracts from the
 * request instead, so even absurd balances near INT64_MAX cannot overflow. */
#include "policy_credits.h"

static int64_t
non_negative(int64_t v)
{
	return v < 0 ? 0 : v;
}

enum pf_error
policy_credits_spend(const struct credit_balance *b, int64_t credits,
    struct credit_split *split)
{
	/* A corrupt negative balance must not let a spend "borrow" credits. */
	int64_t included = non_negative(b->included);
	int64_t purchased = non_negative(b->purchased);
	int64_t rest;

	split->included = 0;
	split->purchased = 0;
	/* The contract answers credits <= 0 with 400 before the rules run; a
	 * caller that skips that check gets the same verdict, not a free task. */
	if (credits <= 0)
		return PF_ERR_INVALID_REQUEST;
	/* Included credits go first: they are lost at the next reset anyway
	 * (policy 2), purchased ones are kept while the account is active. */
	if (credits <= included) {
		split->included = credits;
		return PF_OK;
	}
	rest = credits - included;
	if (rest > purchased)
		return PF_ERR_INSUFFICIENT_CREDITS;
	split->included = included;
	split->purchased = rest;
	return PF_OK;
}

void
policy_credits_return(const struct credit_split *spent, int64_t spent_epoch,
    int64_t current_epoch, struct credit_split *back)
{
	struct credit_split r = *spent;

	/* The included balance they were spent from no longer exists; adding
	 * them to the current allowance would let the next reset swallow what
	 * the platform owes (policy 3), so they come back as purchased. */
	if (spent_epoch != current_epoch) {
		r.purchased += r.included;
		r.included = 0;
	}
	*back = r;
}

int64_t
policy_credits_pack_clawback(int64_t pack_credits, int64_t purchased_balance)
{
	/* Credits of the pack already spent are gone; the balance is never
	 * driven negative to recover them. */
	int64_t pack = non_negative(pack_credits);
	int64_t balance = non_negative(purchased_balance);

	return pack < balance ? pack : balance;
}
