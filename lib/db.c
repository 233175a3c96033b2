/* db.c: connection lifecycle, statement preparation and execution. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "db.h"
#include "log.h"
#include "monotonic.h"

#define DB_STATEMENT_NAME_MAX 32
#define DB_BATCH_MAX 4
/* BEGIN and COMMIT are prepared too: in a pipeline they are sent like any
 * statement, without a parse each time */
#define DB_BEGIN_NAME "tx_begin"
#define DB_COMMIT_NAME "tx_commit"
/* the session's settings, made once per connection, or per transaction
 * (is_local true) behind a transaction pool */
#define DB_SETTINGS_SQL(is_local) \
	"SELECT set_config('statement_timeout', $1, " is_local ")," \
	" set_config('lock_timeout', $1, " is_local ")," \
	" set_config('idle_in_transaction_session_timeout', '10000', " is_local ")," \
	" set_config('timezone', 'UTC', " is_local ")"
#define DB_SETTINGS_NAME "tx_settings"
/* How much longer than statement_timeout an answer may take to arrive.
 * statement_timeout and lock_timeout run on the server and count only its
 * own work: a link that delivers nothing (a partition, a stalled proxy)
 * ends no timer there, and libpq would wait until TCP gives up, hours
 * later, with the worker thread pinned. Past the margin the connection is
 * dropped and the request answers 503. */
#define DB_ANSWER_MARGIN_MS 1000
/* libpq's connect_timeout unless the conninfo sets its own: without one a
 * silent server holds PQconnectdb for ever */
#define DB_CONNECT_TIMEOUT "2"

static void deferred_clear(struct db *db);

const char *const db_error_class_names[DB_ERROR_CLASSES] = {
	"08", "22", "23", "40", "42", "53", "55", "57", "XX", "other",
};

int
db_error_class_index(const char *sqlstate)
{
	int i;

	for (i = 0; i < DB_ERROR_CLASSES - 1; i++)
		if (sqlstate != NULL && strncmp(sqlstate, db_error_class_names[i], 2) == 0)
			return i;
	return DB_ERROR_CLASSES - 1;
}

/* A libpq message without its trailing newline, for a log field. */
static void
log_libpq_message(struct log_line *line, const char *message)
{
	char text[256];
	size_t n;

	snprintf(text, sizeof(text), "%s", message != NULL ? message : "");
	n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	log_str(line, "message", text);
}

static void
log_db_failure(enum log_level level, const char *event, const char *during, const char *message)
{
	struct log_line line;

	if (!log_enabled(level))
		return;
	log_begin(&line, level, event);
	log_str(&line, "during", during);
	log_libpq_message(&line, message);
	log_end(&line);
}
static PGresult *exec_bounded(struct db *db, int sent);
static enum pf_error answer_timed_out(struct db *db, const char *during);

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

void
db_use_unnamed_statements(struct db *db)
{
	db->unnamed_statements = true;
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

	if (db->unnamed_statements)
		return PF_OK;   /* set per transaction; nothing is prepared */
	snprintf(value, sizeof(value), "%d", db->statement_timeout_ms);
	params[0] = value;
	res = exec_bounded(db, PQsendQueryParams(db->conn, DB_SETTINGS_SQL("false"),
	    1, NULL, params, NULL, NULL, 0));
	if (res == NULL)
		return answer_timed_out(db, "session setup");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_db_failure(LOG_ERROR, "db_setup_failed", "session setup", PQerrorMessage(db->conn));
		PQclear(res);
		return PF_ERR_UNAVAILABLE;
	}
	PQclear(res);

	for (i = 0; i < 2; i++) {
		res = exec_bounded(db, PQsendPrepare(db->conn, i == 0 ? DB_BEGIN_NAME : DB_COMMIT_NAME,
		    i == 0 ? "BEGIN" : "COMMIT", 0, NULL));
		if (res == NULL)
			return answer_timed_out(db, "prepare");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_db_failure(LOG_ERROR, "db_setup_failed", "prepare", PQerrorMessage(db->conn));
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
			res = exec_bounded(db, PQsendPrepare(db->conn, name,
			    catalog->statements[j].sql, catalog->statements[j].nparams, NULL));
			if (res == NULL)
				return answer_timed_out(db, name);
			if (PQresultStatus(res) != PGRES_COMMAND_OK) {
				log_db_failure(LOG_ERROR, "db_setup_failed", name, PQerrorMessage(db->conn));
				PQclear(res);
				return PQstatus(db->conn) == CONNECTION_OK ?
				    PF_ERR_INTERNAL : PF_ERR_UNAVAILABLE;
			}
			PQclear(res);
		}
	}
	return PF_OK;
}

/* libpq's notices (a WARNING, the FATAL a backend sends when it is
 * terminated between statements) would go to stderr as plain text: they go
 * to the log as JSON lines instead. */
static void
notice_to_log(void *arg, const char *message)
{
	(void)arg;
	log_db_failure(LOG_WARN, "db_notice", "a notice from the server", message);
}

/* PQconnectdbParams() with the notice processor in place from the start.
 * A server message that arrives as the connection is being made (a backend
 * terminated just after it said it was ready: "FATAL: terminating
 * connection due to administrator command") is parsed inside the connect
 * call, and libpq's default processor would print it on stderr, which is
 * the JSON log. So the connection is started without waiting
 * (PQconnectStartParams), the processor set, and PQreset() makes it as
 * PQconnectdbParams would: blocking, with connect_timeout per host and the
 * next host of a multi-host conninfo tried, the processor kept. The cost is
 * the started attempt it abandons: one connect the server sees close
 * before its startup packet (no log line there), per connection made. */
static PGconn *
connect_with_notices_logged(const char *const *keys, const char *const *values)
{
	PGconn *conn = PQconnectStartParams(keys, values, 1);

	if (conn == NULL)
		return NULL;
	PQsetNoticeProcessor(conn, notice_to_log, NULL);
	if (PQstatus(conn) != CONNECTION_BAD)
		PQreset(conn);
	return conn;
}

enum pf_error
db_ensure(struct db *db)
{
	/* the conninfo comes after the default, so its own connect_timeout wins */
	static const char *const keys[] = {"connect_timeout", "dbname", NULL};
	const char *values[3] = {DB_CONNECT_TIMEOUT, db->conninfo, NULL};
	enum pf_error err;

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return PF_OK;
	db_close(db);
	db->timed_out = false;
	db->conn = connect_with_notices_logged(keys, values);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		/* The message may carry the host but never the password. */
		log_db_failure(LOG_WARN, "db_connect_failed", "connect",
		    db->conn ? PQerrorMessage(db->conn) : "out of memory");
		db_close(db);
		return PF_ERR_UNAVAILABLE;
	}
	err = session_prepare(db);
	if (err != PF_OK) {
		db_close(db);
		return err;
	}
	if (db->ever_connected) {
		db->counters.reconnects++;
		log_message(LOG_INFO, "db_reconnected", "a new database connection replaces a lost one");
	}
	db->ever_connected = true;
	return PF_OK;
}

static void
remember_sqlstate(struct db *db, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(db->last_sqlstate, sizeof(db->last_sqlstate), "%s", state ? state : "");
}

/* Waits until PQgetResult will not block: false when nothing came within
 * statement_timeout + DB_ANSWER_MARGIN_MS. A broken connection counts as
 * ready: PQgetResult reports it without waiting. */
static bool
await_answer(struct db *db)
{
	long long deadline = monotonic_ms() + db->statement_timeout_ms + DB_ANSWER_MARGIN_MS;

	while (PQisBusy(db->conn)) {
		struct pollfd pfd = {PQsocket(db->conn), POLLIN, 0};
		long long left = deadline - monotonic_ms();
		int n;

		if (left <= 0)
			return false;
		if (pfd.fd < 0)
			return true;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return true;
		if (n > 0 && PQconsumeInput(db->conn) != 1)
			return true;
	}
	return true;
}

/* PQexec's wait for what was just sent (sent: what PQsendQuery* returned),
 * bounded: NULL when no answer came in time. As with PQexec, the first
 * error wins, else the last result. */
static PGresult *
exec_bounded(struct db *db, int sent)
{
	PGresult *res, *last = NULL;

	if (sent != 1)
		return PQmakeEmptyPGresult(db->conn, PGRES_FATAL_ERROR);
	db->round_trips++;
	for (;;) {
		if (!await_answer(db)) {
			PQclear(last);
			return NULL;
		}
		res = PQgetResult(db->conn);
		if (res == NULL)
			break;
		if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
			PQclear(res);
			continue;
		}
		PQclear(last);
		last = res;
	}
	return last != NULL ? last : PQmakeEmptyPGresult(db->conn, PGRES_FATAL_ERROR);
}

/* The server (or the link to it) went silent: whatever it was doing, the
 * connection is in a state we cannot follow, so it goes. */
static enum pf_error
answer_timed_out(struct db *db, const char *during)
{
	struct log_line line;

	if (log_enabled(LOG_WARN)) {
		log_begin(&line, LOG_WARN, "db_no_answer");
		log_str(&line, "during", during);
		log_int(&line, "waited_ms", db->statement_timeout_ms + DB_ANSWER_MARGIN_MS);
		log_end(&line);
	}
	db->counters.answer_timeouts++;
	db_close(db);
	db->timed_out = true;
	return PF_ERR_UNAVAILABLE;
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
	log_db_failure(LOG_WARN, "db_connection_lost", during,
	    db->conn != NULL ? PQerrorMessage(db->conn) : NULL);
	db->counters.errors[db_error_class_index("08")]++;
	db_close(db);  /* drops what was deferred too */
}

/* True when the last failure was 25006 read_only_sql_transaction: the
 * server no longer takes writes (a primary fenced with
 * default_transaction_read_only for a switchover, or one that came back as
 * a standby). The connection is then dropped like a lost one, so the next
 * attempt connects again and, with target_session_attrs=read-write, finds
 * the server that does take them. */
static bool
last_error_read_only(const struct db *db)
{
	return strcmp(db->last_sqlstate, "25006") == 0;
}

/* The error of a failed statement: 57014 query_canceled (statement_timeout)
 * and 55P03 lock_not_available mean the database is there but overloaded,
 * and 25006 that this server is not the one to write to, so 503 and the
 * client retries; the rest is internal. */
static enum pf_error
statement_failed(struct db *db, const char *name, const PGresult *res)
{
	bool timeout, expected;
	enum log_level level;

	remember_sqlstate(db, res);
	timeout = strcmp(db->last_sqlstate, "57014") == 0 || strcmp(db->last_sqlstate, "55P03") == 0;
	/* a retry or a unique key's "already there" is part of normal work */
	expected = db_last_error_retryable(db) || db_last_error_unique_violation(db);
	db->counters.errors[db_error_class_index(db->last_sqlstate)]++;
	if (timeout)
		db->counters.statement_timeouts++;
	level = expected ? LOG_INFO : timeout || last_error_read_only(db) ? LOG_WARN : LOG_ERROR;
	if (log_enabled(level)) {
		struct log_line line;

		/* the primary message only: DETAIL may quote a row's values */
		log_begin(&line, level, "db_error");
		log_str(&line, "statement", name);
		log_str(&line, "sqlstate", db->last_sqlstate);
		log_libpq_message(&line, res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL);
		log_end(&line);
	}
	if (timeout)
		return PF_ERR_UNAVAILABLE;
	if (last_error_read_only(db)) {
		/* a fenced primary, or one back as a standby: the next attempt's
		 * db_ensure finds the read-write server (the conninfo's
		 * target_session_attrs) */
		log_message(LOG_WARN, "db_read_only", "the server is read-only; reconnecting");
		return PF_ERR_UNAVAILABLE;
	}
	return PF_ERR_INTERNAL;
}

/* One statement, nothing pending: the plain protocol, no pipeline. */
static enum pf_error
exec_single(struct db *db, const char *name, const char *sql, int nparams,
    const char *const *params, PGresult **out)
{
	PGresult *res;
	ExecStatusType status;
	enum pf_error err = PF_OK;

	res = exec_bounded(db, db->unnamed_statements ?
	    PQsendQueryParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0) :
	    PQsendQueryPrepared(db->conn, name, nparams, params, NULL, NULL, 0));
	if (res == NULL)
		return answer_timed_out(db, name);
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
	if (err == PF_ERR_UNAVAILABLE && db->conn != NULL && last_error_read_only(db))
		db_close(db);
	return err;
}

/* What one round trip sends, in order: the pending BEGIN, the deferred
 * statements, the calls, and COMMIT when committing. */
struct round_trip_item {
	char name[DB_STATEMENT_NAME_MAX];
	const char *sql;           /* what is sent when statements are unnamed */
	int nparams;
	const char *const *params;
	int call;                  /* index into the caller's calls, or -1 */
	bool is_commit;
};

static int
round_trip_plan(struct db *db, const struct db_call *calls, int ncalls, bool commit,
    const char *const *settings, struct round_trip_item *items)
{
	int i, n = 0;

	if (db->begin_pending) {
		snprintf(items[n].name, sizeof(items[n].name), "%s", DB_BEGIN_NAME);
		items[n].sql = "BEGIN";
		items[n].call = -1;
		n++;
		if (db->unnamed_statements) {
			snprintf(items[n].name, sizeof(items[n].name), "%s", DB_SETTINGS_NAME);
			items[n].sql = DB_SETTINGS_SQL("true");
			items[n].nparams = 1;
			items[n].params = settings;
			items[n].call = -1;
			n++;
		}
	}
	for (i = 0; i < db->deferred_count; i++) {
		const struct db_deferred *d = &db->deferred[i];
		statement_name(items[n].name, sizeof(items[n].name), d->catalog, d->index);
		items[n].sql = d->catalog->statements[d->index].sql;
		items[n].nparams = d->catalog->statements[d->index].nparams;
		items[n].params = d->params;
		items[n].call = -1;
		n++;
	}
	for (i = 0; i < ncalls; i++) {
		statement_name(items[n].name, sizeof(items[n].name), calls[i].catalog, calls[i].index);
		items[n].sql = calls[i].catalog->statements[calls[i].index].sql;
		items[n].nparams = calls[i].catalog->statements[calls[i].index].nparams;
		items[n].params = calls[i].params;
		items[n].call = i;
		n++;
	}
	if (commit) {
		snprintf(items[n].name, sizeof(items[n].name), "%s", DB_COMMIT_NAME);
		items[n].sql = "COMMIT";
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
	/* BEGIN, the settings, the deferred, the calls, COMMIT */
	struct round_trip_item items[DB_DEFERRED_MAX + DB_BATCH_MAX + 3];
	enum pf_error err = PF_OK;
	char timeout[32];
	const char *settings[1] = {timeout};
	int i, n, item = 0;

	memset(items, 0, sizeof(items));
	snprintf(timeout, sizeof(timeout), "%d", db->statement_timeout_ms);
	n = round_trip_plan(db, calls, ncalls, commit, settings, items);
	if (PQenterPipelineMode(db->conn) != 1)
		goto lost;
	for (i = 0; i < n; i++)
		if ((db->unnamed_statements ?
		    PQsendQueryParams(db->conn, items[i].sql, items[i].nparams, NULL, items[i].params,
		    NULL, NULL, 0) :
		    PQsendQueryPrepared(db->conn, items[i].name, items[i].nparams, items[i].params,
		    NULL, NULL, 0)) != 1)
			goto lost;
	if (PQpipelineSync(db->conn) != 1)
		goto lost;
	db->round_trips++;
	deferred_clear(db);  /* sent: the parameters are no longer needed */

	/* each item answers one result then NULL; the Sync answers PIPELINE_SYNC */
	for (;;) {
		PGresult *res;
		ExecStatusType status;

		if (!await_answer(db))
			goto timed_out;
		res = PQgetResult(db->conn);
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
	if (err == PF_ERR_UNAVAILABLE && last_error_read_only(db))
		db_close(db);  /* the server is read-only: the transaction dies with the connection */
	goto out;
lost:
	/* the connection is unusable (or in a state we cannot follow): drop it */
	(void)PQexitPipelineMode(db->conn);
	connection_lost(db, n > 0 ? items[n - 1].name : "a round trip");
	err = PF_ERR_UNAVAILABLE;
	goto out;
timed_out:
	err = answer_timed_out(db, n > 0 ? items[n - 1].name : "a round trip");
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
		return exec_single(db, name, calls[0].catalog->statements[calls[0].index].sql,
		    calls[0].catalog->statements[calls[0].index].nparams, calls[0].params, out);
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
	res = exec_bounded(db, PQsendQuery(db->conn, sql));
	if (res == NULL)
		return answer_timed_out(db, sql);
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
