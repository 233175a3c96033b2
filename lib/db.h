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

#define DB_DEFERRED_MAX 8      /* statements waiting for the next round trip */
#define DB_PARAMS_MAX 32

/* A statement whose result nobody reads: it is sent with the transaction's
 * next round trip (the next db_exec or the COMMIT), not on its own. */
struct db_deferred {
	const struct db_catalog *catalog;
	int index;
	char *param_text;                  /* owned: every parameter, NUL-separated */
	const char *params[DB_PARAMS_MAX]; /* into param_text; NULL is SQL NULL */
};

/* SQLSTATE classes the metrics count errors by; the last is the rest. */
#define DB_ERROR_CLASSES 10
extern const char *const db_error_class_names[DB_ERROR_CLASSES];
int db_error_class_index(const char *sqlstate);

/* What happened on a connection since the caller last took these
 * (dispatch folds them into the metrics after each request). */
struct db_counters {
	unsigned long reconnects;
	unsigned long statement_timeouts;   /* 57014, 55P03: the server's own timeouts */
	unsigned long answer_timeouts;      /* no answer in time: the connection dropped */
	unsigned long errors[DB_ERROR_CLASSES];
};

struct db {
	PGconn *conn;               /* NULL while disconnected */
	const char *conninfo;       /* borrowed from the config */
	int statement_timeout_ms;
	bool in_transaction;
	bool begin_pending;         /* BEGIN rides with the transaction's first round trip */
	int deferred_count;
	struct db_deferred deferred[DB_DEFERRED_MAX];
	char last_sqlstate[6];      /* of the last failed statement */
	bool unnamed_statements;    /* behind a transaction pool (db_use_unnamed_statements) */
	bool timed_out;             /* the connection was dropped for want of an answer */
	bool ever_connected;        /* a later connect is a reconnect */
	int round_trips;            /* sent and answered since the caller zeroed it */
	struct db_counters counters;
};

/* For a connection through a pool in transaction mode (PgBouncer's
 * pool_mode=transaction), where consecutive transactions may run on
 * different server connections: no statement is prepared (each is sent
 * unnamed, parsed and planned every time) and no setting is made for the
 * session; the timeouts and the time zone are set at the start of each
 * transaction instead (set_config(..., true), in the same round trip as
 * BEGIN). Call before db_ensure. */
void db_use_unnamed_statements(struct db *db);

/* One statement of a db_exec_batch. */
struct db_call {
	const struct db_catalog *catalog;
	int index;
	const char *const *params;
};

/* Every catalogue the service prepares (db_catalogs.c). */
extern const struct db_catalog *const db_catalogs[];

void db_init(struct db *db, const char *conninfo, int statement_timeout_ms);

/* Connects if needed (libpq's connect_timeout is 2 s unless the conninfo
 * says otherwise), sets the session timeouts and prepares every
 * catalogue. PF_OK or PF_ERR_UNAVAILABLE. */
enum pf_error db_ensure(struct db *db);

void db_close(struct db *db);

/* Runs statement index of catalog with params (NULL entries are SQL NULL).
 * On PF_OK *out (if out != NULL) is the result, owned by the caller (PQclear).
 * Errors: PF_ERR_UNAVAILABLE (connection lost, or no answer within
 * statement_timeout + 1 s, db->timed_out then, or the server refused a
 * write as read-only, 25006: the connection is dropped and re-made by the
 * next db_ensure; a statement or lock timeout: it is kept), PF_ERR_INTERNAL
 * (any other failure; the SQLSTATE is in db->last_sqlstate). Every wait for
 * the server is bounded, including BEGIN/COMMIT/ROLLBACK and the session
 * setup. */
enum pf_error db_exec(struct db *db, const struct db_catalog *catalog, int index,
    const char *const *params, PGresult **out);

/* db_exec for a statement that finds one row: PF_OK with that row in *out
 * (owned by the caller), or not_found (out NULL) when it found none or
 * several. */
enum pf_error db_exec_one(struct db *db, const struct db_catalog *catalog, int index,
    const char *const *params, enum pf_error not_found, PGresult **out);

/* Runs n statements in one round trip (libpq pipeline mode), in order, each
 * with its own snapshot: a statement that waits for a row lock is complete
 * before the next one starts. On PF_OK out[i] (if out != NULL) is statement
 * i's result, owned by the caller; on an error every out[i] is NULL. An index
 * outside its catalogue is PF_ERR_INTERNAL, before anything is sent. */
enum pf_error db_exec_batch(struct db *db, const struct db_call *calls, int n, PGresult **out);

/* Queues a statement whose result the caller does not need (its params are
 * copied); it is sent, in order, ahead of the next statement or with the
 * COMMIT, and its failure is that round trip's failure. Inside a
 * transaction only. */
enum pf_error db_defer(struct db *db, const struct db_catalog *catalog, int index,
    const char *const *params);

/* BEGIN / COMMIT / ROLLBACK. BEGIN is not sent on its own: it rides with
 * the first statement, so a transaction costs no extra round trip for it;
 * the deferred statements ride with the COMMIT. A failed COMMIT leaves the
 * connection idle (rolled back). */
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
