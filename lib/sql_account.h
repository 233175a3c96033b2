/* sql_account.h: statements on users, plans, subscriptions, charges they
 * record, the audit trail, the outbox and provider events. */
#ifndef SQL_ACCOUNT_H
#define SQL_ACCOUNT_H

#include "db.h"

enum sql_account {
	SQL_USER_PROVISION,
	SQL_USER_UPDATE_EMAIL,
	SQL_ACCOUNT_LOCK,
	SQL_ACCOUNT_READ,
	SQL_AUDIT_INSERT,
	SQL_OUTBOX_INSERT,
	SQL_PLAN_BY_NAME,
	SQL_SUBSCRIPTION_UPDATE,
	SQL_SUBSCRIPTION_END,
	SQL_INCLUDED_RESET,
	SQL_LEDGER_INSERT,
	SQL_CHARGE_INSERT_PERIOD,
	SQL_SUBSCRIPTION_INSERT,
	SQL_CANCELLATION_FEEDBACK_INSERT,
	SQL_PROVIDER_EVENT_LOCK,
	SQL_PROVIDER_EVENT_GET,
	SQL_PROVIDER_EVENT_PUT,
	SQL_USER_EXISTS,
	SQL_HEALTH,
	SQL_ACCOUNT__MAX
};

extern const struct db_catalog sql_account_catalog;

#endif
