/* sql_metrics.c: see sql_metrics.h. */
#include "sql_metrics.h"

static const struct db_statement statements[SQL_METRICS__COUNT] = {
	/* one statement for every gauge: the partial indexes on undelivered
	 * outbox rows and on refund requests by status keep it cheap */
	[SQL_METRICS_GAUGES] = {
	    "SELECT (SELECT count(*) FROM outbox WHERE delivered_at IS NULL) AS outbox_backlog,"
	    " (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::bigint"
	    "  FROM outbox WHERE delivered_at IS NULL) AS outbox_oldest_seconds,"
	    " (SELECT count(*) FROM refund_requests WHERE status = 'pending') AS refunds_pending,"
	    " (SELECT count(*) FROM refund_requests WHERE status = 'pending' AND respond_by < now())"
	    "  AS refunds_overdue,"
	    " (SELECT count(*) FROM subscriptions WHERE status = 'active' AND current_period_end <= now())"
	    "  AS subscriptions_due", 0},
	[SQL_SCHEMA_VERSION] = {
	    "SELECT max(version) AS version FROM schema_migrations", 0},
};

const struct db_catalog sql_metrics_catalog = {"metrics_", statements, SQL_METRICS__COUNT};
