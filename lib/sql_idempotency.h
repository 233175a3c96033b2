/* sql_idempotency.h: statements of the Idempotency-Key store. */
#ifndef SQL_IDEMPOTENCY_H
#define SQL_IDEMPOTENCY_H

#include "db.h"

enum sql_idempotency {
	SQL_IDEMPOTENCY_TRY_LOCK,
	SQL_IDEMPOTENCY_DROP_EXPIRED,
	SQL_IDEMPOTENCY_GET,
	SQL_IDEMPOTENCY_PUT,
	SQL_IDEMPOTENCY_SAVEPOINT,
	SQL_IDEMPOTENCY_ROLLBACK_TO_SAVEPOINT,
	SQL_IDEMPOTENCY_PURGE,
	SQL_IDEMPOTENCY__MAX
};

extern const struct db_catalog sql_idempotency_catalog;

#endif
