/* handlers_refunds.c: the customer's side of refunds (policy 4-6): the
 * refund form, filing a request and listing them.
 * Each starts with account_lock_current_for_user (provision, lock, bring the
 * subscription up to date); a user only ever sees their own records. */
#include <stdio.h>
#include <string.h>
#include "charge.h"
#include "handler.h"
#include "refund_request.h"
#include "sql_refund.h"
#include "task.h"

/* The refund form's "fields", read from the table the validator enforces,
 * so what the form promises and what the service accepts cannot drift.
 * NULL when memory ran out. */
static json_t *
form_fields_json(bool account_has_email)
{
	json_t *list = json_array();

	for (size_t i = 0; list != NULL && i < REFUND_REQUEST_FIELD_COUNT; i++) {
		const struct field_spec *f = &refund_request_fields[i];
		json_int_t max = (json_int_t)f->max;

		if (f->type == FIELD_ENUM) {
			const char *const *v;
			for (max = 0, v = f->values; *v != NULL; v++)
				if ((json_int_t)strlen(*v) > max)
					max = (json_int_t)strlen(*v);
		}
		/* policy 6: a request includes the account email; with none on
		 * the account, the form must ask for one */
		if (json_array_append_new(list, json_pack("{s:s, s:b, s:I}", "name", f->name,
		    "required", f->required || (strcmp(f->name, "email") == 0 && !account_has_email),
		    "max_length", max)) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	return list;
}

/* The reasons as the policy table has them; NULL when memory ran out (a
 * form missing a reason is not the form). */
static json_t *
form_reasons_json(void)
{
	json_t *list = json_array(), *item;

	for (int r = 0; list != NULL && r < REFUND_REASON__MAX; r++) {
		const struct refund_reason_info *i = refund_reason_info((enum refund_reason)r);
		const char *code = refund_reason_code((enum refund_reason)r);

		if (!i->eligible)
			item = json_pack("{s:s, s:s, s:b, s:s}", "code", code, "label", i->label,
			    "eligible", 0, "explanation", i->explanation);
		else
			item = json_pack("{s:s, s:s, s:b, s:[s*s*]}", "code", code, "label", i->label,
			    "eligible", 1, "applies_to", i->applies_to_charge ? "charge" : NULL,
			    i->applies_to_task ? "task" : NULL);
		if (json_array_append_new(list, item) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	return list;
}

enum pf_error
handle_refund_form_get(struct handler_ctx *ctx)
{
	struct account acct;
	json_t *charges = NULL, *tasks = NULL;
	enum pf_error err;

	err = account_lock_current_for_user(ctx->db, &ctx->req->identity, ctx->req->now, &acct);
	if (err == PF_OK)
		err = charge_list_json(ctx->db, acct.user_id, ctx->req->now, true, &charges);
	if (err == PF_OK)
		err = task_form_list_json(ctx->db, acct.user_id, ctx->req->now, &tasks);
	if (err != PF_OK) {
		json_decref(charges);
		return err;
	}
	return http_ok(ctx->res, 200,
	    json_pack("{s:i, s:i, s:s, s:o, s:o, s:o, s:o, s:s?}",
		"window_days", REFUND_WINDOW_DAYS,
		"response_business_days", REFUND_RESPONSE_BUSINESS_DAYS,
		"support_email", REFUND_SUPPORT_EMAIL,
		"reasons", form_reasons_json(),
		"charges", charges,
		"tasks", tasks,
		"fields", form_fields_json(acct.has_email),
		"email", acct.has_email ? acct.email : NULL));
}

enum pf_error
handle_refund_requests_get(struct handler_ctx *ctx)
{
	struct account acct;
	json_t *list = NULL;
	enum pf_error err;

	err = account_lock_current_for_user(ctx->db, &ctx->req->identity, ctx->req->now, &acct);
	if (err == PF_OK)
		err = refund_request_list_for_user(ctx->db, acct.user_id, ctx->req->now, &list);
	if (err != PF_OK)
		return err;
	return http_ok(ctx->res, 200, json_pack("{s:o}", "refund_requests", list));
}

/* The refusal of policy_refund_request_check, told to the customer. */
static enum pf_error
refuse(struct handler_ctx *ctx, enum pf_error err, enum refund_reason reason,
    const struct refund_target *target, const char *task_status)
{
	const struct refund_reason_info *info = refund_reason_info(reason);
	const struct refund_reason_info *sf = refund_reason_info(REFUND_REASON_SYSTEM_FAILURE);
	const char *record = target->is_task ? "task" : "charge";
	char event_at[PF_RFC3339_LEN], window_end[PF_RFC3339_LEN];

	pf_time_format(target->event_at, event_at);
	pf_time_format(policy_refund_window_end(target->event_at), window_end);
	switch (err) {
	case PF_ERR_REASON_NOT_ELIGIBLE:
		return http_fail(ctx->res, err, "%s", info->explanation);
	case PF_ERR_REASON_NOT_APPLICABLE:
		if (target->is_task && info->applies_to_task)
			return http_fail(ctx->res, err,
			    "This task has not failed (it is %s), so there is no system failure to "
			    "refund. Credits spent on tasks are non-refundable (Refund Policy, "
			    "section 2).", task_status);
		if (target->is_task)
			return http_fail(ctx->res, err,
			    "\"%s\" is about a charge, not a task. If this task failed because of an "
			    "error on our platform, choose \"%s\".", info->label, sf->label);
		return http_fail(ctx->res, err,
		    "\"%s\" is about a failed task, not a charge. For a charge, choose a duplicate "
		    "charge, a billing error or an unauthorized charge.", info->label);
	case PF_ERR_OUTSIDE_REFUND_WINDOW:
		return http_fail(ctx->res, err,
		    "Refunds can be requested within %d days of the %s in question (Refund Policy, "
		    "section 6). This %s %s %s, so the last moment to ask was %s.",
		    REFUND_WINDOW_DAYS, target->is_task ? "failure" : "charge", record,
		    target->is_task ? "failed at" : "was made at", event_at, window_end);
	case PF_ERR_ALREADY_REFUNDED:
		return http_fail(ctx->res, err, target->is_task ?
		    "The credits of this task were already returned to your account." :
		    "This charge has already been refunded in full.");
	case PF_ERR_REFUND_ALREADY_REQUESTED:
		return http_fail(ctx->res, err,
		    "You already have an open refund request for this %s; our support team will "
		    "answer it within %d business days of when you sent it.", record,
		    REFUND_RESPONSE_BUSINESS_DAYS);
	default:
		return http_fail(ctx->res, err, "The refund request could not be accepted.");
	}
}

/* True when the charge is a second paid charge for its subscription period. */
static enum pf_error
other_paid_same_period(struct db *db, const char *charge_id, bool *out)
{
	const char *params[1] = {charge_id};
	PGresult *res = NULL;
	enum pf_error err;

	*out = false;
	err = db_exec(db, &sql_refund_catalog, SQL_CHARGE_OTHER_PAID_SAME_PERIOD, params, &res);
	if (err == PF_OK)
		*out = db_bool(res, 0, "other_paid");
	PQclear(res);
	return err;
}

/* The audit row and the "refund_request_received" notification (with the
 * respond-by date) of a request just filed. */
static enum pf_error
announce_received(struct handler_ctx *ctx, const struct account *acct, const char *id)
{
	json_t *request = NULL, *payload = NULL;
	enum pf_error err;

	err = refund_request_get_json(ctx->db, id, false, ctx->req->now, &request);
	if (err != PF_OK)
		goto out;
	err = audit_write(ctx->db, ctx->req->now, &ctx->actor, "refund_request.submitted",
	    acct->user_id, NULL, request);
	if (err != PF_OK)
		goto out;
	payload = json_pack("{s:O, s:O}", "refund_request", request,
	    "respond_by", json_object_get(request, "respond_by"));
	err = outbox_write(ctx->db, ctx->req->now, acct->user_id, "refund_request_received", payload);
out:
	json_decref(request);
	json_decref(payload);
	return err;
}

enum pf_error
handle_refund_request_create(struct handler_ctx *ctx)
{
	const struct field_value *f = ctx->fields;
	struct actor system = {"system", NULL};
	struct account acct;
	struct charge charge;
	struct task task;
	struct refund_target target;
	struct refund_request_new n;
	struct refund_request_head head;
	enum refund_reason reason;
	char id[RECORD_ID_MAX + 1];
	bool duplicate = false;
	json_t *answer = NULL;
	enum pf_error err;

	if (f[REFUND_REQUEST_CHARGE_ID].present == f[REFUND_REQUEST_TASK_ID].present)
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST,
		    "Name exactly one of 'charge_id' and 'task_id'.");
	if (f[REFUND_REQUEST_EMAIL].present && strchr(f[REFUND_REQUEST_EMAIL].string, '@') == NULL)
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST,
		    "Field 'email' must be an email address.");
	if (refund_reason_from_code(f[REFUND_REQUEST_REASON].string, &reason) != 0)
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST, "Field 'reason' is not a reason code.");

	err = account_lock_current_for_user(ctx->db, &ctx->req->identity, ctx->req->now, &acct);
	if (err != PF_OK)
		return err;
	if (!f[REFUND_REQUEST_EMAIL].present && !acct.has_email)
		return http_fail(ctx->res, PF_ERR_INVALID_REQUEST,
		    "Field 'email' is required: your account has no email address, and support "
		    "needs one to answer you (Refund Policy, section 6).");
	memset(&target, 0, sizeof(target));
	memset(&task, 0, sizeof(task));
	if (f[REFUND_REQUEST_CHARGE_ID].present) {
		err = charge_load(ctx->db, f[REFUND_REQUEST_CHARGE_ID].string, acct.user_id, &charge);
		if (err == PF_ERR_CHARGE_NOT_FOUND)
			return http_fail(ctx->res, err, "We could not find charge '%.64s' on your account.",
			    f[REFUND_REQUEST_CHARGE_ID].string);
		if (err != PF_OK)
			return err;
		target.fully_refunded = charge.status == CHARGE_REFUNDED;
		target.event_at = charge.charged_at;
		target.has_open_request = charge.has_open_request;
	} else {
		err = task_load(ctx->db, f[REFUND_REQUEST_TASK_ID].string, acct.user_id, &task);
		if (err == PF_ERR_TASK_NOT_FOUND)
			return http_fail(ctx->res, err, "We could not find task '%.64s' on your account.",
			    f[REFUND_REQUEST_TASK_ID].string);
		if (err != PF_OK)
			return err;
		target.is_task = true;
		target.task_failed = strcmp(task.status, "failed") == 0;
		target.credits_returned = task.credits_returned;
		target.event_at = task.finished_at;
		target.has_open_request = task.has_open_request;
	}
	err = policy_refund_request_check(reason, &target, ctx->req->now);
	if (err != PF_OK)
		return refuse(ctx, err, reason, &target, task.status);
	if (!target.is_task && reason == REFUND_REASON_DUPLICATE_CHARGE && !charge.is_pack) {
		err = other_paid_same_period(ctx->db, charge.id, &duplicate);
		if (err != PF_OK)
			return err;
	}

	memset(&n, 0, sizeof(n));
	n.user_id = acct.user_id;
	n.charge_id = target.is_task ? NULL : charge.id;
	n.task_id = target.is_task ? task.id : NULL;
	n.reason = reason;
	n.description = f[REFUND_REQUEST_DESCRIPTION].string;
	n.email = f[REFUND_REQUEST_EMAIL].present ? f[REFUND_REQUEST_EMAIL].string : acct.has_email ? acct.email : NULL;
	n.submitted_at = ctx->req->now;
	n.respond_by = pf_time_business_days_after(ctx->req->now, REFUND_RESPONSE_BUSINESS_DAYS);
	err = refund_request_insert(ctx->db, &n, id);
	if (err == PF_OK)
		err = announce_received(ctx, &acct, id);
	if (err != PF_OK)
		return err;
	/* a second paid charge for one period is proven by our own records:
	 * refunded at once, unless the account is suspended (support decides) */
	if (policy_refund_auto_approve(reason, !target.is_task && !charge.is_pack, duplicate,
	    acct.suspended)) {
		err = refund_request_head_load(ctx->db, id, &head);
		if (err == PF_OK)
			err = refund_request_decide(ctx->db, &acct, &head, true, false, 0,
			    "Approved automatically: another payment for the same subscription period "
			    "was found, so this charge is refunded in full.",
			    "system", ctx->req->now, &system);
		if (err != PF_OK)
			return err;
	}
	err = refund_request_get_json(ctx->db, id, false, ctx->req->now, &answer);
	if (err != PF_OK)
		return err;
	return http_ok(ctx->res, 201, answer);
}
