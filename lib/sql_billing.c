/* sql_billing.c: the SQL text of enum sql_billing. Times cross the wire as
 * Unix seconds, as in sql_account.c. */
#include "sql_billing.h"

static const struct db_statement statements[SQL_BILLING__MAX] = {
	/* keyset pagination by user_id: a user that stays due (an error, a
	 * lock held elsewhere) cannot make a batch repeat forever; at most one
	 * active subscription per user (subscriptions_one_live_per_user) */
	[SQL_BILLING_DUE_USERS] = {
	    "SELECT s.user_id FROM subscriptions s"
	    " WHERE s.status = 'active' AND s.current_period_end <= to_timestamp($1)"
	    " AND s.user_id > $2 AND ($4::text[] IS NULL OR s.user_id = ANY ($4::text[]))"
	    " ORDER BY s.user_id LIMIT $3", 4},
	/* the same per-user lock every request takes (account_lock), but a
	 * runner never queues behind another runner or a request */
	[SQL_BILLING_TRY_LOCK_USER] = {
	    "SELECT id FROM users WHERE id = $1 FOR UPDATE SKIP LOCKED", 1},
};

const struct db_catalog sql_billing_catalog = {"b", statements, SQL_BILLING__MAX};
