/* sql_refund.h: statements on charges (the billing history, provider
 * charges, refunds) and refund requests. */
#ifndef SQL_REFUND_H
#define SQL_REFUND_H

#include "db.h"

enum sql_refund {
	SQL_CHARGE_GET,
	SQL_CHARGES_BY_USER,
	SQL_CHARGE_OTHER_PAID_SAME_PERIOD,
	SQL_CHARGE_INSERT_PROVIDER,
	SQL_CHARGE_REFUND,
	SQL_REQUEST_OPEN_EXISTS,
	SQL_REQUEST_INSERT,
	SQL_REQUEST_GET,
	SQL_REQUESTS_BY_USER,
	SQL_REQUESTS_BY_STATUS,
	SQL_REQUEST_DECIDE,
	SQL_USER_SUSPEND,
	SQL_REFUND__MAX
};

/* Rows of SQL_REQUESTS_BY_STATUS at most (the support queue, oldest first). */
#define SQL_SUPPORT_QUEUE_MAX 500

extern const struct db_catalog sql_refund_catalog;

#endif
