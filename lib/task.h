/* task.h: AI tasks and the credits they spend (policy 2 and 3): starting
 * one (included credits first, then purchased), finishing it, and returning
 * its credits to the balances they came from. Inside the caller's
 * transaction, on a locked account. */
#ifndef TASK_H
#define TASK_H

#include <stdbool.h>
#include <jansson.h>
#include <libpq-fe.h>
#include "account.h"
#include "record.h"

#define TASK_WORD_MAX 16

struct task {
	char id[RECORD_ID_MAX + 1];
	char user_id[AUTH_SUB_MAX + 1];
	char kind[TASK_WORD_MAX];            /* image, video, try_on, training */
	int64_t credits;
	struct credit_split spent;           /* from each balance */
	int64_t included_epoch;              /* of the included balance spent from */
	char status[TASK_WORD_MAX];          /* running, completed, failed */
	char failure_cause[TASK_WORD_MAX];   /* "" unless failed */
	bool credits_returned;
	pf_time created_at;
	bool finished;
	pf_time finished_at;                 /* for a failed task: when it failed */
	bool has_open_request;
};

/* Reads row of res, whose task columns carry prefix ("" or "t_"). */
void task_from_row(const PGresult *res, int row, const char *prefix, struct task *out);

/* Loads task id. PF_ERR_TASK_NOT_FOUND when there is none, or when user_id
 * is non-NULL and the task is someone else's. */
enum pf_error task_load(struct db *db, const char *id, const char *user_id, struct task *out);

/* The service's view (/internal/tasks): status, split, outcome (new reference). */
json_t *task_json(const struct task *t);

/* The refund form's view: id, kind, credits, failed_at, failure_cause. */
json_t *task_form_json(const struct task *t);

/* user_id's failed tasks whose credits were not returned, inside the
 * refund window at now, with no open request: the refund form's list. */
enum pf_error task_form_list_json(struct db *db, const char *user_id, pf_time now,
    json_t **out);

/* Spends credits on a new task of kind for acct (locked, not suspended):
 * PF_ERR_INSUFFICIENT_CREDITS with nothing written when the balances do not
 * cover it. Audited. *out receives the task. */
enum pf_error task_start(struct db *db, struct account *acct, const char *kind,
    int64_t credits, pf_time now, const struct actor *actor, struct task *out);

/* Finishes a running task: cause NULL completes it, else it fails with
 * cause; "platform" returns its credits at once (task_return_credits).
 * PF_ERR_TASK_FINISHED when it is not running. Audited; t is updated. */
enum pf_error task_finish(struct db *db, struct account *acct, struct task *t,
    const char *cause, pf_time now, const struct actor *actor);

/* Returns t's credits to the balances they came from: included credits as
 * included only while acct's included epoch is still the one they were
 * spent from, otherwise as purchased (policy 3). Marks them returned.
 * Audited; t is updated. Nothing happens when they already were returned. */
enum pf_error task_return_credits(struct db *db, struct account *acct, struct task *t,
    pf_time now, const struct actor *actor);

#endif
