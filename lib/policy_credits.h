/* policy_credits.h: policy sections 2 and 3 on credit balances. Included
 * credits (the plan's allowance, reset each period) are spent first, then
 * purchased credits. included_epoch changes at every reset of the included
 * balance, so a return can tell whether the balance it was spent from still
 * exists. Pure functions. */
#ifndef POLICY_CREDITS_H
#define POLICY_CREDITS_H

#include <stdint.h>
#include "pf_error.h"

struct credit_balance {
	int64_t included;        /* >= 0 */
	int64_t purchased;       /* >= 0 */
	int64_t included_epoch;  /* generation of the included balance */
};

struct credit_split {
	int64_t included;
	int64_t purchased;
};

/* Split a spend of credits (> 0) over b: included first, then purchased.
 * PF_ERR_INSUFFICIENT_CREDITS (split zeroed) when included + purchased < credits. */
enum pf_error policy_credits_spend(const struct credit_balance *b, int64_t credits,
    struct credit_split *split);

/* Where returned credits go: included credits come back as included only
 * while spent_epoch == current_epoch; otherwise as purchased, so that a reset
 * never swallows what the platform owes (policy 3). */
void policy_credits_return(const struct credit_split *spent, int64_t spent_epoch,
    int64_t current_epoch, struct credit_split *back);

/* Credits taken back when a credit pack of pack_credits becomes fully
 * refunded: as many as the purchased balance still holds. */
int64_t policy_credits_pack_clawback(int64_t pack_credits, int64_t purchased_balance);

#endif
