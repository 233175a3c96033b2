/* sql_account.c: the SQL text of enum sql_account. Times cross the wire as
 * Unix seconds (to_timestamp / extract(epoch)) so C never parses a
 * timestamp string PostgreSQL produced. */
#include "sql_account.h"

#define ACCOUNT_COLUMNS \
	"u.id, u.email, u.status, u.included_remaining, u.included_allowance," \
	" u.included_epoch, u.purchased_remaining," \
	" s.id AS subscription_id, s.plan, p.rank AS plan_rank," \
	" extract(epoch FROM s.anchor)::bigint AS anchor, s.period_index," \
	" extract(epoch FROM s.current_period_start)::bigint AS period_start," \
	" extract(epoch FROM s.current_period_end)::bigint AS period_end," \
	" s.cancel_at_period_end, s.scheduled_plan" \
	" FROM users u" \
	" LEFT JOIN subscriptions s ON s.user_id = u.id AND s.status = 'active'" \
	" LEFT JOIN plans p ON p.name = s.plan" \
	" WHERE u.id = $1"

static const struct db_statement statements[SQL_ACCOUNT__MAX] = {
	/* Creates the user, or takes the row lock of the existing one: an ON
	 * CONFLICT DO UPDATE locks the conflicting row even when its WHERE
	 * updates nothing. Returns a row only when the user was created. */
	[SQL_USER_PROVISION] = {
	    "INSERT INTO users (id, email, created_at, included_remaining, included_allowance)"
	    " SELECT $1, $2, to_timestamp($3), p.included_credits, p.included_credits"
	    " FROM plans p WHERE p.rank = 0"
	    " ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id WHERE false"
	    " RETURNING included_remaining", 3},
	[SQL_USER_UPDATE_EMAIL] = {"UPDATE users SET email = $2 WHERE id = $1", 2},
	[SQL_ACCOUNT_LOCK] = {"SELECT id FROM users WHERE id = $1 FOR UPDATE", 1},
	[SQL_ACCOUNT_READ] = {"SELECT " ACCOUNT_COLUMNS, 1},
	[SQL_AUDIT_INSERT] = {
	    "INSERT INTO audit_log (at, actor_role, actor_id, action, user_id, before, after)"
	    " VALUES (to_timestamp($1), $2, $3, $4, $5, $6::jsonb, $7::jsonb)", 7},
	[SQL_OUTBOX_INSERT] = {
	    "INSERT INTO outbox (created_at, user_id, event, payload)"
	    " VALUES (to_timestamp($1), $2, $3, $4::jsonb)", 4},
	[SQL_PLAN_BY_NAME] = {
	    "SELECT name, rank, price_cents, currency, included_credits FROM plans WHERE name = $1", 1},
	[SQL_SUBSCRIPTION_UPDATE] = {
	    "UPDATE subscriptions SET plan = $2, period_index = $3,"
	    " current_period_start = to_timestamp($4), current_period_end = to_timestamp($5),"
	    " cancel_at_period_end = $6, scheduled_plan = NULLIF($7, '') WHERE id = $1", 7},
	[SQL_SUBSCRIPTION_END] = {
	    "UPDATE subscriptions SET status = 'ended', ended_at = to_timestamp($2), end_cause = $3,"
	    " cancel_at_period_end = false, scheduled_plan = NULL WHERE id = $1", 3},
	[SQL_INCLUDED_RESET] = {
	    "UPDATE users SET included_remaining = $2, included_allowance = $2,"
	    " included_epoch = included_epoch + 1 WHERE id = $1 RETURNING included_epoch", 2},
	[SQL_LEDGER_INSERT] = {
	    "INSERT INTO credit_ledger (user_id, balance, delta, cause, ref, at)"
	    " VALUES ($1, $2, $3, $4, $5, to_timestamp($6))", 6},
	[SQL_CHARGE_INSERT_PERIOD] = {
	    "INSERT INTO charges (id, user_id, subscription_id, kind, origin, description,"
	    " amount_cents, currency, charged_at, period_start, period_end)"
	    " VALUES ('ch_' || replace(gen_random_uuid()::text, '-', ''), $1, $2, 'subscription',"
	    " $3, $4, $5, $6, to_timestamp($7), to_timestamp($8), to_timestamp($9))"
	    " ON CONFLICT (subscription_id, period_start) WHERE origin IN ('checkout', 'renewal')"
	    " DO NOTHING RETURNING id", 9},
	[SQL_SUBSCRIPTION_INSERT] = {
	    "INSERT INTO subscriptions (user_id, plan, status, anchor, period_index,"
	    " current_period_start, current_period_end, provider_ref, started_at)"
	    " VALUES ($1, $2, 'active', to_timestamp($3), 0, to_timestamp($3), to_timestamp($4),"
	    " $5, to_timestamp($3)) RETURNING id", 5},
	[SQL_CANCELLATION_FEEDBACK_INSERT] = {
	    "INSERT INTO cancellation_feedback (subscription_id, user_id, reason, comment, created_at)"
	    " VALUES ($1, $2, $3, $4, to_timestamp($5))", 5},
	/* webhooks of one provider_ref are serialised so a retry racing the
	 * first delivery waits for it and then replays its result */
	[SQL_PROVIDER_EVENT_LOCK] = {"SELECT pg_advisory_xact_lock(hashtextextended($1, 7001))", 1},
	[SQL_PROVIDER_EVENT_GET] = {
	    "SELECT endpoint, response_status, response_body, request = $2::jsonb AS same_request"
	    " FROM provider_events WHERE provider_ref = $1", 2},
	[SQL_PROVIDER_EVENT_PUT] = {
	    "INSERT INTO provider_events (provider_ref, endpoint, request, response_status,"
	    " response_body, created_at) VALUES ($1, $2, $3::jsonb, $4, $5, to_timestamp($6))", 6},
	[SQL_USER_EXISTS] = {"SELECT 1 FROM users WHERE id = $1", 1},
	/* inside the request's transaction: on for a standby (in recovery) and
	 * for a primary fenced with default_transaction_read_only */
	[SQL_HEALTH] = {"SELECT current_setting('transaction_read_only')::boolean AS read_only", 0},
	[SQL_SUBSCRIPTION_ENDED_BY_SUSPENSION] = {
	    "SELECT s.id, s.plan, p.rank AS plan_rank, extract(epoch FROM s.anchor)::bigint AS anchor,"
	    " s.period_index, extract(epoch FROM s.current_period_start)::bigint AS period_start,"
	    " extract(epoch FROM s.current_period_end)::bigint AS period_end"
	    " FROM subscriptions s JOIN plans p ON p.name = s.plan"
	    " WHERE s.user_id = $1 AND s.status = 'ended' AND s.end_cause = 'suspended'"
	    " ORDER BY s.ended_at DESC, s.id DESC LIMIT 1", 1},
	/* A customer's subscription change in one round trip: the row as
	 * SQL_SUBSCRIPTION_UPDATE writes it, its audit row as SQL_AUDIT_INSERT,
	 * and (when $15 is not NULL) its outbox event as SQL_OUTBOX_INSERT. */
	[SQL_SUBSCRIPTION_CHANGE] = {
	    "WITH changed AS (UPDATE subscriptions SET plan = $2, period_index = $3,"
	    " current_period_start = to_timestamp($4), current_period_end = to_timestamp($5),"
	    " cancel_at_period_end = $6, scheduled_plan = NULLIF($7, '') WHERE id = $1),"
	    " audited AS (INSERT INTO audit_log (at, actor_role, actor_id, action, user_id, before, after)"
	    " VALUES (to_timestamp($8), $9, $10, $11, $12, $13::jsonb, $14::jsonb))"
	    " INSERT INTO outbox (created_at, user_id, event, payload)"
	    " SELECT to_timestamp($8), $12, $15::text, $16::jsonb WHERE $15::text IS NOT NULL", 16},
	/* the plans table as operators keep it, for the account page's
	 * downgrade choices: the page never hard-codes plan names */
	[SQL_PLANS_LIST] = {
	    "SELECT name, rank, price_cents, currency, included_credits FROM plans ORDER BY rank", 0},
};

const struct db_catalog sql_account_catalog = {"a", statements, SQL_ACCOUNT__MAX};
