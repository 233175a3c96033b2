/* sql_billing.h: the statements of the billing-cycle command (cmd/): finding
 * the users whose paid period has ended, and taking a user's row lock
 * without waiting for another runner or a request that holds it. */
#ifndef SQL_BILLING_H
#define SQL_BILLING_H

#include "db.h"

enum sql_billing {
	SQL_BILLING_DUE_USERS,      /* $1 now, $2 after user_id, $3 limit, $4 only these (text[] or NULL) */
	SQL_BILLING_TRY_LOCK_USER,  /* $1 user_id: one row when locked, none when another holds it */
	SQL_BILLING__MAX
};

extern const struct db_catalog sql_billing_catalog;

#endif
