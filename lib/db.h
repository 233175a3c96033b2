/* db.h: one PostgreSQL connection per worker, with every statement of the
 * SQL catalogue prepared once per connection. All SQL goes through
 * db_exec with out-of-line parameters; nothing is ever built with printf. */
#ifndef DB_H
#define DB_H

#include <stdbool.h>
#include <libpq-fe.h>
#include "pf_error.h"

struct db_statement {
	const char *sql;   /* with $n placeholders */
	int nparams;
};

/* One area's statements; declared in sql_*.c files, named "<prefix><index>". */
struct db_catalog {
	const char *prefix;
	const struct db_statement *statements;
	int count;
};

struct db {
	PGconn *conn;               /* NULL while disconnected */
	const char *conninfo;       /* borrowed from the config */
	int statement_timeout_ms;
	bool in_transaction;
	char last_sqlstate[6];      /* of the last failed statement */
};

/* Every catalogue the service prepares (db_catalogs.c). */
extern const struct db_catalog *const db_catalogs[];

void db_init(struct db *db, const char *conninfo, int statement_timeout_ms);

/* Connects if needed, sets the session timeouts and prepares every
 * catalogue. PF_OK or PF_ERR_UNAVAILABLE. */
enum pf_error db_ensure(struct db *db);

void db_close(struct db *db);

/* Runs statement index of catalog with params (NULL entries are SQL NULL).
 * On PF_OK *out (if out != NULL) is the result, owned by the caller (PQclear).
 * Errors: PF_ERR_UNAVAILABLE (connection lost; the connection is dropped and
 * re-made by the next db_ensure), PF_ERR_INTERNAL (any other failure; the
 * SQLSTATE is in db->last_sqlstate). */
enum pf_error db_exec(struct db *db, const struct db_catalog *catalog, int index,
    const char *const *params, PGresult **out);

/* BEGIN / COMMIT / ROLLBACK. */
enum pf_error db_begin(struct db *db);
enum pf_error db_commit(struct db *db);
void db_rollback(struct db *db);

/* True when the last failure was a serialization failure or deadlock,
 * which the dispatcher retries. */
bool db_last_error_retryable(const struct db *db);
/* True when the last failure was a unique violation (23505). */
bool db_last_error_unique_violation(const struct db *db);

/* Column access by name (PQfnumber), for the row-th row. */
const char *db_text(const PGresult *res, int row, const char *column);  /* NULL for SQL NULL */
bool db_is_null(const PGresult *res, int row, const char *column);
long long db_int(const PGresult *res, int row, const char *column);      /* 0 for NULL */
bool db_bool(const PGresult *res, int row, const char *column);

#endif
