/* charge.h: the charge ledger as the refund rules and the API see it:
 * loading, listing (billing history and the refund form), recording a
 * provider's charge and refunding one. All inside the caller's transaction. */
#ifndef CHARGE_H
#define CHARGE_H

#include <stdbool.h>
#include <jansson.h>
#include <libpq-fe.h>
#include "account.h"
#include "policy_charge.h"
#include "record.h"

#define CHARGE_DESCRIPTION_MAX 200

struct charge {
	char id[RECORD_ID_MAX + 1];
	char user_id[AUTH_SUB_MAX + 1];
	int64_t subscription_id;     /* 0 for a credit pack */
	bool is_pack;
	char description[CHARGE_DESCRIPTION_MAX + 1];
	int64_t amount_cents;
	char currency[4];
	pf_time charged_at;
	bool has_period;             /* subscription charges */
	pf_time period_start, period_end;
	int64_t credits;             /* credit packs */
	enum charge_status status;
	int64_t refunded_cents;
	bool has_refunded_at;
	pf_time refunded_at;
	bool has_open_request;       /* a pending refund request names it */
};

/* Reads row of res, whose charge columns carry prefix ("" or "c_"). */
void charge_from_row(const PGresult *res, int row, const char *prefix, struct charge *out);

/* Loads charge id. PF_ERR_CHARGE_NOT_FOUND when there is none, or when
 * user_id is non-NULL and the charge is someone else's (indistinguishable). */
enum pf_error charge_load(struct db *db, const char *id, const char *user_id, struct charge *out);

/* The contract's charge object (new reference). */
json_t *charge_json(const struct charge *c);

/* user_id's charges, newest first, as a JSON array in *out (new
 * reference). refund_form_only: only those the refund form offers: status
 * paid, inside the window at now, no open request. */
enum pf_error charge_list_json(struct db *db, const char *user_id, pf_time now,
    bool refund_form_only, json_t **out);

/* Refunds refund_cents more of c (its user's account acct locked): the
 * charge's status and totals, and for a credit pack that becomes fully
 * refunded the credits the purchased balance still holds of it. Audited.
 * PF_ERR_INVALID_AMOUNT (nothing written) unless 1 <= refund_cents <= what
 * is still unrefunded. c is updated. */
enum pf_error charge_refund(struct db *db, struct account *acct, struct charge *c,
    int64_t refund_cents, pf_time now, const struct actor *actor);

/* What a provider reported (POST /internal/charges). */
struct charge_new {
	bool is_pack;
	int64_t amount_cents;
	const char *currency;
	pf_time charged_at;
	int64_t credits;             /* packs */
	int64_t subscription_id;     /* subscription charges */
	const char *plan;
	pf_time period_start, period_end;
	const char *provider_ref;
};

/* Records it on acct (locked); a pack adds its credits to the purchased
 * balance. Audited. *out receives the stored charge. */
enum pf_error charge_record(struct db *db, struct account *acct, const struct charge_new *n,
    pf_time now, const struct actor *actor, struct charge *out);

#endif
