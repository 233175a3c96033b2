/* sql_mail.c: the SQL text of enum sql_mail. Times cross the wire as Unix
 * seconds, as in sql_account.c. */
#include "sql_mail.h"

static const struct db_statement statements[SQL_MAIL__MAX] = {
	/* One row per transaction, held by its row lock until its message is
	 * recorded: a second mailer skips it (SKIP LOCKED), and a mailer that
	 * dies releases it with its connection, so the row is sent again,
	 * the one message in flight at most. Only a user's oldest pending row
	 * is eligible, so each user's mail leaves in id order, and a row
	 * waiting out a backoff delays its own user's later rows and nobody
	 * else's. The refund extras (what was charged, which task) are joined
	 * here for the wording. */
	[SQL_MAIL_CLAIM] = {
	    "SELECT o.id, o.user_id, o.event, o.payload::text AS payload,"
	    " extract(epoch FROM o.created_at)::bigint AS created_at,"
	    " o.attempts, o.failures, o.messages_sent, o.messages_failed,"
	    " u.email AS account_email,"
	    " c.description AS charge_description, c.amount_cents AS charge_amount_cents,"
	    " c.currency AS charge_currency, t.kind AS task_kind, t.credits AS task_credits"
	    " FROM outbox o"
	    " LEFT JOIN users u ON u.id = o.user_id"
	    " LEFT JOIN charges c ON c.id = o.payload->'refund_request'->>'charge_id'"
	    " LEFT JOIN tasks t ON t.id = o.payload->'refund_request'->>'task_id'"
	    " WHERE o.delivered_at IS NULL AND o.failed_at IS NULL"
	    " AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= to_timestamp($1))"
	    " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.user_id = o.user_id AND p.id < o.id"
	    " AND p.delivered_at IS NULL AND p.failed_at IS NULL)"
	    " ORDER BY o.id LIMIT 1 FOR UPDATE OF o SKIP LOCKED", 1},
	/* a message handed over (or given up): the next one of the row is
	 * due at once; after the last, the row is delivered, or failed when
	 * any of its messages was given up */
	[SQL_MAIL_MESSAGE_DONE] = {
	    "UPDATE outbox SET attempts = attempts + $6::int, failures = 0, next_attempt_at = NULL,"
	    " messages_sent = messages_sent + 1, messages_failed = messages_failed + $4::int,"
	    " last_error = coalesce($5, last_error),"
	    " delivered_at = CASE WHEN $3::boolean AND messages_failed + $4::int = 0"
	    " THEN to_timestamp($2) END,"
	    " failed_at = CASE WHEN $3::boolean AND messages_failed + $4::int > 0"
	    " THEN to_timestamp($2) END"
	    " WHERE id = $1", 6},
	[SQL_MAIL_RETRY_LATER] = {
	    "UPDATE outbox SET attempts = attempts + 1, failures = failures + 1,"
	    " next_attempt_at = to_timestamp($2), last_error = $3 WHERE id = $1", 3},
	[SQL_MAIL_NEXT_RETRY] = {
	    "SELECT ceil(extract(epoch FROM min(next_attempt_at)))::bigint AS next_at FROM outbox"
	    " WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at > to_timestamp($1)", 1},
	/* in batches, so a large backlog never holds one long transaction */
	[SQL_MAIL_PURGE] = {
	    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
	    " WHERE delivered_at < to_timestamp($1) ORDER BY delivered_at LIMIT $2)", 2},
	[SQL_MAIL_LISTEN] = {"LISTEN outbox_inserted", 0},
	/* the session default (10 s, db.c) is shorter than an SMTP
	 * transaction may take while the row stays locked */
	[SQL_MAIL_SESSION] = {
	    "SELECT set_config('idle_in_transaction_session_timeout', $1, false)", 1},
};

const struct db_catalog sql_mail_catalog = {"m", statements, SQL_MAIL__MAX};
