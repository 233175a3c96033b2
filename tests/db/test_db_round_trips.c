/* test_db_round_trips.c: lib/db.c against a real PostgreSQL (PF_DATABASE):
 * the deferred BEGIN, batches (several statements, one round trip) and
 * deferred statements that travel with the next round trip or the COMMIT.
 * What matters for money: a batch's read sees what the lock's previous
 * holder committed; a deferred statement that fails fails its COMMIT and
 * leaves nothing behind; a rollback drops what was deferred; a lost
 * connection is reported as such; a server that goes silent (its backend
 * stopped with SIGSTOP: bytes are taken, nothing comes back) or never
 * answers the connect is given up in bounded time. run-all.sh runs it
 * while its stack is up. */
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "db.h"
#include "sql_account.h"
#include "../unit/unit.h"

static const char *conninfo;
static PGconn *check_conn;   /* a plain connection to look at what was committed */
static char user_id[64];

static long long
scalar(const char *sql, const char *param)
{
	const char *params[1] = {param};
	PGresult *res = PQexecParams(check_conn, sql, param ? 1 : 0, NULL, params, NULL, NULL, 0);
	long long value = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		value = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		fprintf(stderr, "check query failed: %s", PQerrorMessage(check_conn));
	PQclear(res);
	return value;
}

static long long
audit_rows(const char *action)
{
	return scalar("SELECT count(*) FROM audit_log WHERE action = $1", action);
}

/* The cases count audit rows by action: start them from none. */
static void
forget_test_audit_rows(void)
{
	PGresult *res = PQexec(check_conn, "DELETE FROM audit_log WHERE action LIKE 'dbtest.%'");

	UNIT_EQ_INT(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
}

static void
audit_params(const char *params[7], const char *role, const char *action)
{
	params[0] = "1700000000";
	params[1] = role;
	params[2] = user_id;
	params[3] = action;
	params[4] = user_id;
	params[5] = NULL;
	params[6] = "{}";
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

struct waiter {
	struct db db;
	enum pf_error err;
	char email[128];
};

/* Locks and reads the user in one batch, as account_lock does. */
static void *
lock_and_read(void *arg)
{
	struct waiter *w = arg;
	const char *params[1] = {user_id};
	const struct db_call calls[2] = {
		{&sql_account_catalog, SQL_ACCOUNT_LOCK, params},
		{&sql_account_catalog, SQL_ACCOUNT_READ, params},
	};
	PGresult *res[2] = {NULL, NULL};

	w->err = db_begin(&w->db);
	if (w->err == PF_OK)
		w->err = db_exec_batch(&w->db, calls, 2, res);
	if (w->err == PF_OK && PQntuples(res[1]) == 1)
		snprintf(w->email, sizeof(w->email), "%s", db_text(res[1], 0, "email"));
	PQclear(res[0]);
	PQclear(res[1]);
	if (w->err == PF_OK)
		w->err = db_commit(&w->db);
	return NULL;
}

/* The batch's read runs after its lock is granted, with its own snapshot:
 * it sees the email the lock's holder committed while the batch waited. */
static void
test_batch_read_sees_what_the_lock_holder_committed(struct db *holder)
{
	const char *params[2] = {user_id, "after-wait@example.com"};
	struct waiter w;
	pthread_t thread;

	memset(&w, 0, sizeof(w));
	db_init(&w.db, conninfo, 5000);
	UNIT_EQ_INT(db_ensure(&w.db), PF_OK);
	UNIT_EQ_INT(db_begin(holder), PF_OK);
	UNIT_EQ_INT(db_exec(holder, &sql_account_catalog, SQL_ACCOUNT_LOCK, params, NULL), PF_OK);
	UNIT_EQ_INT(db_exec(holder, &sql_account_catalog, SQL_USER_UPDATE_EMAIL, params, NULL), PF_OK);
	UNIT_CHECK(pthread_create(&thread, NULL, lock_and_read, &w) == 0);
	sleep_ms(300);  /* the waiter is blocked on the row lock by now */
	UNIT_EQ_INT(db_commit(holder), PF_OK);
	pthread_join(thread, NULL);
	UNIT_EQ_INT(w.err, PF_OK);
	UNIT_EQ_STR(w.email, "after-wait@example.com");
	db_close(&w.db);
}

static void
test_deferred_statement_is_written_by_the_commit(struct db *db)
{
	const char *params[7];

	audit_params(params, "system", "dbtest.committed");
	UNIT_EQ_INT(db_begin(db), PF_OK);
	UNIT_EQ_INT(db_defer(db, &sql_account_catalog, SQL_AUDIT_INSERT, params), PF_OK);
	UNIT_EQ_INT(audit_rows("dbtest.committed"), 0);  /* not sent yet */
	UNIT_EQ_INT(db_commit(db), PF_OK);
	UNIT_EQ_INT(audit_rows("dbtest.committed"), 1);
	UNIT_EQ_INT(PQtransactionStatus(db->conn), PQTRANS_IDLE);
}

/* A deferred statement runs before the next one: that one sees its effect. */
static void
test_deferred_statement_runs_before_the_next_one(struct db *db)
{
	const char *update[2] = {user_id, "deferred@example.com"};
	const char *read[1] = {user_id};
	PGresult *res = NULL;

	UNIT_EQ_INT(db_begin(db), PF_OK);
	UNIT_EQ_INT(db_defer(db, &sql_account_catalog, SQL_USER_UPDATE_EMAIL, update), PF_OK);
	UNIT_EQ_INT(db_exec(db, &sql_account_catalog, SQL_ACCOUNT_READ, read, &res), PF_OK);
	UNIT_EQ_STR(res ? db_text(res, 0, "email") : NULL, "deferred@example.com");
	PQclear(res);
	db_rollback(db);
	UNIT_EQ_INT(scalar("SELECT count(*) FROM users WHERE id = $1 AND email = 'deferred@example.com'",
	    user_id), 0);
}

/* A failing deferred statement fails the COMMIT, takes the statements
 * before it down with it and leaves the connection idle and usable. */
static void
test_failing_deferred_statement_fails_the_commit(struct db *db)
{
	const char *good[7], *bad[7], *read[1] = {user_id};
	PGresult *res = NULL;

	audit_params(good, "system", "dbtest.before-failure");
	audit_params(bad, "nobody", "dbtest.failure");  /* violates the actor_role CHECK */
	UNIT_EQ_INT(db_begin(db), PF_OK);
	UNIT_EQ_INT(db_defer(db, &sql_account_catalog, SQL_AUDIT_INSERT, good), PF_OK);
	UNIT_EQ_INT(db_defer(db, &sql_account_catalog, SQL_AUDIT_INSERT, bad), PF_OK);
	UNIT_EQ_INT(db_commit(db), PF_ERR_INTERNAL);
	UNIT_EQ_STR(db->last_sqlstate, "23514");
	UNIT_CHECK(db->conn != NULL);
	UNIT_EQ_INT(PQtransactionStatus(db->conn), PQTRANS_IDLE);
	UNIT_EQ_INT(audit_rows("dbtest.before-failure"), 0);
	UNIT_EQ_INT(audit_rows("dbtest.failure"), 0);

	UNIT_EQ_INT(db_begin(db), PF_OK);
	UNIT_EQ_INT(db_exec(db, &sql_account_catalog, SQL_ACCOUNT_READ, read, &res), PF_OK);
	UNIT_EQ_INT(res ? PQntuples(res) : -1, 1);
	PQclear(res);
	UNIT_EQ_INT(db_commit(db), PF_OK);
}

/* ... and when a statement follows it, that statement reports the failure
 * and returns no result. */
static void
test_failing_deferred_statement_fails_the_next_statement(struct db *db)
{
	const char *bad[7], *read[1] = {user_id};
	PGresult *res = NULL;

	audit_params(bad, "nobody", "dbtest.failure");
	UNIT_EQ_INT(db_begin(db), PF_OK);
	UNIT_EQ_INT(db_defer(db, &sql_account_catalog, SQL_AUDIT_INSERT, bad), PF_OK);
	UNIT_EQ_INT(db_exec(db, &sql_account_catalog, SQL_ACCOUNT_READ, read, &res), PF_ERR_INTERNAL);
	UNIT_CHECK(res == NULL);
	UNIT_EQ_STR(db->last_sqlstate, "23514");
	db_rollback(db);
	UNIT_EQ_INT(PQtransactionStatus(db->conn), PQTRANS_IDLE);
	UNIT_EQ_INT(audit_rows("dbtest.failure"), 0);
}

static void
test_rollback_drops_deferred_statements(struct db *db)
{
	const char *params[7];

	audit_params(params, "system", "dbtest.rolled-back");
	UNIT_EQ_INT(db_begin(db), PF_OK);
	UNIT_EQ_INT(db_defer(db, &sql_account_catalog, SQL_AUDIT_INSERT, params), PF_OK);
	db_rollback(db);
	UNIT_EQ_INT(db->deferred_count, 0);
	UNIT_EQ_INT(db_begin(db), PF_OK);
	UNIT_EQ_INT(db_commit(db), PF_OK);  /* nothing sent, nothing to commit */
	UNIT_EQ_INT(audit_rows("dbtest.rolled-back"), 0);
}

/* More deferred statements than the queue holds: none is lost. */
static void
test_full_queue_sends_early(struct db *db)
{
	const char *params[7];
	int i;

	audit_params(params, "system", "dbtest.many");
	UNIT_EQ_INT(db_begin(db), PF_OK);
	for (i = 0; i < DB_DEFERRED_MAX + 3; i++)
		UNIT_EQ_INT(db_defer(db, &sql_account_catalog, SQL_AUDIT_INSERT, params), PF_OK);
	UNIT_EQ_INT(db_commit(db), PF_OK);
	UNIT_EQ_INT(audit_rows("dbtest.many"), DB_DEFERRED_MAX + 3);
}

static void
test_defer_outside_a_transaction_is_refused(struct db *db)
{
	const char *params[7];

	audit_params(params, "system", "dbtest.outside");
	UNIT_EQ_INT(db_defer(db, &sql_account_catalog, SQL_AUDIT_INSERT, params), PF_ERR_INTERNAL);
	UNIT_EQ_INT(audit_rows("dbtest.outside"), 0);
}

/* The backend dies between transactions (a database restart): the batch
 * that carries the BEGIN reports the connection as lost, and the next
 * db_ensure connects again. */
static void
test_lost_connection_is_reported(struct db *db)
{
	char pid[16];
	const char *params[1] = {user_id};
	const struct db_call calls[2] = {
		{&sql_account_catalog, SQL_ACCOUNT_LOCK, params},
		{&sql_account_catalog, SQL_ACCOUNT_READ, params},
	};
	PGresult *res[2] = {NULL, NULL};

	snprintf(pid, sizeof(pid), "%d", PQbackendPID(db->conn));
	UNIT_EQ_INT(scalar("SELECT count(*) FROM (SELECT pg_terminate_backend($1::int)) t", pid), 1);
	sleep_ms(100);
	UNIT_EQ_INT(db_begin(db), PF_OK);
	UNIT_EQ_INT(db_exec_batch(db, calls, 2, res), PF_ERR_UNAVAILABLE);
	UNIT_CHECK(res[0] == NULL && res[1] == NULL);
	UNIT_CHECK(db->conn == NULL);
	db_rollback(db);
	UNIT_EQ_INT(db_ensure(db), PF_OK);
	UNIT_EQ_INT(db_begin(db), PF_OK);
	UNIT_EQ_INT(db_exec_batch(db, calls, 2, res), PF_OK);
	UNIT_EQ_INT(res[1] ? PQntuples(res[1]) : -1, 1);
	PQclear(res[0]);
	PQclear(res[1]);
	UNIT_EQ_INT(db_commit(db), PF_OK);
}

/* Every case of deferred statements, on one connection. */
static void
test_deferred_statements(struct db *db)
{
	test_deferred_statement_is_written_by_the_commit(db);
	test_deferred_statement_runs_before_the_next_one(db);
	test_failing_deferred_statement_fails_the_commit(db);
	test_failing_deferred_statement_fails_the_next_statement(db);
	test_rollback_drops_deferred_statements(db);
	test_full_queue_sends_early(db);
}

/* Statements in no catalogue of db_catalogs: never prepared, so only a
 * connection that sends its statements unnamed can run them. */
static const struct db_statement session_statements[] = {
	{ "SELECT current_setting('statement_timeout') AS value", 0 },
	{ "SELECT current_setting('timezone') AS value", 0 },
	{ "SELECT count(*)::text AS value FROM pg_prepared_statements", 0 },
};
static const struct db_catalog session_catalog = { "session_", session_statements, 3 };

static const char *
session_value(struct db *db, int index, char *buf, size_t len)
{
	PGresult *res = NULL;

	buf[0] = '\0';
	if (db_exec(db, &session_catalog, index, NULL, &res) == PF_OK && db_text(res, 0, "value"))
		snprintf(buf, len, "%s", db_text(res, 0, "value"));
	PQclear(res);
	return buf;
}

/* Behind a transaction pool (db_use_unnamed_statements): nothing is
 * prepared, and the timeouts and time zone hold inside each transaction
 * because they are set there, with its BEGIN. */
static void
test_unnamed_statements_set_the_session_per_transaction(void)
{
	struct db db;
	char value[64];

	db_init(&db, conninfo, 4321);
	db_use_unnamed_statements(&db);
	UNIT_EQ_INT(db_ensure(&db), PF_OK);
	UNIT_EQ_STR(session_value(&db, 2, value, sizeof(value)), "0");
	UNIT_EQ_INT(db_begin(&db), PF_OK);
	UNIT_EQ_STR(session_value(&db, 0, value, sizeof(value)), "4321ms");
	UNIT_EQ_STR(session_value(&db, 1, value, sizeof(value)), "UTC");
	UNIT_EQ_INT(db_commit(&db), PF_OK);
	/* the batch path (BEGIN, settings and two statements in one round trip) */
	{
		struct db_call calls[2] = {
			{ &session_catalog, 0, NULL }, { &session_catalog, 2, NULL } };
		PGresult *res[2] = { NULL, NULL };

		UNIT_EQ_INT(db_begin(&db), PF_OK);
		UNIT_EQ_INT(db_exec_batch(&db, calls, 2, res), PF_OK);
		UNIT_EQ_STR(res[0] ? db_text(res[0], 0, "value") : "", "4321ms");
		UNIT_EQ_STR(res[1] ? db_text(res[1], 0, "value") : "", "0");
		PQclear(res[0]);
		PQclear(res[1]);
		UNIT_EQ_INT(db_commit(&db), PF_OK);
	}
	db_close(&db);

	/* a connection that prepares cannot run what it did not prepare */
	db_init(&db, conninfo, 4321);
	UNIT_EQ_INT(db_ensure(&db), PF_OK);
	UNIT_EQ_INT(db_begin(&db), PF_OK);
	UNIT_CHECK(db_exec(&db, &session_catalog, 0, NULL, NULL) != PF_OK);
	db_rollback(&db);
	db_close(&db);
}

static long long
elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000LL + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* The backend stops answering mid-transaction, in a batch (pipeline) and
 * in a single statement: each gives up after statement_timeout + 1 s
 * (statement_timeout itself runs on the server, which is stopped), drops
 * the connection and says so; the next db_ensure connects afresh. */
static void
test_silent_server_is_given_up(void)
{
	const char *params[1] = {user_id};
	const struct db_call calls[2] = {
		{&sql_account_catalog, SQL_ACCOUNT_LOCK, params},
		{&sql_account_catalog, SQL_ACCOUNT_READ, params},
	};
	PGresult *res[2] = {NULL, NULL};
	struct timespec started;
	struct db db;
	int round, pid;
	long long took;

	db_init(&db, conninfo, 300);
	for (round = 0; round < 2; round++) {
		UNIT_EQ_INT(db_ensure(&db), PF_OK);
		UNIT_CHECK(!db.timed_out);
		if (db.conn == NULL)
			return;
		pid = PQbackendPID(db.conn);
		UNIT_EQ_INT(db_begin(&db), PF_OK);
		if (round == 1) {
			/* BEGIN rides with this batch: the next statement goes alone */
			UNIT_EQ_INT(db_exec_batch(&db, calls, 2, res), PF_OK);
			PQclear(res[0]);
			PQclear(res[1]);
		}
		UNIT_EQ_INT(kill(pid, SIGSTOP), 0);
		clock_gettime(CLOCK_MONOTONIC, &started);
		if (round == 0)
			UNIT_EQ_INT(db_exec_batch(&db, calls, 2, res), PF_ERR_UNAVAILABLE);
		else
			UNIT_EQ_INT(db_exec(&db, &sql_account_catalog, SQL_ACCOUNT_READ, params, NULL),
			    PF_ERR_UNAVAILABLE);
		took = elapsed_ms(&started);
		UNIT_EQ_INT(kill(pid, SIGCONT), 0);
		UNIT_CHECK(took >= 1200 && took < 3000);
		if (took < 1200 || took >= 3000)
			fprintf(stderr, "gave up after %lld ms, want 1300\n", took);
		UNIT_CHECK(db.conn == NULL && db.timed_out);
		db_rollback(&db);
	}
	db_close(&db);
}

/* A server that takes the TCP connection and never answers it (a listening
 * socket nobody accepts on): db_ensure gives up after the default
 * connect_timeout, 2 s, though the conninfo names none. */
static void
test_silent_connect_is_given_up(void)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	struct timespec started;
	char info[128];
	struct db db;
	long long took;
	int s;

	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	UNIT_EQ_INT(bind(s, (struct sockaddr *)&addr, sizeof(addr)), 0);
	UNIT_EQ_INT(listen(s, 4), 0);
	UNIT_EQ_INT(getsockname(s, (struct sockaddr *)&addr, &len), 0);
	snprintf(info, sizeof(info), "host=127.0.0.1 port=%d dbname=x user=x sslmode=disable gssencmode=disable",
	    ntohs(addr.sin_port));
	db_init(&db, info, 300);
	clock_gettime(CLOCK_MONOTONIC, &started);
	UNIT_EQ_INT(db_ensure(&db), PF_ERR_UNAVAILABLE);
	took = elapsed_ms(&started);
	UNIT_CHECK(took >= 1500 && took < 4000);
	if (took < 1500 || took >= 4000)
		fprintf(stderr, "connect gave up after %lld ms, want 2000\n", took);
	UNIT_CHECK(db.conn == NULL);
	close(s);
}

/* db_exec_one: exactly one row, or the caller's "not found" and no result. */
static void
test_exec_one(struct db *db)
{
	const char *known[1] = {user_id};
	const char *unknown[1] = {"dbtest-nobody"};
	PGresult *res = (PGresult *)1;

	UNIT_EQ_INT(db_exec_one(db, &sql_account_catalog, SQL_ACCOUNT_READ, known,
	    PF_ERR_USER_NOT_FOUND, &res), PF_OK);
	UNIT_CHECK(res != NULL && PQntuples(res) == 1);
	UNIT_EQ_STR(db_text(res, 0, "id"), user_id);
	PQclear(res);
	res = (PGresult *)1;
	UNIT_EQ_INT(db_exec_one(db, &sql_account_catalog, SQL_ACCOUNT_READ, unknown,
	    PF_ERR_USER_NOT_FOUND, &res), PF_ERR_USER_NOT_FOUND);
	UNIT_CHECK(res == NULL);
}

/* A statement index outside its catalogue is refused before anything is
 * sent: not a 503 while disconnected, not an unprepared name on the wire. */
static void
test_index_outside_catalogue_is_refused(struct db *db)
{
	const char *params[1] = {user_id};
	const struct db_call past_end[1] = {{&sql_account_catalog, SQL_ACCOUNT__MAX, params}};
	const struct db_call negative[1] = {{&sql_account_catalog, -1, params}};
	struct db disconnected;
	PGresult *res = NULL;

	db_init(&disconnected, conninfo, 5000);
	UNIT_EQ_INT(db_exec_batch(&disconnected, past_end, 1, &res), PF_ERR_INTERNAL);
	UNIT_CHECK(res == NULL);
	db->last_sqlstate[0] = '\0';
	UNIT_EQ_INT(db_exec_batch(db, past_end, 1, &res), PF_ERR_INTERNAL);
	UNIT_EQ_STR(db->last_sqlstate, "");
	UNIT_EQ_INT(db_exec_batch(db, negative, 1, &res), PF_ERR_INTERNAL);
	UNIT_EQ_INT(db_begin(db), PF_OK);
	UNIT_EQ_INT(db_defer(db, &sql_account_catalog, SQL_ACCOUNT__MAX, params), PF_ERR_INTERNAL);
	db_rollback(db);
	/* and the connection is as good as before */
	UNIT_EQ_INT(db_exec(db, &sql_account_catalog, SQL_ACCOUNT_READ, params, &res), PF_OK);
	PQclear(res);
}

/* A server that stops taking writes (a primary fenced for a switchover with
 * default_transaction_read_only; here the session's own default): a write
 * refused with 25006 drops the connection, in a batch, on its own and in
 * the COMMIT's round trip, so the next db_ensure connects again (and with
 * target_session_attrs=read-write finds the server that takes writes). */
static void
test_read_only_server_drops_the_connection(void)
{
	char read_only_conninfo[1024];
	const char *params[7], *read[1] = {user_id};
	struct db ro;

	snprintf(read_only_conninfo, sizeof(read_only_conninfo),
	    "%s options='-c default_transaction_read_only=on'", conninfo);
	audit_params(params, "system", "dbtest.read-only");
	db_init(&ro, read_only_conninfo, 5000);

	/* the write rides with the BEGIN: a round trip */
	UNIT_EQ_INT(db_ensure(&ro), PF_OK);
	UNIT_EQ_INT(db_begin(&ro), PF_OK);
	UNIT_EQ_INT(db_exec(&ro, &sql_account_catalog, SQL_AUDIT_INSERT, params, NULL), PF_ERR_UNAVAILABLE);
	UNIT_EQ_STR(ro.last_sqlstate, "25006");
	UNIT_CHECK(ro.conn == NULL);
	db_rollback(&ro);

	/* a statement on its own (no transaction) */
	UNIT_EQ_INT(db_ensure(&ro), PF_OK);
	UNIT_EQ_INT(db_exec(&ro, &sql_account_catalog, SQL_AUDIT_INSERT, params, NULL), PF_ERR_UNAVAILABLE);
	UNIT_CHECK(ro.conn == NULL);

	/* a deferred write sent with the COMMIT, after a read that succeeded */
	UNIT_EQ_INT(db_ensure(&ro), PF_OK);
	UNIT_EQ_INT(db_begin(&ro), PF_OK);
	UNIT_EQ_INT(db_exec(&ro, &sql_account_catalog, SQL_ACCOUNT_READ, read, NULL), PF_OK);
	UNIT_EQ_INT(db_defer(&ro, &sql_account_catalog, SQL_AUDIT_INSERT, params), PF_OK);
	UNIT_EQ_INT(db_commit(&ro), PF_ERR_UNAVAILABLE);
	UNIT_CHECK(ro.conn == NULL);
	UNIT_CHECK(!ro.in_transaction);

	/* reads go on on the same connection */
	UNIT_EQ_INT(db_ensure(&ro), PF_OK);
	UNIT_EQ_INT(db_begin(&ro), PF_OK);
	UNIT_EQ_INT(db_exec(&ro, &sql_account_catalog, SQL_ACCOUNT_READ, read, NULL), PF_OK);
	db_rollback(&ro);
	UNIT_CHECK(ro.conn != NULL);
	db_close(&ro);
	UNIT_EQ_INT(audit_rows("dbtest.read-only"), 0);
}

int
main(void)
{
	struct db db, holder;
	const char *params[1];
	PGresult *res;

	conninfo = getenv("PF_DATABASE");
	if (conninfo == NULL) {
		fprintf(stderr, "test_db_round_trips: PF_DATABASE is not set\n");
		printf("test_db_round_trips: 0 passed, 1 failed\n");
		return 1;
	}
	check_conn = PQconnectdb(conninfo);
	UNIT_EQ_INT(PQstatus(check_conn), CONNECTION_OK);
	snprintf(user_id, sizeof(user_id), "dbtest-%ld-%d", (long)time(NULL), (int)getpid());
	params[0] = user_id;
	res = PQexecParams(check_conn,
	    "INSERT INTO users (id, created_at, included_remaining, included_allowance)"
	    " VALUES ($1, now(), 0, 0)", 1, NULL, params, NULL, NULL, 0);
	UNIT_EQ_INT(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);

	forget_test_audit_rows();   /* what an earlier run against this database left */
	db_init(&db, conninfo, 5000);
	db_init(&holder, conninfo, 5000);
	UNIT_EQ_INT(db_ensure(&db), PF_OK);
	UNIT_EQ_INT(db_ensure(&holder), PF_OK);

	test_batch_read_sees_what_the_lock_holder_committed(&holder);
	test_exec_one(&db);
	test_index_outside_catalogue_is_refused(&db);
	test_deferred_statements(&db);
	test_defer_outside_a_transaction_is_refused(&db);
	test_lost_connection_is_reported(&db);
	test_unnamed_statements_set_the_session_per_transaction();

	/* the same round trips with unnamed statements, from no rows again */
	forget_test_audit_rows();
	db_close(&db);
	db_init(&db, conninfo, 5000);
	db_use_unnamed_statements(&db);
	UNIT_EQ_INT(db_ensure(&db), PF_OK);
	test_deferred_statements(&db);
	test_silent_server_is_given_up();
	test_silent_connect_is_given_up();
	test_read_only_server_drops_the_connection();

	/* the audit rows reference the test user by id only; leave both for
	 * the suite's consistency checks to see as ordinary data */
	db_close(&db);
	db_close(&holder);
	PQfinish(check_conn);
	return UNIT_REPORT("test_db_round_trips");
}
