/* handlers_tasks.c: the AI task runner's endpoints (policy 2 and 3):
 * starting a task spends credits (included first, then purchased),
 * finishing it completes or fails it; a platform failure returns its
 * credits at once. Each locks the task owner's account and brings it up to
 * date before reading balances. */
#include <stdio.h>
#include <string.h>
#include "handler.h"
#include "task.h"

enum pf_error
handle_internal_task_create(struct handler_ctx *ctx)
{
	const struct field_value *f = ctx->fields;
	struct account acct;
	struct task task;
	enum pf_error err;

	err = account_lock_current(ctx->db, f[TASK_USER_ID].string, ctx->req->now, &acct);
	if (err == PF_ERR_USER_NOT_FOUND)
		return http_fail(ctx->res, err, "There is no user '%.64s'.", f[TASK_USER_ID].string);
	if (err != PF_OK)
		return err;
	if (acct.suspended)
		return http_fail(ctx->res, PF_ERR_ACCOUNT_SUSPENDED,
		    "This account is suspended: its credits are frozen and cannot be spent.");
	err = task_start(ctx->db, &acct, f[TASK_KIND].string, f[TASK_CREDITS].integer,
	    ctx->req->now, &ctx->actor, &task);
	if (err == PF_ERR_INSUFFICIENT_CREDITS)
		return http_fail(ctx->res, err,
		    "This task needs %lld credits but the account has %lld (%lld included, %lld purchased).",
		    (long long)f[TASK_CREDITS].integer,
		    (long long)(acct.credits.included + acct.credits.purchased),
		    (long long)acct.credits.included, (long long)acct.credits.purchased);
	if (err != PF_OK)
		return err;
	return http_ok(ctx->res, 201, json_pack("{s:o}", "task", task_json(&task)));
}

/* complete (cause NULL) or fail with cause */
static enum pf_error
finish(struct handler_ctx *ctx, const char *cause)
{
	struct account acct;
	struct task task;
	char finished_at[PF_RFC3339_LEN];
	enum pf_error err;

	err = task_load(ctx->db, ctx->req->path_param, NULL, &task);
	if (err == PF_ERR_TASK_NOT_FOUND)
		return http_fail(ctx->res, err, "There is no task '%.64s'.", ctx->req->path_param);
	if (err != PF_OK)
		return err;
	err = account_lock_current(ctx->db, task.user_id, ctx->req->now, &acct);
	/* read again under the owner's lock: a concurrent finish has committed */
	if (err == PF_OK)
		err = task_load(ctx->db, task.id, NULL, &task);
	if (err == PF_ERR_USER_NOT_FOUND || err == PF_ERR_TASK_NOT_FOUND)
		err = PF_ERR_INTERNAL;
	if (err != PF_OK)
		return err;
	err = task_finish(ctx->db, &acct, &task, cause, ctx->req->now, &ctx->actor);
	if (err == PF_ERR_TASK_FINISHED) {
		pf_time_format(task.finished_at, finished_at);
		return http_fail(ctx->res, err, "This task already %s at %s.",
		    strcmp(task.status, "failed") == 0 ? "failed" : "completed", finished_at);
	}
	if (err != PF_OK)
		return err;
	return http_ok(ctx->res, 200, json_pack("{s:o}", "task", task_json(&task)));
}

enum pf_error
handle_internal_task_complete(struct handler_ctx *ctx)
{
	return finish(ctx, NULL);
}

enum pf_error
handle_internal_task_fail(struct handler_ctx *ctx)
{
	return finish(ctx, ctx->fields[TASK_FAIL_CAUSE].string);
}
