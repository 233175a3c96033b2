/* account.c: the account store and the billing-period rollover writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "account.h"
#include "credits.h"
#include "json_text.h"
#include "record.h"
#include "sql_account.h"

enum pf_error
plan_lookup(struct db *db, const char *name, struct plan *out)
{
	const char *params[1] = {name};
	PGresult *res = NULL;
	enum pf_error err;

	err = db_exec_one(db, &sql_account_catalog, SQL_PLAN_BY_NAME, params, PF_ERR_UNKNOWN_PLAN,
	    &res);
	if (err != PF_OK)
		goto out;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", db_text(res, 0, "name"));
	out->rank = (int)db_int(res, 0, "rank");
	out->price_cents = db_int(res, 0, "price_cents");
	snprintf(out->currency, sizeof(out->currency), "%s", db_text(res, 0, "currency"));
	out->included_credits = db_int(res, 0, "included_credits");
out:
	PQclear(res);
	return err;
}

static void
account_from_row(const PGresult *res, struct account *out)
{
	const char *email = db_text(res, 0, "email");
	const char *scheduled = db_text(res, 0, "scheduled_plan");

	memset(out, 0, sizeof(*out));
	snprintf(out->user_id, sizeof(out->user_id), "%s", db_text(res, 0, "id"));
	out->has_email = email != NULL;
	snprintf(out->email, sizeof(out->email), "%s", email ? email : "");
	out->suspended = strcmp(db_text(res, 0, "status"), "suspended") == 0;
	out->credits.included = db_int(res, 0, "included_remaining");
	out->credits.purchased = db_int(res, 0, "purchased_remaining");
	out->credits.included_epoch = db_int(res, 0, "included_epoch");
	out->included_allowance = db_int(res, 0, "included_allowance");
	out->subscription_id = db_int(res, 0, "subscription_id");
	out->sub.paid = out->subscription_id != 0;
	if (!out->sub.paid)
		return;
	snprintf(out->sub.plan, sizeof(out->sub.plan), "%s", db_text(res, 0, "plan"));
	out->sub.plan_rank = (int)db_int(res, 0, "plan_rank");
	out->sub.anchor = db_int(res, 0, "anchor");
	out->sub.period_index = (int)db_int(res, 0, "period_index");
	out->sub.period_start = db_int(res, 0, "period_start");
	out->sub.period_end = db_int(res, 0, "period_end");
	out->sub.cancel_at_period_end = db_bool(res, 0, "cancel_at_period_end");
	if (scheduled != NULL) {
		snprintf(out->sub.scheduled_plan, sizeof(out->sub.scheduled_plan), "%s", scheduled);
		out->sub.scheduled_effective_at = out->sub.period_end;
	}
}

/* Reads the account in its own statement (after the lock, so it sees every
 * change committed before the lock was granted). PF_ERR_USER_NOT_FOUND when
 * there is no such user. */
static enum pf_error
account_read(struct db *db, const char *user_id, struct account *out)
{
	const char *params[1] = {user_id};
	PGresult *res = NULL;
	enum pf_error err;

	err = db_exec_one(db, &sql_account_catalog, SQL_ACCOUNT_READ, params, PF_ERR_USER_NOT_FOUND,
	    &res);
	if (err == PF_OK)
		account_from_row(res, out);
	PQclear(res);
	return err;
}

/* Takes the account's row lock and reads the account in one round trip.
 * The read is its own statement after the lock's, so its snapshot is taken
 * once the lock is granted and it sees what the previous holder committed
 * (one statement joining and locking would read the rows as they were
 * before the wait). *found is false when there is no such user. */
static enum pf_error
account_lock_and_read(struct db *db, const char *user_id, struct account *out, bool *found)
{
	const char *params[1] = {user_id};
	const struct db_call calls[2] = {
		{&sql_account_catalog, SQL_ACCOUNT_LOCK, params},
		{&sql_account_catalog, SQL_ACCOUNT_READ, params},
	};
	PGresult *res[2] = {NULL, NULL};
	enum pf_error err;

	*found = false;
	err = db_exec_batch(db, calls, 2, res);
	if (err != PF_OK)
		goto out;
	if (PQntuples(res[0]) != 1)
		goto out;
	if (PQntuples(res[1]) != 1) {
		err = PF_ERR_INTERNAL;  /* locked but not readable: cannot happen */
		goto out;
	}
	account_from_row(res[1], out);
	*found = true;
out:
	PQclear(res[0]);
	PQclear(res[1]);
	return err;
}

enum pf_error
account_lock(struct db *db, const char *user_id, struct account *out)
{
	bool found;
	enum pf_error err = account_lock_and_read(db, user_id, out, &found);

	if (err == PF_OK && !found)
		err = PF_ERR_USER_NOT_FOUND;
	return err;
}

/* Stores the token's email when it differs from the account's (audited). */
static enum pf_error
account_sync_email(struct db *db, struct account *acct, const char *email, pf_time now,
    const struct actor *actor)
{
	const char *params[2] = {acct->user_id, email};
	json_t *before = NULL, *after = NULL;
	enum pf_error err;

	if (email == NULL || (acct->has_email && strcmp(acct->email, email) == 0))
		return PF_OK;
	err = db_exec(db, &sql_account_catalog, SQL_USER_UPDATE_EMAIL, params, NULL);
	if (err != PF_OK)
		goto out;
	before = json_pack("{s:s?}", "email", acct->has_email ? acct->email : NULL);
	after = json_pack("{s:s}", "email", email);
	err = audit_write(db, now, actor, "user.email_changed", acct->user_id, before, after);
	acct->has_email = true;
	snprintf(acct->email, sizeof(acct->email), "%s", email);
out:
	json_decref(before);
	json_decref(after);
	return err;
}

enum pf_error
account_provision_and_lock(struct db *db, const char *user_id, const char *email, pf_time now,
    const struct actor *actor, struct account *out)
{
	char now_text[24];
	const char *params[3];
	PGresult *res = NULL;
	json_t *after = NULL;
	enum pf_error err;
	bool found;

	/* the common case, an existing user: lock and read, one round trip */
	err = account_lock_and_read(db, user_id, out, &found);
	if (err != PF_OK || found)
		goto sync_email;

	/* Creates the user; a concurrent request creating it too makes this
	 * one wait for that row and lock it (ON CONFLICT DO UPDATE), then it
	 * returns no row. */
	record_int_text(now_text, sizeof(now_text), now);
	params[0] = user_id;
	params[1] = email;
	params[2] = now_text;
	err = db_exec(db, &sql_account_catalog, SQL_USER_PROVISION, params, &res);
	if (err != PF_OK)
		goto out;
	if (PQntuples(res) == 1) {
		after = json_pack("{s:s, s:s?, s:s}", "id", user_id, "email", email, "plan", "free");
		err = audit_write(db, now, actor, "user.provisioned", user_id, NULL, after);
		if (err == PF_OK)
			err = credits_ledger_write(db, user_id, "included",
			    db_int(res, 0, "included_remaining"), "grant", "free", now);
		if (err != PF_OK)
			goto out;
	}
	err = account_read(db, user_id, out);
sync_email:
	if (err == PF_OK)
		err = account_sync_email(db, out, email, now, actor);
out:
	json_decref(after);
	PQclear(res);
	return err;
}

enum pf_error
account_subscription_ended_by_suspension(struct db *db, const char *user_id,
    struct subscription_state *out, int64_t *id)
{
	const char *params[1] = {user_id};
	PGresult *res = NULL;
	enum pf_error err;

	err = db_exec_one(db, &sql_account_catalog, SQL_SUBSCRIPTION_ENDED_BY_SUSPENSION, params,
	    PF_ERR_NO_ACTIVE_SUBSCRIPTION, &res);
	if (err != PF_OK)
		goto out;
	memset(out, 0, sizeof(*out));
	out->paid = true;
	*id = db_int(res, 0, "id");
	snprintf(out->plan, sizeof(out->plan), "%s", db_text(res, 0, "plan"));
	out->plan_rank = (int)db_int(res, 0, "plan_rank");
	out->anchor = db_int(res, 0, "anchor");
	out->period_index = (int)db_int(res, 0, "period_index");
	out->period_start = db_int(res, 0, "period_start");
	out->period_end = db_int(res, 0, "period_end");
out:
	PQclear(res);
	return err;
}

enum pf_error
account_save_subscription(struct db *db, const struct account *acct)
{
	char id[24], index[16], start[24], end[24];
	const char *params[7];

	record_int_text(id, sizeof(id), acct->subscription_id);
	record_int_text(index, sizeof(index), acct->sub.period_index);
	record_int_text(start, sizeof(start), acct->sub.period_start);
	record_int_text(end, sizeof(end), acct->sub.period_end);
	params[0] = id;
	params[1] = acct->sub.plan;
	params[2] = index;
	params[3] = start;
	params[4] = end;
	params[5] = acct->sub.cancel_at_period_end ? "true" : "false";
	params[6] = acct->sub.scheduled_plan[0] ? acct->sub.scheduled_plan : NULL;
	return db_exec(db, &sql_account_catalog, SQL_SUBSCRIPTION_UPDATE, params, NULL);
}

enum pf_error
account_change_subscription(struct db *db, const struct account *acct, pf_time at,
    const struct actor *actor, const char *action, const json_t *before, const json_t *after,
    const char *event, const json_t *payload)
{
	char id[24], index[16], start[24], end[24], at_text[24];
	char *before_text = NULL, *after_text = NULL, *payload_text = NULL;
	const char *params[16];
	enum pf_error err = PF_ERR_INTERNAL;

	record_int_text(id, sizeof(id), acct->subscription_id);
	record_int_text(index, sizeof(index), acct->sub.period_index);
	record_int_text(start, sizeof(start), acct->sub.period_start);
	record_int_text(end, sizeof(end), acct->sub.period_end);
	record_int_text(at_text, sizeof(at_text), at);
	before_text = json_text_compact(before);
	after_text = json_text_compact(after);
	if (event != NULL)
		payload_text = json_text_compact(payload);
	if (before_text == NULL || after_text == NULL || (event != NULL && payload_text == NULL))
		goto out;
	params[0] = id;
	params[1] = acct->sub.plan;
	params[2] = index;
	params[3] = start;
	params[4] = end;
	params[5] = acct->sub.cancel_at_period_end ? "true" : "false";
	params[6] = acct->sub.scheduled_plan[0] ? acct->sub.scheduled_plan : NULL;
	params[7] = at_text;
	params[8] = actor->role;
	params[9] = actor->id;
	params[10] = action;
	params[11] = acct->user_id;
	params[12] = before_text;
	params[13] = after_text;
	params[14] = event;
	params[15] = payload_text;
	/* nothing reads its result: it travels with the next round trip,
	 * usually the COMMIT */
	err = db_defer(db, &sql_account_catalog, SQL_SUBSCRIPTION_CHANGE, params);
out:
	free(before_text);
	free(after_text);
	free(payload_text);
	return err;
}

enum pf_error
account_reset_included(struct db *db, struct account *acct, int64_t allowance, pf_time at,
    const char *ref)
{
	char allowance_text[24];
	const char *params[2];
	PGresult *res = NULL;
	enum pf_error err;

	/* unused included credits do not roll over (policy 2) */
	err = credits_ledger_write(db, acct->user_id, "included", -acct->credits.included,
	    "expire", ref, at);
	if (err != PF_OK)
		goto out;
	err = credits_ledger_write(db, acct->user_id, "included", allowance, "reset", ref, at);
	if (err != PF_OK)
		goto out;
	record_int_text(allowance_text, sizeof(allowance_text), allowance);
	params[0] = acct->user_id;
	params[1] = allowance_text;
	err = db_exec(db, &sql_account_catalog, SQL_INCLUDED_RESET, params, &res);
	if (err != PF_OK)
		goto out;
	acct->credits.included = allowance;
	acct->included_allowance = allowance;
	acct->credits.included_epoch = db_int(res, 0, "included_epoch");
out:
	PQclear(res);
	return err;
}

enum pf_error
account_end_subscription(struct db *db, struct account *acct, pf_time at, const char *cause,
    const struct actor *actor)
{
	char id[24], at_text[24];
	const char *params[3];
	struct plan free_plan;
	json_t *before = NULL, *after = NULL, *payload = NULL;
	enum pf_error err;

	err = plan_lookup(db, "free", &free_plan);
	if (err != PF_OK)
		goto out;
	before = account_subscription_json(acct);
	record_int_text(id, sizeof(id), acct->subscription_id);
	record_int_text(at_text, sizeof(at_text), at);
	params[0] = id;
	params[1] = at_text;
	params[2] = cause;
	err = db_exec(db, &sql_account_catalog, SQL_SUBSCRIPTION_END, params, NULL);
	if (err != PF_OK)
		goto out;
	err = account_reset_included(db, acct, free_plan.included_credits, at, "subscription_ended");
	if (err != PF_OK)
		goto out;
	acct->subscription_id = 0;
	memset(&acct->sub, 0, sizeof(acct->sub));
	after = account_subscription_json(acct);
	err = audit_write(db, at, actor, "subscription.ended", acct->user_id, before, after);
	if (err != PF_OK)
		goto out;
	payload = json_pack("{s:s, s:O, s:o}", "cause", cause, "previous", before,
	    "ended_at", record_time_json(at));
	err = outbox_write(db, at, acct->user_id, "subscription_ended", payload);
out:
	json_decref(before);
	json_decref(after);
	json_decref(payload);
	return err;
}

enum pf_error
account_bill_period(struct db *db, struct account *acct, const struct plan *plan,
    const char *origin, pf_time charged_at)
{
	char sub_id[24], amount[24], charged[24], start[24], end[24];
	char description[160], start_day[PF_RFC3339_LEN], end_day[PF_RFC3339_LEN];
	const char *params[9];
	enum pf_error err;

	record_int_text(sub_id, sizeof(sub_id), acct->subscription_id);
	record_int_text(amount, sizeof(amount), plan->price_cents);
	record_int_text(charged, sizeof(charged), charged_at);
	record_int_text(start, sizeof(start), acct->sub.period_start);
	record_int_text(end, sizeof(end), acct->sub.period_end);
	pf_time_format(acct->sub.period_start, start_day);
	pf_time_format(acct->sub.period_end, end_day);
	start_day[10] = end_day[10] = '\0';
	snprintf(description, sizeof(description), "%c%s plan, monthly subscription %s to %s",
	    plan->name[0] >= 'a' && plan->name[0] <= 'z' ? plan->name[0] - 'a' + 'A' : plan->name[0],
	    plan->name + 1, start_day, end_day);
	params[0] = acct->user_id;
	params[1] = sub_id;
	params[2] = origin;
	params[3] = description;
	params[4] = amount;
	params[5] = plan->currency;
	params[6] = charged;
	params[7] = start;
	params[8] = end;
	err = db_exec(db, &sql_account_catalog, SQL_CHARGE_INSERT_PERIOD, params, NULL);
	if (err != PF_OK)
		return err;
	return account_reset_included(db, acct, plan->included_credits, charged_at, origin);
}

enum pf_error
account_bring_up_to_date(struct db *db, struct account *acct, pf_time now,
    const struct actor *actor, int *steps)
{
	struct rollover_step step;
	struct subscription_state next;
	struct plan plan;
	json_t *before = NULL, *after = NULL, *payload = NULL;
	enum pf_error err = PF_OK;
	int count = 0;

	for (;;) {
		json_decref(before);
		json_decref(after);
		json_decref(payload);
		before = after = payload = NULL;
		policy_rollover_next(&acct->sub, now, &step);
		if (step.kind == ROLLOVER_NONE)
			break;
		count++;
		if (step.kind == ROLLOVER_END) {
			err = account_end_subscription(db, acct, step.at, "cancelled", actor);
			if (err != PF_OK)
				goto out;
			continue;
		}
		err = plan_lookup(db, step.new_plan, &plan);
		if (err != PF_OK)
			goto out;
		before = account_subscription_json(acct);
		policy_rollover_apply(&acct->sub, &step, &next);
		next.plan_rank = plan.rank;
		acct->sub = next;
		err = account_save_subscription(db, acct);
		if (err != PF_OK)
			goto out;
		/* a renewal charge's charged_at is when the cycle records it */
		err = account_bill_period(db, acct, &plan, "renewal", now);
		if (err != PF_OK)
			goto out;
		after = account_subscription_json(acct);
		err = audit_write(db, now, actor,
		    step.kind == ROLLOVER_CHANGE_PLAN ? "subscription.plan_changed" : "subscription.renewed",
		    acct->user_id, before, after);
		if (err != PF_OK)
			goto out;
		payload = json_pack("{s:s, s:o, s:o, s:I, s:s}", "plan", plan.name,
		    "period_start", record_time_json(acct->sub.period_start),
		    "period_end", record_time_json(acct->sub.period_end),
		    "amount_cents", (json_int_t)plan.price_cents, "currency", plan.currency);
		err = outbox_write(db, now, acct->user_id,
		    step.kind == ROLLOVER_CHANGE_PLAN ? "subscription_plan_changed" : "subscription_renewed",
		    payload);
		if (err != PF_OK)
			goto out;
	}
out:
	json_decref(before);
	json_decref(after);
	json_decref(payload);
	if (steps != NULL)
		*steps = count;
	return err;
}

enum pf_error
account_read_without_transaction(struct db *db, const struct auth_identity *identity, pf_time now,
    struct account *out, bool *current)
{
	struct rollover_step step;
	enum pf_error err;

	*current = false;
	err = account_read(db, identity->sub, out);
	if (err == PF_ERR_USER_NOT_FOUND)
		return PF_OK;  /* not provisioned yet: the locked path creates the user */
	if (err != PF_OK)
		return err;
	/* the same tests account_sync_email and account_bring_up_to_date make:
	 * an email that would be updated, a period that would roll over */
	if (identity->has_email && (!out->has_email || strcmp(out->email, identity->email) != 0))
		return PF_OK;
	policy_rollover_next(&out->sub, now, &step);
	*current = step.kind == ROLLOVER_NONE;
	return PF_OK;
}

enum pf_error
account_lock_current(struct db *db, const char *user_id, pf_time now, struct account *out)
{
	const struct actor system = {"system", NULL};
	enum pf_error err;

	err = account_lock(db, user_id, out);
	if (err != PF_OK)
		return err;
	return account_bring_up_to_date(db, out, now, &system, NULL);
}

enum pf_error
account_provision_lock_current(struct db *db, const char *user_id, const char *email,
    pf_time now, const struct actor *actor, struct account *out)
{
	const struct actor system = {"system", NULL};
	enum pf_error err;

	err = account_provision_and_lock(db, user_id, email, now, actor, out);
	if (err != PF_OK)
		return err;
	return account_bring_up_to_date(db, out, now, &system, NULL);
}

enum pf_error
account_lock_current_for_user(struct db *db, const struct auth_identity *identity, pf_time now,
    struct account *out)
{
	const struct actor actor = {"user", identity->sub};

	return account_provision_lock_current(db, identity->sub,
	    identity->has_email ? identity->email : NULL, now, &actor, out);
}

json_t *
account_subscription_json(const struct account *acct)
{
	const struct subscription_state *s = &acct->sub;
	json_t *scheduled;

	if (!s->paid)
		return json_pack("{s:s, s:s, s:n, s:n, s:b, s:n, s:n}",
		    "plan", "free", "status", "active",
		    "current_period_start", "current_period_end",
		    "cancel_at_period_end", 0, "scheduled_change", "renews_at");
	scheduled = s->scheduled_plan[0] ?
	    json_pack("{s:s, s:o}", "plan", s->scheduled_plan, "effective_at",
		record_time_json(s->period_end)) :
	    json_null();
	return json_pack("{s:s, s:s, s:o, s:o, s:b, s:o, s:o}",
	    "plan", s->plan, "status", "active",
	    "current_period_start", record_time_json(s->period_start),
	    "current_period_end", record_time_json(s->period_end),
	    "cancel_at_period_end", s->cancel_at_period_end,
	    "scheduled_change", scheduled,
	    "renews_at", s->cancel_at_period_end ? json_null() : record_time_json(s->period_end));
}

json_t *
account_json(const struct account *acct)
{
	return json_pack("{s:{s:s, s:s?, s:s}, s:o, s:{s:I, s:I, s:o, s:I}}",
	    "user", "id", acct->user_id, "email", acct->has_email ? acct->email : NULL,
	    "status", acct->suspended ? "suspended" : "active",
	    "subscription", account_subscription_json(acct),
	    "credits",
	    "included_remaining", (json_int_t)acct->credits.included,
	    "included_allowance", (json_int_t)acct->included_allowance,
	    "included_resets_at", acct->sub.paid ? record_time_json(acct->sub.period_end) : json_null(),
	    "purchased_remaining", (json_int_t)acct->credits.purchased);
}
