/* db.c: connection lifecycle, statement preparation and execution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db.h"

#define DB_STATEMENT_NAME_MAX 32
#define DB_BATCH_MAX 4
/* BEGIN and COMMIT are prepared too: in a pipeline they are sent like any
 * statement, without a parse each time */
#define DB_BEGIN_NAME "tx_begin"
#define DB_COMMIT_NAME "tx_commit"

static void deferred_clear(struct db *db);

void
db_init(struct db *db, const char *conninfo, int statement_timeout_ms)
{
	memset(db, 0, sizeof(*db));
	db->conninfo = conninfo;
	db->statement_timeout_ms = statement_timeout_ms;
}

void
db_close(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->in_transaction = false;
	deferred_clear(db);
}

static void
statement_name(char *buf, size_t len, const struct db_catalog *catalog, int index)
{
	snprintf(buf, len, "%s%d", catalog->prefix, index);
}

/* An index outside its catalogue would read past the statement array and
 * run whatever statement happens to carry that name. */
static bool
statement_exists(const struct db_catalog *catalog, int index)
{
	return catalog != NULL && index >= 0 && index < catalog->count;
}

static enum pf_error
session_prepare(struct db *db)
{
	/* Timeouts below nginx's fastcgi_read_timeout so a stuck statement
	 * answers 503 instead of pinning a worker. */
	const char *params[1];
	char value[32];
	PGresult *res;
	int i, j;

	snprintf(value, sizeof(value), "%d", db->statement_timeout_ms);
	params[0] = value;
	res = PQexecParams(db->conn,
	    "SELECT set_config('statement_timeout', $1, false),"
	    " set_config('lock_timeout', $1, false),"
	    " set_config('idle_in_transaction_session_timeout', '10000', false),"
	    " set_config('timezone', 'UTC', false)",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "db: session setup failed: %s", PQerrorMessage(db->conn));
		PQclear(res);
		return PF_ERR_UNAVAILABLE;
	}
	PQclear(res);

	for (i = 0; i < 2; i++) {
		res = PQprepare(db->conn, i == 0 ? DB_BEGIN_NAME : DB_COMMIT_NAME,
		    i == 0 ? "BEGIN" : "COMMIT", 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fprintf(stderr, "db: prepare failed: %s", PQerrorMessage(db->conn));
			PQclear(res);
			return PQstatus(db->conn) == CONNECTION_OK ? PF_ERR_INTERNAL : PF_ERR_UNAVAILABLE;
		}
		PQclear(res);
	}
	for (i = 0; db_catalogs[i] != NULL; i++) {
		const struct db_catalog *catalog = db_catalogs[i];
		for (j = 0; j < catalog->count; j++) {
			char name[DB_STATEMENT_NAME_MAX];
			statement_name(name, sizeof(name), catalog, j);
			res = PQprepare(db->conn, name, catalog->statements[j].sql,
			    catalog->statements[j].nparams, NULL);
			if (PQresultStatus(res) != PGRES_COMMAND_OK) {
				fprintf(stderr, "db: prepare %s failed: %s", name,
				    PQerrorMessage(db->conn));
				PQclear(res);
				return PQstatus(db->conn) == CONNECTION_OK ?
				    PF_ERR_INTERNAL : PF_ERR_UNAVAILABLE;
			}
			PQclear(res);
		}
	}
	return PF_OK;
}

enum pf_error
db_ensure(struct db *db)
{
	enum pf_error err;

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return PF_OK;
	db_close(db);
	db->conn = PQconnectdb(db->conninfo);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		/* The message may carry the host but never the password. */
		fprintf(stderr, "db: connect failed: %s",
		    db->conn ? PQerrorMessage(db->conn) : "out of memory\n");
		db_close(db);
		return PF_ERR_UNAVAILABLE;
	}
	err = session_prepare(db);
	if (err != PF_OK)
		db_close(db);
	return err;
}

static void
remember_sqlstate(struct db *db, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(db->last_sqlstate, sizeof(db->last_sqlstate), "%s", state ? state : "");
}

static void
deferred_clear(struct db *db)
{
	int i;

	for (i = 0; i < db->deferred_count; i++)
		free(db->deferred[i].param_text);
	memset(db->deferred, 0, sizeof(db->deferred));
	db->deferred_count = 0;
	db->begin_pending = false;
}

static void
connection_lost(struct db *db, const char *during)
{
	fprintf(stderr, "db: connection lost during %s\n", during);
	db_close(db);  /* drops what was deferred too */
}

/* The error of a failed statement: 57014 query_canceled (statement_timeout)
 * and 55P03 lock_not_available mean the database is there but overloaded,
 * so 503 and the client retries; the rest is internal. */
static enum pf_error
statement_failed(struct db *db, const char *name, const PGresult *res)
{
	remember_sqlstate(db, res);
	if (strcmp(db->last_sqlstate, "57014") == 0 || strcmp(db->last_sqlstate, "55P03") == 0)
		return PF_ERR_UNAVAILABLE;
	if (!db_last_error_retryable(db) && !db_last_error_unique_violation(db))
		fprintf(stderr, "db: %s failed (%s): %s", name, db->last_sqlstate,
		    PQresultErrorMessage(res));
	return PF_ERR_INTERNAL;
}

/* One statement, nothing pending: the plain protocol, no pipeline. */
static enum pf_error
exec_single(struct db *db, const char *name, int nparams, const char *const *params,
    PGresult **out)
{
	PGresult *res;
	ExecStatusType status;
	enum pf_error err = PF_OK;

	res = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
	status = PQresultStatus(res);
	if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
		if (out != NULL) {
			*out = res;
			res = NULL;
		}
	} else if (PQstatus(db->conn) != CONNECTION_OK) {
		connection_lost(db, name);
		err = PF_ERR_UNAVAILABLE;
	} else {
		err = statement_failed(db, name, res);
	}
	PQclear(res);
	return err;
}

/* What one round trip sends, in order: the pending BEGIN, the deferred
 * statements, the calls, and COMMIT when committing. */
struct round_trip_item {
	char name[DB_STATEMENT_NAME_MAX];
	int nparams;
	const char *const *params;
	int call;                  /* index into the caller's calls, or -1 */
	bool is_commit;
};

static int
round_trip_plan(struct db *db, const struct db_call *calls, int ncalls, bool commit,
    struct round_trip_item *items)
{
	int i, n = 0;

	if (db->begin_pending) {
		snprintf(items[n].name, sizeof(items[n].name), "%s", DB_BEGIN_NAME);
		items[n].call = -1;
		n++;
	}
	for (i = 0; i < db->deferred_count; i++) {
		const struct db_deferred *d = &db->deferred[i];
		statement_name(items[n].name, sizeof(items[n].name), d->catalog, d->index);
		items[n].nparams = d->catalog->statements[d->index].nparams;
		items[n].params = d->params;
		items[n].call = -1;
		n++;
	}
	for (i = 0; i < ncalls; i++) {
		statement_name(items[n].name, sizeof(items[n].name), calls[i].catalog, calls[i].index);
		items[n].nparams = calls[i].catalog->statements[calls[i].index].nparams;
		items[n].params = calls[i].params;
		items[n].call = i;
		n++;
	}
	if (commit) {
		snprintf(items[n].name, sizeof(items[n].name), "%s", DB_COMMIT_NAME);
		items[n].call = -1;
		items[n].is_commit = true;
		n++;
	}
	return n;
}

/* Sends the plan in pipeline mode with one Sync and reads every result:
 * one round trip however many statements. After an error the server skips
 * the rest (PGRES_PIPELINE_ABORTED) up to the Sync. */
static enum pf_error
round_trip(struct db *db, const struct db_call *calls, int ncalls, bool commit, PGresult **out)
{
	struct round_trip_item items[DB_DEFERRED_MAX + DB_BATCH_MAX + 2];
	enum pf_error err = PF_OK;
	int i, n, item = 0;

	memset(items, 0, sizeof(items));
	n = round_trip_plan(db, calls, ncalls, commit, items);
	if (PQenterPipelineMode(db->conn) != 1)
		goto lost;
	for (i = 0; i < n; i++)
		if (PQsendQueryPrepared(db->conn, items[i].name, items[i].nparams, items[i].params,
		    NULL, NULL, 0) != 1)
			goto lost;
	if (PQpipelineSync(db->conn) != 1)
		goto lost;
	deferred_clear(db);  /* sent: the parameters are no longer needed */

	/* each item answers one result then NULL; the Sync answers PIPELINE_SYNC */
	for (;;) {
		PGresult *res = PQgetResult(db->conn);
		ExecStatusType status;

		if (res == NULL) {
			if (PQstatus(db->conn) != CONNECTION_OK || ++item > n)
				goto lost;
			continue;
		}
		status = PQresultStatus(res);
		if (status == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (item >= n || PQstatus(db->conn) != CONNECTION_OK) {
			PQclear(res);
			goto lost;
		}
		if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
			if (items[item].is_commit && strcmp(PQcmdStatus(res), "COMMIT") != 0 && err == PF_OK)
				err = PF_ERR_INTERNAL;  /* a COMMIT of an aborted transaction */
			if (items[item].call >= 0 && out != NULL && err == PF_OK) {
				out[items[item].call] = res;
				res = NULL;
			}
		} else if (status != PGRES_PIPELINE_ABORTED && err == PF_OK) {
			err = statement_failed(db, items[item].name, res);
		}
		PQclear(res);
	}
	if (PQexitPipelineMode(db->conn) != 1)
		goto lost;
	goto out;
lost:
	/* the connection is unusable (or in a state we cannot follow): drop it */
	(void)PQexitPipelineMode(db->conn);
	connection_lost(db, n > 0 ? items[n - 1].name : "a round trip");
	err = PF_ERR_UNAVAILABLE;
out:
	if (err != PF_OK && out != NULL)
		for (i = 0; i < ncalls; i++) {
			PQclear(out[i]);
			out[i] = NULL;
		}
	return err;
}

enum pf_error
db_exec_batch(struct db *db, const struct db_call *calls, int n, PGresult **out)
{
	int i;

	if (out != NULL)
		for (i = 0; i < n; i++)
			out[i] = NULL;
	if (n < 1 || n > DB_BATCH_MAX)
		return PF_ERR_INTERNAL;
	for (i = 0; i < n; i++)
		if (!statement_exists(calls[i].catalog, calls[i].index))
			return PF_ERR_INTERNAL;
	if (db->conn == NULL)
		return PF_ERR_UNAVAILABLE;  /* db_close left nothing deferred */
	if (n == 1 && !db->begin_pending && db->deferred_count == 0) {
		char name[DB_STATEMENT_NAME_MAX];
		statement_name(name, sizeof(name), calls[0].catalog, calls[0].index);
		return exec_single(db, name, calls[0].catalog->statements[calls[0].index].nparams,
		    calls[0].params, out);
	}
	return round_trip(db, calls, n, false, out);
}

enum pf_error
db_exec(struct db *db, const struct db_catalog *catalog, int index,
    const char *const *params, PGresult **out)
{
	struct db_call call = {catalog, index, params};

	return db_exec_batch(db, &call, 1, out);
}

enum pf_error
db_exec_one(struct db *db, const struct db_catalog *catalog, int index,
    const char *const *params, enum pf_error not_found, PGresult **out)
{
	PGresult *res = NULL;
	enum pf_error err;

	*out = NULL;
	err = db_exec(db, catalog, index, params, &res);
	if (err == PF_OK && PQntuples(res) != 1)
		err = not_found;
	if (err == PF_OK) {
		*out = res;
		res = NULL;
	}
	PQclear(res);
	return err;
}

enum pf_error
db_defer(struct db *db, const struct db_catalog *catalog, int index, const char *const *params)
{
	struct db_deferred *d;
	int i, nparams;
	size_t total = 0, at = 0;

	if (!statement_exists(catalog, index))
		return PF_ERR_INTERNAL;
	nparams = catalog->statements[index].nparams;
	if (!db->in_transaction || nparams > DB_PARAMS_MAX)
		return PF_ERR_INTERNAL;
	if (db->deferred_count == DB_DEFERRED_MAX)
		return db_exec(db, catalog, index, params, NULL);  /* queue full: send it now */
	for (i = 0; i < nparams; i++)
		if (params[i] != NULL)
			total += strlen(params[i]) + 1;
	d = &db->deferred[db->deferred_count];
	memset(d, 0, sizeof(*d));
	d->param_text = malloc(total > 0 ? total : 1);
	if (d->param_text == NULL)
		return PF_ERR_INTERNAL;
	for (i = 0; i < nparams; i++) {
		size_t len;
		if (params[i] == NULL)
			continue;  /* d->params[i] stays NULL: SQL NULL */
		len = strlen(params[i]) + 1;
		memcpy(d->param_text + at, params[i], len);
		d->params[i] = d->param_text + at;
		at += len;
	}
	d->catalog = catalog;
	d->index = index;
	db->deferred_count++;
	return PF_OK;
}

static enum pf_error
db_command(struct db *db, const char *sql)
{
	PGresult *res;
	enum pf_error err = PF_OK;

	if (db->conn == NULL)
		return PF_ERR_UNAVAILABLE;
	res = PQexec(db->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		remember_sqlstate(db, res);
		err = PQstatus(db->conn) == CONNECTION_OK ? PF_ERR_INTERNAL : PF_ERR_UNAVAILABLE;
		if (err == PF_ERR_UNAVAILABLE)
			db_close(db);
	}
	PQclear(res);
	return err;
}

enum pf_error
db_begin(struct db *db)
{
	if (db->conn == NULL)
		return PF_ERR_UNAVAILABLE;
	deferred_clear(db);
	db->begin_pending = true;
	db->in_transaction = true;
	return PF_OK;
}

enum pf_error
db_commit(struct db *db)
{
	enum pf_error err;

	if (db->conn == NULL) {
		db->in_transaction = false;
		return PF_ERR_UNAVAILABLE;
	}
	if (db->begin_pending && db->deferred_count == 0) {
		deferred_clear(db);  /* nothing was ever sent: nothing to commit */
		db->in_transaction = false;
		return PF_OK;
	}
	err = round_trip(db, NULL, 0, true, NULL);
	/* a deferred statement failed (or COMMIT answered ROLLBACK): end the
	 * failed transaction so the connection is idle again */
	if (err != PF_OK && db->conn != NULL && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		(void)db_command(db, "ROLLBACK");
	db->in_transaction = false;
	return err;
}

void
db_rollback(struct db *db)
{
	deferred_clear(db);
	if (db->conn != NULL && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		(void)db_command(db, "ROLLBACK");
	db->in_transaction = false;
}

bool
db_last_error_retryable(const struct db *db)
{
	return strcmp(db->last_sqlstate, "40001") == 0 || strcmp(db->last_sqlstate, "40P01") == 0;
}

bool
db_last_error_unique_violation(const struct db *db)
{
	return strcmp(db->last_sqlstate, "23505") == 0;
}

const char *
db_text(const PGresult *res, int row, const char *column)
{
	int col = PQfnumber(res, column);
	if (col < 0 || row >= PQntuples(res) || PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

bool
db_is_null(const PGresult *res, int row, const char *column)
{
	return db_text(res, row, column) == NULL;
}

long long
db_int(const PGresult *res, int row, const char *column)
{
	const char *text = db_text(res, row, column);
	return text ? strtoll(text, NULL, 10) : 0;
}

bool
db_bool(const PGresult *res, int row, const char *column)
{
	const char *text = db_text(res, row, column);
	return text != NULL && text[0] == 't';
}
