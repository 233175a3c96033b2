/* sql_refund.c: the SQL text of enum sql_refund. Times cross the wire as
 * Unix seconds (to_timestamp / extract(epoch)). Record ids are made by the
 * database: a prefix and a random UUID without dashes. */
#include "sql_refund.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* A charge's columns; P is the alias prefix ("" or "c_") so a charge can be
 * read from a join with a refund request. */
#define CHARGE_COLUMNS(P) \
	"c.id AS " P "id, c.user_id AS " P "user_id, c.subscription_id AS " P "subscription_id," \
	" c.kind AS " P "kind, c.description AS " P "description," \
	" c.amount_cents AS " P "amount_cents, c.currency AS " P "currency," \
	" extract(epoch FROM c.charged_at)::bigint AS " P "charged_at," \
	" extract(epoch FROM c.period_start)::bigint AS " P "period_start," \
	" extract(epoch FROM c.period_end)::bigint AS " P "period_end," \
	" c.credits AS " P "credits, c.status AS " P "status, c.refunded_cents AS " P "refunded_cents," \
	" extract(epoch FROM c.refunded_at)::bigint AS " P "refunded_at," \
	" EXISTS (SELECT 1 FROM refund_requests o WHERE o.charge_id = c.id AND o.status = 'pending')" \
	" AS " P "open_request"

#define TASK_COLUMNS(P) \
	"t.id AS " P "id, t.user_id AS " P "user_id, t.kind AS " P "kind, t.credits AS " P "credits," \
	" t.included_spent AS " P "included_spent, t.purchased_spent AS " P "purchased_spent," \
	" t.included_epoch AS " P "included_epoch, t.status AS " P "status," \
	" t.failure_cause AS " P "failure_cause, t.credits_returned AS " P "credits_returned," \
	" extract(epoch FROM t.created_at)::bigint AS " P "created_at," \
	" extract(epoch FROM t.finished_at)::bigint AS " P "finished_at," \
	" EXISTS (SELECT 1 FROM refund_requests o WHERE o.task_id = t.id AND o.status = 'pending')" \
	" AS " P "open_request"

#define REQUEST_COLUMNS \
	"r.id, r.user_id, r.charge_id, r.task_id, r.reason, r.description, r.email, r.status," \
	" extract(epoch FROM r.submitted_at)::bigint AS submitted_at," \
	" extract(epoch FROM r.respond_by)::bigint AS respond_by," \
	" extract(epoch FROM r.decided_at)::bigint AS decided_at," \
	" r.decided_by, r.decision_note, r.refunded_cents, u.email AS account_email"

/* A request with its account's address and its record (c_* or t_*). */
#define REQUEST_FROM \
	" FROM refund_requests r JOIN users u ON u.id = r.user_id" \
	" LEFT JOIN charges c ON c.id = r.charge_id LEFT JOIN tasks t ON t.id = r.task_id"

static const struct db_statement statements[SQL_REFUND__MAX] = {
	[SQL_CHARGE_GET] = {"SELECT " CHARGE_COLUMNS("") " FROM charges c WHERE c.id = $1", 1},
	[SQL_CHARGES_BY_USER] = {
	    "SELECT " CHARGE_COLUMNS("") " FROM charges c WHERE c.user_id = $1"
	    " ORDER BY c.charged_at DESC, c.seq DESC", 1},
	/* another charge for the same subscription period still paid: the one
	 * a duplicate_charge request names is then a second payment */
	[SQL_CHARGE_OTHER_PAID_SAME_PERIOD] = {
	    "SELECT EXISTS (SELECT 1 FROM charges c JOIN charges o"
	    " ON o.subscription_id = c.subscription_id AND o.period_start = c.period_start"
	    " WHERE c.id = $1 AND c.kind = 'subscription' AND o.kind = 'subscription'"
	    " AND o.id <> c.id AND o.status = 'paid') AS other_paid", 1},
	[SQL_CHARGE_INSERT_PROVIDER] = {
	    "INSERT INTO charges (id, user_id, subscription_id, kind, origin, description,"
	    " amount_cents, currency, charged_at, period_start, period_end, credits, provider_ref)"
	    " VALUES ('ch_' || replace(gen_random_uuid()::text, '-', ''), $1, $2, $3, 'provider',"
	    " $4, $5, $6, to_timestamp($7), to_timestamp($8), to_timestamp($9), $10, $11)"
	    " RETURNING id", 11},
	[SQL_CHARGE_REFUND] = {
	    "UPDATE charges SET refunded_cents = $2, status = $3, refunded_at = to_timestamp($4)"
	    " WHERE id = $1", 4},
	[SQL_REQUEST_OPEN_EXISTS] = {
	    "SELECT EXISTS (SELECT 1 FROM refund_requests WHERE status = 'pending'"
	    " AND (charge_id = $1 OR task_id = $2)) AS open_request", 2},
	[SQL_REQUEST_INSERT] = {
	    "INSERT INTO refund_requests (id, user_id, charge_id, task_id, reason, description,"
	    " email, status, submitted_at, respond_by)"
	    " VALUES ('rr_' || replace(gen_random_uuid()::text, '-', ''), $1, $2, $3, $4, $5, $6,"
	    " 'pending', to_timestamp($7), to_timestamp($8)) RETURNING id", 8},
	[SQL_REQUEST_GET] = {
	    "SELECT " REQUEST_COLUMNS ", " CHARGE_COLUMNS("c_") ", " TASK_COLUMNS("t_")
	    REQUEST_FROM " WHERE r.id = $1", 1},
	[SQL_REQUESTS_BY_USER] = {
	    "SELECT " REQUEST_COLUMNS ", " CHARGE_COLUMNS("c_") ", " TASK_COLUMNS("t_")
	    REQUEST_FROM " WHERE r.user_id = $1 ORDER BY r.submitted_at DESC, r.seq DESC", 1},
	[SQL_REQUESTS_BY_STATUS] = {
	    "SELECT " REQUEST_COLUMNS ", " CHARGE_COLUMNS("c_") ", " TASK_COLUMNS("t_")
	    REQUEST_FROM " WHERE r.status = $1 ORDER BY r.submitted_at, r.seq"
	    " LIMIT " STRINGIFY(SQL_SUPPORT_QUEUE_MAX), 1},
	[SQL_REQUEST_DECIDE] = {
	    "UPDATE refund_requests SET status = $2, decided_at = to_timestamp($3), decided_by = $4,"
	    " decision_note = $5, refunded_cents = $6 WHERE id = $1 AND status = 'pending'", 6},
	[SQL_USER_SUSPEND] = {
	    "UPDATE users SET status = 'suspended', suspended_at = to_timestamp($2),"
	    " suspension_note = $3 WHERE id = $1 AND status = 'active'", 3},
};

const struct db_catalog sql_refund_catalog = {"r", statements, SQL_REFUND__MAX};
