/* refund_request.h: refund requests (policy 6) and their decisions: filing,
 * listing (the customer's and support's views), approving (refunding a
 * charge in full or in part, or returning a task's credits) and denying.
 * Inside the caller's transaction; changes on a locked account. */
#ifndef REFUND_REQUEST_H
#define REFUND_REQUEST_H

#include <stdbool.h>
#include <jansson.h>
#include "account.h"
#include "policy_refund.h"
#include "record.h"

#define REFUND_DESCRIPTION_MAX 2000   /* Unicode characters */
#define REFUND_NOTE_MAX 2000

/* What a decision needs to know about a request. */
struct refund_request_head {
	char id[RECORD_ID_MAX + 1];
	char user_id[AUTH_SUB_MAX + 1];
	bool pending;
	bool is_task;
	char record_id[RECORD_ID_MAX + 1];  /* the charge or task it names */
};

/* Loads id's head. PF_ERR_REFUND_REQUEST_NOT_FOUND when there is none. */
enum pf_error refund_request_head_load(struct db *db, const char *id,
    struct refund_request_head *out);

/* The request as the contract shows it (new reference in *out); support_view
 * adds user_id, account_email, the charge or task, and overdue (at now).
 * PF_ERR_REFUND_REQUEST_NOT_FOUND when there is none. */
enum pf_error refund_request_get_json(struct db *db, const char *id, bool support_view,
    pf_time now, json_t **out);

/* user_id's requests, newest first (customer's view). */
enum pf_error refund_request_list_for_user(struct db *db, const char *user_id, pf_time now,
    json_t **out);

/* Requests with status ("pending", "approved", "denied"), oldest first, at
 * most SQL_SUPPORT_QUEUE_MAX (support's view). */
enum pf_error refund_request_list_by_status(struct db *db, const char *status, pf_time now,
    json_t **out);

/* A request as filed; exactly one of charge_id and task_id is non-NULL. */
struct refund_request_new {
	const char *user_id;
	const char *charge_id;
	const char *task_id;
	enum refund_reason reason;
	const char *description;
	const char *email;          /* contact address; may be NULL */
	pf_time submitted_at;
	pf_time respond_by;
};

/* Files it as pending; id_out (RECORD_ID_MAX + 1 bytes) gets its id. A
 * concurrent open request on the same record surfaces as the database's
 * unique violation (PF_ERR_INTERNAL with SQLSTATE 23505). */
enum pf_error refund_request_insert(struct db *db, const struct refund_request_new *n,
    char id_out[RECORD_ID_MAX + 1]);

/* Decides the pending request head on acct (its user, locked).
 * approve: a charge is refunded by amount_cents when has_amount, else all
 * that is still unrefunded (PF_ERR_INVALID_AMOUNT, nothing written, when
 * that is outside 1..unrefunded); a task's credits are returned to the
 * balances they came from. deny: nothing moves. Writes the decision
 * (decided_by: the agent's sub or "system"), the audit row and the
 * customer's "refund_request_decided" notification.
 * PF_ERR_ALREADY_DECIDED when it is no longer pending. */
enum pf_error refund_request_decide(struct db *db, struct account *acct,
    const struct refund_request_head *head, bool approve, bool has_amount,
    int64_t amount_cents, const char *note, const char *decided_by, pf_time now,
    const struct actor *actor);

#endif
