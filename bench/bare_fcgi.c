/* bare_fcgi.c: the benchmark's FastCGI ceilings. The same worker model as
 * pf-account (a master owning the unix socket, PF_PROCESSES worker
 * processes x PF_THREADS threads taking requests from the process's
 * connection set, fcgi/connection_set.c), no JWT and a constant JSON body.
 *   pf-bare-fcgi SOCKET_PATH
 *       no database: what nginx + the FastCGI hop cost on this machine.
 *   pf-bare-fcgi SOCKET_PATH CONNINFO FIRST_USER LAST_USER
 *       and, per request, the account read's one prepared statement (the
 *       catalogue's SQL_ACCOUNT_READ, as GET /api/v1/account runs it) for
 *       a user drawn from FIRST_USER..LAST_USER, on one connection per
 *       thread: what the hop plus one database round trip cost, before
 *       any token, row decoding or JSON. A missing row answers 500.
 * SIGTERM stops it. Not installed; built by `make bench`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdint.h>
#include <unistd.h>
#include <pthread.h>
#include <fcgiapp.h>
#include <libpq-fe.h>
#include "connection_set.h"
#include "sql_account.h"

#define BARE_MAX_PROCESSES 64
#define BARE_MAX_THREADS 256

static const char bare_response[] =
    "Status: 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
    "Content-Length: 27\r\n\r\n"
    "{\"ok\":true,\"bench\":\"bare\"}\n";
static const char bare_failure[] =
    "Status: 500 Internal Server Error\r\nContent-Type: application/json\r\n"
    "Content-Length: 28\r\n\r\n"
    "{\"ok\":false,\"bench\":\"bare\"}\n";
#define BARE_READ_NAME "bare_account_read"

/* the database mode's settings, fixed before the threads start */
static const char *db_conninfo;
static long db_first_user, db_user_count;

static int listen_fd;
static struct connection_set connections;
static volatile sig_atomic_t never_stop;

static PGconn *
bare_db_open(void)
{
	const struct db_statement *read = &sql_account_catalog.statements[SQL_ACCOUNT_READ];
	PGconn *conn = PQconnectdb(db_conninfo);
	PGresult *res = NULL;

	if (PQstatus(conn) != CONNECTION_OK)
		goto fail;
	res = PQprepare(conn, BARE_READ_NAME, read->sql, read->nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto fail;
	PQclear(res);
	return conn;
fail:
	fprintf(stderr, "pf-bare-fcgi: database: %s", PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
	return NULL;
}

/* One account read; 0 when it found exactly one row. */
static int
bare_db_read(PGconn *conn, unsigned *seed)
{
	char user_id[24];
	const char *params[1] = {user_id};
	PGresult *res;
	int ok;

	snprintf(user_id, sizeof(user_id), "%ld", db_first_user + (long)(rand_r(seed) % db_user_count));
	res = PQexecPrepared(conn, BARE_READ_NAME, 1, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	PQclear(res);
	return ok ? 0 : -1;
}

static void *
bare_thread_main(void *arg)
{
	FCGX_Request request;
	PGconn *conn = NULL;
	unsigned seed = (unsigned)(uintptr_t)arg;

	if (db_conninfo != NULL && (conn = bare_db_open()) == NULL)
		_exit(1);
	if (connection_set_request_init(&request) != 0)
		goto out;
	while (connection_set_next(&connections, &request, &never_stop) == 0) {
		if (conn != NULL && bare_db_read(conn, &seed) != 0)
			FCGX_PutStr(bare_failure, (int)sizeof(bare_failure) - 1, request.out);
		else
			FCGX_PutStr(bare_response, (int)sizeof(bare_response) - 1, request.out);
		connection_set_finish(&connections, &request);
	}
out:
	PQfinish(conn);
	return NULL;
}

static int
env_int(const char *name, int fallback, int max)
{
	const char *text = getenv(name);
	int value = text ? atoi(text) : fallback;

	return value >= 1 && value <= max ? value : fallback;
}

static void
bare_worker(int threads)
{
	pthread_t tids[BARE_MAX_THREADS];
	int i;

	signal(SIGPIPE, SIG_IGN);
	if (connection_set_open(&connections, listen_fd) != 0)
		_exit(1);
	for (i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, bare_thread_main, (void *)(uintptr_t)(i + 1)) != 0)
			_exit(1);
	for (i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	_exit(0);
}

int
main(int argc, char **argv)
{
	pid_t workers[BARE_MAX_PROCESSES];
	sigset_t stop_set;
	int processes, threads, i, sig;

	if (argc == 5) {
		char *end1, *end2;
		long last;

		db_conninfo = argv[2];
		db_first_user = strtol(argv[3], &end1, 10);
		last = strtol(argv[4], &end2, 10);
		db_user_count = last - db_first_user + 1;
		if (*end1 != '\0' || *end2 != '\0' || db_first_user < 1 || db_user_count < 1 ||
		    db_user_count > RAND_MAX)
			argc = 0;
	}
	if (argc != 2 && argc != 5) {
		fprintf(stderr, "usage: pf-bare-fcgi SOCKET_PATH [CONNINFO FIRST_USER LAST_USER]\n");
		return 2;
	}
	processes = env_int("PF_PROCESSES", 1, BARE_MAX_PROCESSES);
	threads = env_int("PF_THREADS", 8, BARE_MAX_THREADS);
	if (FCGX_Init() != 0 || connection_set_check_reader() != 0)
		return 2;
	unlink(argv[1]);
	listen_fd = FCGX_OpenSocket(argv[1], 1024);
	if (listen_fd < 0 || chmod(argv[1], 0666) != 0) {
		fprintf(stderr, "pf-bare-fcgi: cannot listen on %s\n", argv[1]);
		return 2;
	}
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGINT);
	for (i = 0; i < processes; i++) {
		workers[i] = fork();
		if (workers[i] == 0)
			bare_worker(threads);
	}
	sigprocmask(SIG_BLOCK, &stop_set, NULL);
	fprintf(stderr, "pf-bare-fcgi: listening on %s with %d processes x %d threads%s\n",
	    argv[1], processes, threads, db_conninfo ? ", one account read per request" : "");
	sigwait(&stop_set, &sig);
	for (i = 0; i < processes; i++)
		if (workers[i] > 0)
			kill(workers[i], SIGKILL);
	for (i = 0; i < processes; i++)
		if (workers[i] > 0)
			waitpid(workers[i], NULL, 0);
	unlink(argv[1]);
	return 0;
}
