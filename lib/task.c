/* task.c: task spending, outcomes and credit returns. */
#include <stdio.h>
#include <string.h>
#include "credits.h"
#include "policy_refund.h"
#include "sql_task.h"
#include "task.h"

void
task_from_row(const PGresult *res, int row, const char *prefix, struct task *out)
{
	memset(out, 0, sizeof(*out));
	record_copy_text(res, row, prefix, "id", out->id, sizeof(out->id));
	record_copy_text(res, row, prefix, "user_id", out->user_id, sizeof(out->user_id));
	record_copy_text(res, row, prefix, "kind", out->kind, sizeof(out->kind));
	out->credits = record_int(res, row, prefix, "credits");
	out->spent.included = record_int(res, row, prefix, "included_spent");
	out->spent.purchased = record_int(res, row, prefix, "purchased_spent");
	out->included_epoch = record_int(res, row, prefix, "included_epoch");
	record_copy_text(res, row, prefix, "status", out->status, sizeof(out->status));
	record_copy_text(res, row, prefix, "failure_cause", out->failure_cause,
	    sizeof(out->failure_cause));
	out->credits_returned = record_bool(res, row, prefix, "credits_returned");
	out->created_at = record_int(res, row, prefix, "created_at");
	out->finished = !record_is_null(res, row, prefix, "finished_at");
	out->finished_at = record_int(res, row, prefix, "finished_at");
	out->has_open_request = record_bool(res, row, prefix, "open_request");
}

enum pf_error
task_load(struct db *db, const char *id, const char *user_id, struct task *out)
{
	const char *params[1] = {id};
	PGresult *res = NULL;
	enum pf_error err;

	err = db_exec_one(db, &sql_task_catalog, SQL_TASK_GET, params, PF_ERR_TASK_NOT_FOUND, &res);
	if (err != PF_OK)
		goto out;
	task_from_row(res, 0, "", out);
	/* another user's task answers exactly like a missing one */
	if (user_id != NULL && strcmp(out->user_id, user_id) != 0) {
		memset(out, 0, sizeof(*out));
		err = PF_ERR_TASK_NOT_FOUND;
	}
out:
	PQclear(res);
	return err;
}

json_t *
task_json(const struct task *t)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:o, s:b, s:o, s:o}",
	    "id", t->id,
	    "user_id", t->user_id,
	    "kind", t->kind,
	    "credits", (json_int_t)t->credits,
	    "status", t->status,
	    "included_spent", (json_int_t)t->spent.included,
	    "purchased_spent", (json_int_t)t->spent.purchased,
	    "failure_cause", t->failure_cause[0] ? json_string(t->failure_cause) : json_null(),
	    "credits_returned", t->credits_returned,
	    "created_at", record_time_json(t->created_at),
	    "finished_at", t->finished ? record_time_json(t->finished_at) : json_null());
}

json_t *
task_form_json(const struct task *t)
{
	return json_pack("{s:s, s:s, s:I, s:o, s:o}",
	    "id", t->id,
	    "kind", t->kind,
	    "credits", (json_int_t)t->credits,
	    "failed_at", t->finished ? record_time_json(t->finished_at) : json_null(),
	    "failure_cause", t->failure_cause[0] ? json_string(t->failure_cause) : json_null());
}

/* The refund form's rows: a failed task inside the window at *now with no
 * pending request. */
static json_t *
task_form_row_json(const PGresult *res, int row, const void *arg, bool *skip)
{
	const pf_time *now = arg;
	struct task t;

	task_from_row(res, row, "", &t);
	*skip = t.has_open_request || !policy_refund_within_window(t.finished_at, *now);
	return *skip ? NULL : task_form_json(&t);
}

enum pf_error
task_form_list_json(struct db *db, const char *user_id, pf_time now, json_t **out)
{
	char since[24];
	const char *params[2];

	/* a coarse bound for the index; the rule itself decides row by row */
	record_int_text(since, sizeof(since), now - REFUND_WINDOW_SECONDS - PF_DAY_SECONDS);
	params[0] = user_id;
	params[1] = since;
	return record_list_json(db, &sql_task_catalog, SQL_TASKS_FAILED_UNRETURNED, params,
	    task_form_row_json, &now, out);
}

enum pf_error
task_start(struct db *db, struct account *acct, const char *kind, int64_t credits,
    pf_time now, const struct actor *actor, struct task *out)
{
	struct credit_split split;
	char credits_text[24], included[24], purchased[24], epoch[24], now_text[24];
	char id[RECORD_ID_MAX + 1];
	const char *params[7];
	PGresult *res = NULL;
	json_t *before = NULL, *after = NULL;
	enum pf_error err;

	err = policy_credits_spend(&acct->credits, credits, &split);
	if (err != PF_OK)
		goto out;
	before = json_pack("{s:I, s:I}", "included_remaining", (json_int_t)acct->credits.included,
	    "purchased_remaining", (json_int_t)acct->credits.purchased);
	record_int_text(credits_text, sizeof(credits_text), credits);
	record_int_text(included, sizeof(included), split.included);
	record_int_text(purchased, sizeof(purchased), split.purchased);
	record_int_text(epoch, sizeof(epoch), acct->credits.included_epoch);
	record_int_text(now_text, sizeof(now_text), now);
	params[0] = acct->user_id;
	params[1] = kind;
	params[2] = credits_text;
	params[3] = included;
	params[4] = purchased;
	params[5] = epoch;
	params[6] = now_text;
	err = db_exec(db, &sql_task_catalog, SQL_TASK_INSERT, params, &res);
	if (err != PF_OK)
		goto out;
	snprintf(id, sizeof(id), "%s", db_text(res, 0, "id"));
	err = credits_move(db, acct, -split.included, -split.purchased, "spend", id, now);
	if (err != PF_OK)
		goto out;
	err = task_load(db, id, NULL, out);
	if (err != PF_OK)
		goto out;
	after = task_json(out);
	json_object_set_new(after, "included_remaining", json_integer(acct->credits.included));
	json_object_set_new(after, "purchased_remaining", json_integer(acct->credits.purchased));
	err = audit_write(db, now, actor, "task.started", acct->user_id, before, after);
out:
	json_decref(before);
	json_decref(after);
	PQclear(res);
	return err;
}

enum pf_error
task_return_credits(struct db *db, struct account *acct, struct task *t, pf_time now,
    const struct actor *actor)
{
	struct credit_split back;
	const char *params[1] = {t->id};
	json_t *after = NULL;
	enum pf_error err;

	if (t->credits_returned)
		return PF_OK;
	policy_credits_return(&t->spent, t->included_epoch, acct->credits.included_epoch, &back);
	err = credits_move(db, acct, back.included, back.purchased, "return", t->id, now);
	if (err != PF_OK)
		goto out;
	err = db_exec(db, &sql_task_catalog, SQL_TASK_MARK_RETURNED, params, NULL);
	if (err != PF_OK)
		goto out;
	t->credits_returned = true;
	after = json_pack("{s:s, s:I, s:I, s:I, s:I}", "task_id", t->id,
	    "included_returned", (json_int_t)back.included,
	    "purchased_returned", (json_int_t)back.purchased,
	    "included_remaining", (json_int_t)acct->credits.included,
	    "purchased_remaining", (json_int_t)acct->credits.purchased);
	err = audit_write(db, now, actor, "task.credits_returned", acct->user_id, NULL, after);
out:
	json_decref(after);
	return err;
}

enum pf_error
task_finish(struct db *db, struct account *acct, struct task *t, const char *cause,
    pf_time now, const struct actor *actor)
{
	char now_text[24];
	const char *params[5];
	PGresult *res = NULL;
	json_t *before = NULL, *after = NULL;
	enum pf_error err;

	if (strcmp(t->status, "running") != 0)
		return PF_ERR_TASK_FINISHED;
	before = task_json(t);
	record_int_text(now_text, sizeof(now_text), now);
	params[0] = t->id;
	params[1] = cause != NULL ? "failed" : "completed";
	params[2] = cause;
	params[3] = "false";
	params[4] = now_text;
	err = db_exec(db, &sql_task_catalog, SQL_TASK_FINISH, params, &res);
	if (err != PF_OK)
		goto out;
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		err = PF_ERR_TASK_FINISHED;
		goto out;
	}
	snprintf(t->status, sizeof(t->status), "%s", params[1]);
	snprintf(t->failure_cause, sizeof(t->failure_cause), "%s", cause != NULL ? cause : "");
	t->finished = true;
	t->finished_at = now;
	after = task_json(t);
	err = audit_write(db, now, actor, cause != NULL ? "task.failed" : "task.completed",
	    acct->user_id, before, after);
	if (err != PF_OK)
		goto out;
	/* our own platform's failure is refunded without being asked (policy
	 * 3); a provider's outage or the user's input is not (policy 5) */
	if (cause != NULL && strcmp(cause, "platform") == 0)
		err = task_return_credits(db, acct, t, now, actor);
out:
	json_decref(before);
	json_decref(after);
	PQclear(res);
	return err;
}
