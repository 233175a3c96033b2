/* refund_request.c: refund requests and support's decisions. */
#include <stdio.h>
#include <string.h>
#include "charge.h"
#include "refund_request.h"
#include "sql_refund.h"
#include "task.h"

static json_t *
text_or_null(const PGresult *res, int row, const char *column)
{
	const char *v = db_text(res, row, column);

	return v != NULL ? json_string(v) : json_null();
}

/* One row of a SQL_REQUEST* result in the contract's shape. */
static json_t *
request_json_from_row(const PGresult *res, int row, bool support_view, pf_time now)
{
	bool is_task = !db_is_null(res, row, "task_id");
	bool pending = strcmp(db_text(res, row, "status"), "pending") == 0;
	pf_time respond_by = db_int(res, row, "respond_by");
	json_t *obj;

	obj = json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "id", db_text(res, row, "id"),
	    "status", db_text(res, row, "status"),
	    "reason", db_text(res, row, "reason"),
	    is_task ? "task_id" : "charge_id",
	    text_or_null(res, row, is_task ? "task_id" : "charge_id"),
	    "description", db_text(res, row, "description"),
	    "email", text_or_null(res, row, "email"),
	    "submitted_at", record_time_json(db_int(res, row, "submitted_at")),
	    "respond_by", record_time_json(respond_by),
	    "decision_note", text_or_null(res, row, "decision_note"),
	    "decided_at", db_is_null(res, row, "decided_at") ? json_null() :
		record_time_json(db_int(res, row, "decided_at")),
	    "refunded_cents", db_is_null(res, row, "refunded_cents") ? json_null() :
		json_integer(db_int(res, row, "refunded_cents")));
	if (obj == NULL || !support_view)
		return obj;
	json_object_set_new(obj, "user_id", json_string(db_text(res, row, "user_id")));
	json_object_set_new(obj, "account_email", text_or_null(res, row, "account_email"));
	json_object_set_new(obj, "overdue", json_boolean(pending && now > respond_by));
	if (is_task) {
		struct task t;

		task_from_row(res, row, "t_", &t);
		json_object_set_new(obj, "task", task_form_json(&t));
	} else {
		struct charge c;

		charge_from_row(res, row, "c_", &c);
		json_object_set_new(obj, "charge", charge_json(&c));
	}
	return obj;
}

enum pf_error
refund_request_head_load(struct db *db, const char *id, struct refund_request_head *out)
{
	char key[RECORD_ID_MAX + 1];
	const char *params[1] = {key};
	PGresult *res = NULL;
	enum pf_error err;

	/* id may be out->id itself (a re-read under a lock) */
	if (snprintf(key, sizeof(key), "%s", id) >= (int)sizeof(key))
		return PF_ERR_REFUND_REQUEST_NOT_FOUND;
	memset(out, 0, sizeof(*out));
	err = db_exec_one(db, &sql_refund_catalog, SQL_REQUEST_GET, params,
	    PF_ERR_REFUND_REQUEST_NOT_FOUND, &res);
	if (err != PF_OK)
		goto out;
	snprintf(out->id, sizeof(out->id), "%s", db_text(res, 0, "id"));
	snprintf(out->user_id, sizeof(out->user_id), "%s", db_text(res, 0, "user_id"));
	out->pending = strcmp(db_text(res, 0, "status"), "pending") == 0;
	out->is_task = !db_is_null(res, 0, "task_id");
	snprintf(out->record_id, sizeof(out->record_id), "%s",
	    db_text(res, 0, out->is_task ? "task_id" : "charge_id"));
out:
	PQclear(res);
	return err;
}

enum pf_error
refund_request_get_json(struct db *db, const char *id, bool support_view, pf_time now,
    json_t **out)
{
	const char *params[1] = {id};
	PGresult *res = NULL;
	enum pf_error err;

	*out = NULL;
	err = db_exec_one(db, &sql_refund_catalog, SQL_REQUEST_GET, params,
	    PF_ERR_REFUND_REQUEST_NOT_FOUND, &res);
	if (err != PF_OK)
		goto out;
	*out = request_json_from_row(res, 0, support_view, now);
	if (*out == NULL)
		err = PF_ERR_INTERNAL;
out:
	PQclear(res);
	return err;
}

struct request_view {
	bool support_view;
	pf_time now;
};

static json_t *
request_row_json(const PGresult *res, int row, const void *arg, bool *skip)
{
	const struct request_view *view = arg;

	*skip = false;
	return request_json_from_row(res, row, view->support_view, view->now);
}

static enum pf_error
list_json(struct db *db, int statement, const char *param, bool support_view, pf_time now,
    json_t **out)
{
	const char *params[1] = {param};
	const struct request_view view = {support_view, now};

	return record_list_json(db, &sql_refund_catalog, statement, params, request_row_json,
	    &view, out);
}

enum pf_error
refund_request_list_for_user(struct db *db, const char *user_id, pf_time now, json_t **out)
{
	return list_json(db, SQL_REQUESTS_BY_USER, user_id, false, now, out);
}

enum pf_error
refund_request_list_by_status(struct db *db, const char *status, pf_time now, json_t **out)
{
	return list_json(db, SQL_REQUESTS_BY_STATUS, status, true, now, out);
}

enum pf_error
refund_request_insert(struct db *db, const struct refund_request_new *n,
    char id_out[RECORD_ID_MAX + 1])
{
	char submitted[24], respond_by[24];
	const char *params[8];
	const char *reason = refund_reason_code(n->reason);
	PGresult *res = NULL;
	enum pf_error err;

	if (reason == NULL)
		return PF_ERR_INTERNAL;
	record_int_text(submitted, sizeof(submitted), n->submitted_at);
	record_int_text(respond_by, sizeof(respond_by), n->respond_by);
	params[0] = n->user_id;
	params[1] = n->charge_id;
	params[2] = n->task_id;
	params[3] = reason;
	params[4] = n->description;
	params[5] = n->email;
	params[6] = submitted;
	params[7] = respond_by;
	err = db_exec(db, &sql_refund_catalog, SQL_REQUEST_INSERT, params, &res);
	if (err == PF_OK)
		snprintf(id_out, RECORD_ID_MAX + 1, "%s", db_text(res, 0, "id"));
	PQclear(res);
	return err;
}

/* Refunds the charge or returns the task's credits for an approval; sets
 * *refunded_cents (0 for a task). */
static enum pf_error
approve_effect(struct db *db, struct account *acct, const struct refund_request_head *head,
    bool has_amount, int64_t amount_cents, pf_time now, const struct actor *actor,
    int64_t *refunded_cents)
{
	struct charge c;
	struct task t;
	enum pf_error err;

	*refunded_cents = 0;
	if (head->is_task) {
		err = task_load(db, head->record_id, head->user_id, &t);
		if (err != PF_OK)
			return err == PF_ERR_TASK_NOT_FOUND ? PF_ERR_INTERNAL : err;
		return task_return_credits(db, acct, &t, now, actor);
	}
	err = charge_load(db, head->record_id, head->user_id, &c);
	if (err != PF_OK)
		return err == PF_ERR_CHARGE_NOT_FOUND ? PF_ERR_INTERNAL : err;
	if (!has_amount)
		amount_cents = c.amount_cents - c.refunded_cents;
	err = charge_refund(db, acct, &c, amount_cents, now, actor);
	if (err == PF_OK)
		*refunded_cents = amount_cents;
	return err;
}

enum pf_error
refund_request_decide(struct db *db, struct account *acct,
    const struct refund_request_head *head, bool approve, bool has_amount,
    int64_t amount_cents, const char *note, const char *decided_by, pf_time now,
    const struct actor *actor)
{
	char now_text[24], refunded_text[24];
	const char *params[6];
	int64_t refunded_cents = 0;
	PGresult *res = NULL;
	json_t *after = NULL, *payload = NULL;
	enum pf_error err;

	if (!head->pending)
		return PF_ERR_ALREADY_DECIDED;
	if (approve) {
		err = approve_effect(db, acct, head, has_amount, amount_cents, now, actor,
		    &refunded_cents);
		if (err != PF_OK)
			goto out;
	}
	record_int_text(now_text, sizeof(now_text), now);
	record_int_text(refunded_text, sizeof(refunded_text), refunded_cents);
	params[0] = head->id;
	params[1] = approve ? "approved" : "denied";
	params[2] = now_text;
	params[3] = decided_by;
	params[4] = note;
	params[5] = refunded_cents > 0 ? refunded_text : NULL;
	err = db_exec(db, &sql_refund_catalog, SQL_REQUEST_DECIDE, params, &res);
	if (err != PF_OK)
		goto out;
	/* the caller holds the user's lock, so a pending head stays pending */
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		err = PF_ERR_ALREADY_DECIDED;
		goto out;
	}
	err = refund_request_get_json(db, head->id, false, now, &after);
	if (err != PF_OK)
		goto out;
	err = audit_write(db, now, actor, approve ? "refund_request.approved" : "refund_request.denied",
	    acct->user_id, NULL, after);
	if (err != PF_OK)
		goto out;
	payload = json_pack("{s:O}", "refund_request", after);
	err = outbox_write(db, now, acct->user_id, "refund_request_decided", payload);
out:
	json_decref(after);
	json_decref(payload);
	PQclear(res);
	return err;
}
