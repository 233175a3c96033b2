/* db.c: connection lifecycle, statement preparation and execution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db.h"

#define DB_STATEMENT_NAME_MAX 32

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
}

static void
statement_name(char *buf, size_t len, const struct db_catalog *catalog, int index)
{
	snprintf(buf, len, "%s%d", catalog->prefix, index);
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

enum pf_error
db_exec(struct db *db, const struct db_catalog *catalog, int index,
    const char *const *params, PGresult **out)
{
	char name[DB_STATEMENT_NAME_MAX];
	PGresult *res = NULL;
	ExecStatusType status;
	enum pf_error err = PF_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (db->conn == NULL)
		return PF_ERR_UNAVAILABLE;
	statement_name(name, sizeof(name), catalog, index);
	res = PQexecPrepared(db->conn, name, catalog->statements[index].nparams,
	    params, NULL, NULL, 0);
	status = PQresultStatus(res);
	if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
		if (out != NULL) {
			*out = res;
			res = NULL;
		}
		err = PF_OK;
		goto out;
	}
	remember_sqlstate(db, res);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		fprintf(stderr, "db: connection lost during %s\n", name);
		db_close(db);
		err = PF_ERR_UNAVAILABLE;
		goto out;
	}
	/* 57014 query_canceled (statement_timeout), 55P03 lock_not_available:
	 * the database is there but overloaded; answer 503 so clients retry. */
	if (strcmp(db->last_sqlstate, "57014") == 0 || strcmp(db->last_sqlstate, "55P03") == 0)
		err = PF_ERR_UNAVAILABLE;
	if (!db_last_error_retryable(db) && !db_last_error_unique_violation(db))
		fprintf(stderr, "db: %s failed (%s): %s", name, db->last_sqlstate,
		    PQresultErrorMessage(res));
out:
	PQclear(res);
	return err;
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
	enum pf_error err = db_command(db, "BEGIN");
	if (err == PF_OK)
		db->in_transaction = true;
	return err;
}

enum pf_error
db_commit(struct db *db)
{
	PGresult *res;
	enum pf_error err = PF_OK;

	if (db->conn == NULL)
		return PF_ERR_UNAVAILABLE;
	res = PQexec(db->conn, "COMMIT");
	/* A COMMIT of an aborted transaction answers ROLLBACK without an error. */
	if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		remember_sqlstate(db, res);
		err = PQstatus(db->conn) == CONNECTION_OK ? PF_ERR_INTERNAL : PF_ERR_UNAVAILABLE;
		if (err == PF_ERR_UNAVAILABLE)
			db_close(db);
	}
	PQclear(res);
	db->in_transaction = false;
	return err;
}

void
db_rollback(struct db *db)
{
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
