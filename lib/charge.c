/* charge.c: loading, listing, recording and refunding charges. */
#include <stdio.h>
#include <string.h>
#include "charge.h"
#include "credits.h"
#include "policy_refund.h"
#include "sql_refund.h"

void
charge_from_row(const PGresult *res, int row, const char *prefix, struct charge *out)
{
	char kind[16], status[24];

	memset(out, 0, sizeof(*out));
	record_copy_text(res, row, prefix, "id", out->id, sizeof(out->id));
	record_copy_text(res, row, prefix, "user_id", out->user_id, sizeof(out->user_id));
	out->subscription_id = record_int(res, row, prefix, "subscription_id");
	record_copy_text(res, row, prefix, "kind", kind, sizeof(kind));
	out->is_pack = strcmp(kind, "credit_pack") == 0;
	record_copy_text(res, row, prefix, "description", out->description,
	    sizeof(out->description));
	out->amount_cents = record_int(res, row, prefix, "amount_cents");
	record_copy_text(res, row, prefix, "currency", out->currency, sizeof(out->currency));
	out->charged_at = record_int(res, row, prefix, "charged_at");
	out->has_period = !record_is_null(res, row, prefix, "period_start");
	out->period_start = record_int(res, row, prefix, "period_start");
	out->period_end = record_int(res, row, prefix, "period_end");
	out->credits = record_int(res, row, prefix, "credits");
	record_copy_text(res, row, prefix, "status", status, sizeof(status));
	if (charge_status_from_name(status, &out->status) != 0)
		out->status = CHARGE_PAID;
	out->refunded_cents = record_int(res, row, prefix, "refunded_cents");
	out->has_refunded_at = !record_is_null(res, row, prefix, "refunded_at");
	out->refunded_at = record_int(res, row, prefix, "refunded_at");
	out->has_open_request = record_bool(res, row, prefix, "open_request");
}

enum pf_error
charge_load(struct db *db, const char *id, const char *user_id, struct charge *out)
{
	const char *params[1] = {id};
	PGresult *res = NULL;
	enum pf_error err;

	err = db_exec_one(db, &sql_refund_catalog, SQL_CHARGE_GET, params, PF_ERR_CHARGE_NOT_FOUND,
	    &res);
	if (err != PF_OK)
		goto out;
	charge_from_row(res, 0, "", out);
	/* another user's charge answers exactly like a missing one */
	if (user_id != NULL && strcmp(out->user_id, user_id) != 0) {
		memset(out, 0, sizeof(*out));
		err = PF_ERR_CHARGE_NOT_FOUND;
	}
out:
	PQclear(res);
	return err;
}

json_t *
charge_json(const struct charge *c)
{
	json_t *obj = json_pack("{s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:o, s:s, s:I, s:o, s:o}",
	    "id", c->id,
	    "kind", c->is_pack ? "credit_pack" : "subscription",
	    "description", c->description,
	    "amount_cents", (json_int_t)c->amount_cents,
	    "currency", c->currency,
	    "charged_at", record_time_json(c->charged_at),
	    "period_start", c->has_period ? record_time_json(c->period_start) : json_null(),
	    "period_end", c->has_period ? record_time_json(c->period_end) : json_null(),
	    "status", charge_status_name(c->status),
	    "refunded_cents", (json_int_t)c->refunded_cents,
	    "refunded_at", c->has_refunded_at ? record_time_json(c->refunded_at) : json_null(),
	    "refundable_until", record_time_json(policy_refund_window_end(c->charged_at)));

	if (obj != NULL && c->is_pack)
		json_object_set_new(obj, "credits", json_integer(c->credits));
	return obj;
}

struct charge_list_filter {
	pf_time now;
	bool refund_form_only;
};

static json_t *
charge_row_json(const PGresult *res, int row, const void *arg, bool *skip)
{
	const struct charge_list_filter *filter = arg;
	struct charge c;

	charge_from_row(res, row, "", &c);
	*skip = filter->refund_form_only && (c.status != CHARGE_PAID || c.has_open_request ||
	    !policy_refund_within_window(c.charged_at, filter->now));
	return *skip ? NULL : charge_json(&c);
}

enum pf_error
charge_list_json(struct db *db, const char *user_id, pf_time now, bool refund_form_only,
    json_t **out)
{
	const char *params[1] = {user_id};
	const struct charge_list_filter filter = {now, refund_form_only};

	return record_list_json(db, &sql_refund_catalog, SQL_CHARGES_BY_USER, params,
	    charge_row_json, &filter, out);
}

enum pf_error
charge_refund(struct db *db, struct account *acct, struct charge *c, int64_t refund_cents,
    pf_time now, const struct actor *actor)
{
	struct charge_refund r;
	char refunded_text[24], now_text[24];
	const char *params[4];
	json_t *before = NULL, *after = NULL;
	enum pf_error err;

	err = policy_charge_refund(c->amount_cents, c->refunded_cents, refund_cents,
	    c->is_pack ? c->credits : 0, acct->credits.purchased, &r);
	if (err != PF_OK)
		goto out;
	before = charge_json(c);
	record_int_text(refunded_text, sizeof(refunded_text), r.refunded_cents);
	record_int_text(now_text, sizeof(now_text), now);
	params[0] = c->id;
	params[1] = refunded_text;
	params[2] = charge_status_name(r.status);
	params[3] = now_text;
	err = db_exec(db, &sql_refund_catalog, SQL_CHARGE_REFUND, params, NULL);
	if (err != PF_OK)
		goto out;
	c->refunded_cents = r.refunded_cents;
	c->status = r.status;
	c->has_refunded_at = true;
	c->refunded_at = now;
	/* credits of the pack already spent are gone; only what is held goes */
	err = credits_move(db, acct, 0, -r.credits_taken_back, "clawback", c->id, now);
	if (err != PF_OK)
		goto out;
	after = charge_json(c);
	json_object_set_new(after, "refund_cents", json_integer(refund_cents));
	json_object_set_new(after, "credits_taken_back", json_integer(r.credits_taken_back));
	err = audit_write(db, now, actor, "charge.refunded", acct->user_id, before, after);
out:
	json_decref(before);
	json_decref(after);
	return err;
}

/* "Pro plan, monthly subscription 2026-03-14 to 2026-04-14" or
 * "Credit pack, 500 credits". */
static void
describe(const struct charge_new *n, char *buf, size_t len)
{
	char start[PF_RFC3339_LEN] = "", end[PF_RFC3339_LEN] = "";

	if (n->is_pack) {
		snprintf(buf, len, "Credit pack, %lld credits", (long long)n->credits);
		return;
	}
	pf_time_format(n->period_start, start);
	pf_time_format(n->period_end, end);
	start[10] = end[10] = '\0';
	snprintf(buf, len, "%c%.30s plan, monthly subscription %s to %s",
	    n->plan[0] >= 'a' && n->plan[0] <= 'z' ? n->plan[0] - 'a' + 'A' : n->plan[0],
	    n->plan[0] ? n->plan + 1 : "", start, end);
}

enum pf_error
charge_record(struct db *db, struct account *acct, const struct charge_new *n, pf_time now,
    const struct actor *actor, struct charge *out)
{
	char description[CHARGE_DESCRIPTION_MAX + 1], sub_id[24], amount[24], charged[24];
	char start[24], end[24], credits[24], id[RECORD_ID_MAX + 1];
	const char *params[11];
	PGresult *res = NULL;
	json_t *after = NULL;
	enum pf_error err;

	describe(n, description, sizeof(description));
	record_int_text(sub_id, sizeof(sub_id), n->subscription_id);
	record_int_text(amount, sizeof(amount), n->amount_cents);
	record_int_text(charged, sizeof(charged), n->charged_at);
	record_int_text(start, sizeof(start), n->period_start);
	record_int_text(end, sizeof(end), n->period_end);
	record_int_text(credits, sizeof(credits), n->credits);
	params[0] = acct->user_id;
	params[1] = n->is_pack ? NULL : sub_id;
	params[2] = n->is_pack ? "credit_pack" : "subscription";
	params[3] = description;
	params[4] = amount;
	params[5] = n->currency;
	params[6] = charged;
	params[7] = n->is_pack ? NULL : start;
	params[8] = n->is_pack ? NULL : end;
	params[9] = n->is_pack ? credits : NULL;
	params[10] = n->provider_ref;
	err = db_exec(db, &sql_refund_catalog, SQL_CHARGE_INSERT_PROVIDER, params, &res);
	if (err != PF_OK)
		goto out;
	snprintf(id, sizeof(id), "%s", db_text(res, 0, "id"));
	/* a pack's credits are bought even by a suspended account (the provider
	 * took the money); they stay frozen with the rest of its balance */
	if (n->is_pack) {
		err = credits_move(db, acct, 0, n->credits, "pack", id, now);
		if (err != PF_OK)
			goto out;
	}
	err = charge_load(db, id, NULL, out);
	if (err != PF_OK)
		goto out;
	after = charge_json(out);
	err = audit_write(db, now, actor, "charge.recorded", acct->user_id, NULL, after);
out:
	json_decref(after);
	PQclear(res);
	return err;
}
