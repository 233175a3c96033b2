/* account.h: loading, locking and saving a user's account (user row,
 * balances, paid subscription), and bringing its subscription up to date
 * with the billing-period rules before anything reads or changes it. All
 * functions run inside the caller's transaction. */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include <stdbool.h>
#include <jansson.h>
#include "audit.h"
#include "auth_jwt.h"
#include "db.h"
#include "policy_credits.h"
#include "policy_subscription.h"

struct account {
	char user_id[AUTH_SUB_MAX + 1];
	bool has_email;
	char email[AUTH_EMAIL_MAX + 1];
	bool suspended;
	struct credit_balance credits;
	int64_t included_allowance;
	int64_t subscription_id;          /* 0 when on the free plan */
	struct subscription_state sub;
};

/* Creates the user on first sight (free plan, its allowance; audited) or
 * takes the existing user's row lock, then loads the account and stores
 * email when it is non-NULL and differs (audited). */
enum pf_error account_provision_and_lock(struct db *db, const char *user_id, const char *email,
    pf_time now, const struct actor *actor, struct account *out);

/* Locks the user row (the per-user lock every change takes) and loads the
 * account. PF_ERR_USER_NOT_FOUND when there is no such user. */
enum pf_error account_lock(struct db *db, const char *user_id, struct account *out);

/* Applies every billing-period step due at now, one period at a time
 * (ended, plan changed, renewed), writing charges, balances, audit and
 * outbox. The account must be locked. *steps (may be NULL) counts them. */
enum pf_error account_bring_up_to_date(struct db *db, struct account *acct, pf_time now,
    const struct actor *actor, int *steps);

/* Locks user_id's account and brings it up to date (as "system"): what
 * every change to someone's account does first. PF_ERR_USER_NOT_FOUND when
 * there is no such user. */
enum pf_error account_lock_current(struct db *db, const char *user_id, pf_time now,
    struct account *out);

/* account_provision_and_lock (actor provisions), then brought up to date
 * (as "system"). */
enum pf_error account_provision_lock_current(struct db *db, const char *user_id,
    const char *email, pf_time now, const struct actor *actor, struct account *out);

/* Provision (with the token's email), lock, bring up to date: what every
 * user endpoint does first. */
enum pf_error account_lock_current_for_user(struct db *db, const struct auth_identity *identity,
    pf_time now, struct account *out);

/* The read-only shortcut of account_lock_current_for_user, for reads: one
 * statement, no lock, no transaction needed. *current is true when the
 * account as read is what account_lock_current_for_user would return having changed
 * nothing (the user exists, the token's email, if any, is the stored one,
 * and no billing period has ended); otherwise *out must not be used and the
 * caller takes the locked path. Returns a database error, else PF_OK. */
enum pf_error account_read_without_transaction(struct db *db,
    const struct auth_identity *identity, pf_time now, struct account *out, bool *current);

/* The paid subscription that suspension ended (the provider may still
 * report charges for it): fills *out (paid = true) and *id, or answers
 * PF_ERR_NO_ACTIVE_SUBSCRIPTION when the user never had one. */
enum pf_error account_subscription_ended_by_suspension(struct db *db, const char *user_id,
    struct subscription_state *out, int64_t *id);

/* Writes the subscription fields of acct->sub to its row. */
enum pf_error account_save_subscription(struct db *db, const struct account *acct);

/* Writes acct->sub to its row, the audit row (action, before -> after) and,
 * when event is non-NULL, the customer's outbox event with payload: one
 * statement, the same rows as account_save_subscription + audit_write +
 * outbox_write. */
enum pf_error account_change_subscription(struct db *db, const struct account *acct, pf_time at,
    const struct actor *actor, const char *action, const json_t *before, const json_t *after,
    const char *event, const json_t *payload);

/* Looks a plan up by name. Returns PF_OK and fills *out, PF_ERR_UNKNOWN_PLAN
 * when there is none, or a database error. */
enum pf_error plan_lookup(struct db *db, const char *name, struct plan *out);

/* Ends the paid subscription at `at` (cause "cancelled" or "suspended") and
 * puts the user on the free plan: unused included credits go, the free
 * allowance applies, purchased credits stay. */
enum pf_error account_end_subscription(struct db *db, struct account *acct, pf_time at,
    const char *cause, const struct actor *actor);

/* Resets the included balance to allowance (a new epoch), with ledger rows. */
enum pf_error account_reset_included(struct db *db, struct account *acct, int64_t allowance,
    pf_time at, const char *ref);

/* Records the charge (origin "checkout" or "renewal", at charged_at, the
 * plan's price) for acct's current period and resets the included credits
 * to the plan's allowance. */
enum pf_error account_bill_period(struct db *db, struct account *acct, const struct plan *plan,
    const char *origin, pf_time charged_at);

/* JSON views, as in the contract (new references). */
json_t *account_subscription_json(const struct account *acct);
json_t *account_json(const struct account *acct);

#endif
