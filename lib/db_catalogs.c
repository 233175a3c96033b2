/* db_catalogs.c: every SQL catalogue the service prepares on each connection. */
#include <stddef.h>
#include "db.h"
#include "sql_account.h"
#include "sql_billing.h"
#include "sql_idempotency.h"
#include "sql_metrics.h"
#include "sql_mail.h"
#include "sql_refund.h"
#include "sql_task.h"

const struct db_catalog *const db_catalogs[] = {
	&sql_account_catalog,
	&sql_idempotency_catalog,
	&sql_refund_catalog,
	&sql_task_catalog,
	&sql_billing_catalog,
	&sql_metrics_catalog,
	&sql_mail_catalog,
	NULL,
};
