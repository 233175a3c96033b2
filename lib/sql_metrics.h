/* sql_metrics.h: the statements behind /metrics' business gauges and
 * /readyz. */
#ifndef SQL_METRICS_H
#define SQL_METRICS_H

#include "db.h"

/* The newest migration in sql/migrations/: /readyz is ready only when the
 * database has it (tests/e2e/test_metrics.py checks that it names the
 * newest file, so a new migration cannot be forgotten here). */
#define SCHEMA_VERSION_EXPECTED "003_outbox_delivery"

enum sql_metrics_stmt {
	SQL_METRICS_GAUGES,
	SQL_SCHEMA_VERSION,
	SQL_METRICS__COUNT
};

extern const struct db_catalog sql_metrics_catalog;

#endif
