/* credits.h: moving a user's credit balances, with one ledger row per
 * balance that moved. Runs inside the caller's transaction on a locked
 * account. */
#ifndef CREDITS_H
#define CREDITS_H

#include "account.h"

/* One ledger row: delta (0 writes nothing) on balance "included" or
 * "purchased" of user_id, with its cause and ref. */
enum pf_error credits_ledger_write(struct db *db, const char *user_id, const char *balance,
    int64_t delta, const char *cause, const char *ref, pf_time at);

/* Adds included_delta and purchased_delta (either may be negative or 0) to
 * acct's balances, in the users row and in acct->credits, recording cause
 * ("spend", "return", "pack", "clawback") and ref (a task or charge id) in
 * the ledger. The database refuses a balance below zero (PF_ERR_INTERNAL). */
enum pf_error credits_move(struct db *db, struct account *acct, int64_t included_delta,
    int64_t purchased_delta, const char *cause, const char *ref, pf_time at);

#endif
