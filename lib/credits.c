/* credits.c: balance movements and their ledger rows. */
#include "credits.h"
#include "record.h"
#include "sql_account.h"
#include "sql_task.h"

enum pf_error
credits_ledger_write(struct db *db, const char *user_id, const char *balance, int64_t delta,
    const char *cause, const char *ref, pf_time at)
{
	char delta_text[24], at_text[24];
	const char *params[6];

	if (delta == 0)
		return PF_OK;
	record_int_text(delta_text, sizeof(delta_text), delta);
	record_int_text(at_text, sizeof(at_text), at);
	params[0] = user_id;
	params[1] = balance;
	params[2] = delta_text;
	params[3] = cause;
	params[4] = ref;
	params[5] = at_text;
	return db_exec(db, &sql_account_catalog, SQL_LEDGER_INSERT, params, NULL);
}

enum pf_error
credits_move(struct db *db, struct account *acct, int64_t included_delta,
    int64_t purchased_delta, const char *cause, const char *ref, pf_time at)
{
	char included_text[24], purchased_text[24];
	const char *params[3];
	PGresult *res = NULL;
	enum pf_error err = PF_OK;

	if (included_delta == 0 && purchased_delta == 0)
		goto out;
	record_int_text(included_text, sizeof(included_text), included_delta);
	record_int_text(purchased_text, sizeof(purchased_text), purchased_delta);
	params[0] = acct->user_id;
	params[1] = included_text;
	params[2] = purchased_text;
	/* the balances row exists with its user, who is locked */
	err = db_exec_one(db, &sql_task_catalog, SQL_BALANCES_ADD, params, PF_ERR_INTERNAL, &res);
	if (err != PF_OK)
		goto out;
	acct->credits.included = db_int(res, 0, "included_remaining");
	acct->credits.purchased = db_int(res, 0, "purchased_remaining");
	err = credits_ledger_write(db, acct->user_id, "included", included_delta, cause, ref, at);
	if (err == PF_OK)
		err = credits_ledger_write(db, acct->user_id, "purchased", purchased_delta, cause, ref, at);
out:
	PQclear(res);
	return err;
}
