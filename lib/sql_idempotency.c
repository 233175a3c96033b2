/* sql_idempotency.c: SQL of enum sql_idempotency. A key is scoped to the
 * caller (role + sub) and lives 24 hours. */
#include "sql_idempotency.h"

static const struct db_statement statements[SQL_IDEMPOTENCY__MAX] = {
	/* held until the transaction ends: a second request with the key while
	 * the first still runs cannot take it and answers idempotency_key_in_use */
	[SQL_IDEMPOTENCY_TRY_LOCK] = {
	    "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || ':' || $2 || ':' || $3, 7002))"
	    " AS locked", 3},
	[SQL_IDEMPOTENCY_DROP_EXPIRED] = {
	    "DELETE FROM idempotency_keys WHERE actor_role = $1 AND actor_id = $2 AND key = $3"
	    " AND created_at <= to_timestamp($4) - interval '24 hours'", 4},
	[SQL_IDEMPOTENCY_GET] = {
	    "SELECT method = $4 AND path = $5 AND request IS NOT DISTINCT FROM $6::jsonb AS same_request,"
	    " response_status, response_body FROM idempotency_keys"
	    " WHERE actor_role = $1 AND actor_id = $2 AND key = $3", 6},
	[SQL_IDEMPOTENCY_PUT] = {
	    "INSERT INTO idempotency_keys (actor_role, actor_id, key, method, path, request,"
	    " response_status, response_body, created_at)"
	    " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, to_timestamp($9))", 9},
	[SQL_IDEMPOTENCY_SAVEPOINT] = {"SAVEPOINT pf_handler", 0},
	[SQL_IDEMPOTENCY_ROLLBACK_TO_SAVEPOINT] = {"ROLLBACK TO SAVEPOINT pf_handler", 0},
	[SQL_IDEMPOTENCY_PURGE] = {
	    "DELETE FROM idempotency_keys WHERE created_at <= to_timestamp($1) - interval '24 hours'", 1},
};

const struct db_catalog sql_idempotency_catalog = {"i", statements, SQL_IDEMPOTENCY__MAX};
