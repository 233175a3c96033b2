/* main.c: the account service's FastCGI application. A master process owns
 * the listening unix socket and supervises worker processes (restarting any
 * that dies: a malformed FastCGI record can still abort libfcgi); each
 * worker runs a fixed number of threads, each with its own PostgreSQL
 * connection, all taking requests from the process's connection set (new
 * connections on the shared socket, and the ones nginx keeps alive).
 * SIGTERM drains. Workers never outlive the master (worker_bind_to_master). */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcgiapp.h>
#include <jansson.h>
#include "app_config.h"
#include "connection_set.h"
#include "db.h"
#include "dispatch.h"
#include "json_memory.h"
#include "log.h"
#include "metrics.h"
#include "handler.h"
#include <libpq-fe.h>
#include <systemd/sd-daemon.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif
#define PACKAGE_VERSION_TEXT PACKAGE_VERSION

#define LISTEN_BACKLOG 1024
#define MAX_PROCESSES 64
#define RESTART_PAUSE_MS 200
/* how often the master tries the database until it first answers */
#define DATABASE_RETRY_MS 1000
#define DRAIN_MARGIN_MS 500

static volatile sig_atomic_t stop_requested;

static void
on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
on_wake_signal(int sig)
{
	(void)sig; /* only interrupts a blocking epoll_wait() or read() */
}

struct worker_thread {
	pthread_t thread;
	struct connection_set *connections;
	const struct app_config *cfg;
};

static void *
worker_thread_main(void *arg)
{
	struct worker_thread *wt = arg;
	FCGX_Request request;
	struct db db;

	log_batch_begin();     /* this thread flushes before it waits (connection_set_next) */
	db_init(&db, wt->cfg->database, wt->cfg->statement_timeout_ms);
	if (wt->cfg->database_transaction_pool)
		db_use_unnamed_statements(&db);
	(void)db_ensure(&db); /* connect early; a failure is retried per request */
	if (connection_set_request_init(&request) != 0)
		goto out;
	while (connection_set_next(wt->connections, &request, &stop_requested) == 0) {
		dispatch_request(&request, &db, wt->cfg);
		connection_set_finish(wt->connections, &request);
	}
	FCGX_Free(&request, 1);
out:
	log_flush();
	db_close(&db);
	return NULL;
}

/* A worker process: threads answer requests until SIGTERM, then finish
 * their requests, answer those that have already arrived, and exit. */
static int
worker_run(int listen_fd, const struct app_config *cfg)
{
	struct worker_thread *threads;
	struct connection_set connections;
	struct sigaction sa;
	sigset_t stop_set;
	int i, sig, started = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake_signal; /* no SA_RESTART: accept() must return EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_set, NULL);

	if (connection_set_open(&connections, listen_fd) != 0) {
		log_messagef(LOG_ERROR, "worker_failed", "cannot watch the socket: %s", strerror(errno));
		return 1;
	}
	if (cfg->listen_address[0] != '\0')
		connections.allow = &cfg->fastcgi_allow;
	/* the master kills what is left at drain_seconds: end a little before */
	connections.drain_ms = cfg->drain_seconds * 1000 - DRAIN_MARGIN_MS;
	threads = calloc((size_t)cfg->threads, sizeof(*threads));
	if (threads == NULL) {
		connection_set_close(&connections);
		return 1;
	}
	log_messagef(LOG_INFO, "worker_started", "pid %d with %d threads", (int)getpid(), cfg->threads);
	for (i = 0; i < cfg->threads; i++) {
		threads[i].connections = &connections;
		threads[i].cfg = cfg;
		if (pthread_create(&threads[i].thread, NULL, worker_thread_main, &threads[i]) != 0)
			break;
		started++;
	}
	if (started > 0)
		sigwait(&stop_set, &sig);
	stop_requested = 1;
	FCGX_ShutdownPending();
	for (i = 0; i < started; i++)
		pthread_kill(threads[i].thread, SIGUSR1);
	for (i = 0; i < started; i++)
		pthread_join(threads[i].thread, NULL);
	free(threads);
	connection_set_close(&connections);
	return started == cfg->threads ? 0 : 1;
}

/* A worker lives only as long as the master that forked it. A master
 * killed with SIGKILL (or crashed) cannot stop its workers, and an orphaned
 * worker would go on serving with the old code and configuration: on
 * nginx's kept connections and on the listening socket it inherited, beside
 * the workers of the next master. So the kernel sends the worker SIGKILL
 * when the master goes (PR_SET_PDEATHSIG). That signal is tied to the
 * thread that forked, not to the process: it is sent when that thread
 * exits. The master is single-threaded (only workers start threads), so the
 * thread is the process; a master that ever starts threads must fork
 * workers from its main thread only. The master may already be dead before prctl() took
 * effect; then the worker has been reparented, getppid() no longer names
 * the master, and it exits at once. */
static void
worker_bind_to_master(pid_t master)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
		log_messagef(LOG_ERROR, "worker_failed", "cannot bind its life to the master: %s",
		    strerror(errno));
		_exit(1);
	}
	if (getppid() != master)
		_exit(1);
}

static pid_t
worker_spawn(int listen_fd, const struct app_config *cfg)
{
	pid_t master = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		struct sigaction sa;
		sigset_t child_set;

		worker_bind_to_master(master);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		/* SIGTERM and SIGINT stay blocked (the master's mask): a stop signal
		 * sent now waits for worker_run's sigwait() */
		sigemptyset(&child_set);
		sigaddset(&child_set, SIGCHLD);
		sigprocmask(SIG_UNBLOCK, &child_set, NULL);
		_exit(worker_run(listen_fd, cfg));
	}
	return pid;
}

/* Listens on the socket path. The socket is made under a temporary name,
 * given its group and mode, and only then renamed into place, so nginx never
 * sees it with the wrong permissions. */
static int
socket_open(const struct app_config *cfg)
{
	char tmp_path[CONFIG_PATH_MAX + 8];
	int fd = -1;

	if (snprintf(tmp_path, sizeof(tmp_path), "%s.new", cfg->socket_path) >= (int)sizeof(tmp_path))
		return -1;
	unlink(tmp_path);
	fd = FCGX_OpenSocket(tmp_path, LISTEN_BACKLOG);
	if (fd < 0) {
		log_messagef(LOG_ERROR, "start_failed", "cannot listen on %s", tmp_path);
		return -1;
	}
	/* only nginx (the socket's group) may connect */
	if (cfg->socket_group[0] != '\0') {
		struct group *gr = getgrnam(cfg->socket_group);
		if (gr == NULL || chown(tmp_path, (uid_t)-1, gr->gr_gid) != 0) {
			log_messagef(LOG_ERROR, "start_failed", "cannot give %s to group %s",
			    tmp_path, cfg->socket_group);
			goto fail;
		}
	}
	if (chmod(tmp_path, (mode_t)cfg->socket_mode) != 0 ||
	    rename(tmp_path, cfg->socket_path) != 0) {
		log_messagef(LOG_ERROR, "start_failed", "cannot install %s: %s", cfg->socket_path,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(tmp_path);
	return -1;
}

/* Listens on PF_LISTEN ("host:port", numeric; "[v6]:port"). Returns the
 * socket or -1. */
static int
tcp_listen_open(const struct app_config *cfg)
{
	char host[sizeof(cfg->listen_address)];
	const char *colon = strrchr(cfg->listen_address, ':');
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char *end;
	long port;
	size_t host_len;
	int fd = -1, one = 1;

	if (colon == NULL)
		goto bad;
	host_len = (size_t)(colon - cfg->listen_address);
	memcpy(host, cfg->listen_address, host_len);
	host[host_len] = '\0';
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
		memmove(host, host + 1, host_len - 2);
		host[host_len - 2] = '\0';
	}
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || port < 1 || port > 65535)
		goto bad;
	memset(&addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&addr)->sin_addr) == 1) {
		((struct sockaddr_in *)&addr)->sin_family = AF_INET;
		((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)port);
		addr_len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&addr)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&addr)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)port);
		addr_len = sizeof(struct sockaddr_in6);
	} else {
		goto bad;
	}
	fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&addr, addr_len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		log_messagef(LOG_ERROR, "start_failed", "cannot listen on %s: %s", cfg->listen_address,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
bad:
	log_message(LOG_ERROR, "config_error", "PF_LISTEN must be a numeric address and port, "
	    "such as 127.0.0.1:9000 or [::1]:9000");
	return -1;
}

/* Whether path is still the socket file this instance installed (a newer
 * instance may have put its own there). The socket's own fstat() names an
 * inode of the socket file system, never the file's, so the file's identity
 * is taken when it is installed (installed). */
static bool
socket_is_ours(const char *path, const struct stat *installed)
{
	struct stat on_disk;

	return stat(path, &on_disk) == 0 && on_disk.st_ino == installed->st_ino &&
	    on_disk.st_dev == installed->st_dev;
}

/* The configuration the app runs with, secrets left out: the database's
 * conninfo is shown without its password, the JWT key only by algorithm. */
static void
log_started(const struct app_config *cfg)
{
	PQconninfoOption *options = PQconninfoParse(cfg->database, NULL), *o;
	char database[256] = "";
	struct log_line line;
	size_t n = 0;

	for (o = options; o != NULL && o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0' || (o->dispchar != NULL && o->dispchar[0] == '*'))
			continue;       /* unset, or a password ('*': libpq's own mark for secrets) */
		if (strcmp(o->keyword, "host") != 0 && strcmp(o->keyword, "port") != 0 &&
		    strcmp(o->keyword, "dbname") != 0 && strcmp(o->keyword, "user") != 0 &&
		    strcmp(o->keyword, "target_session_attrs") != 0)
			continue;
		n += (size_t)snprintf(database + n, n < sizeof(database) ? sizeof(database) - n : 0,
		    "%s%s=%s", n ? " " : "", o->keyword, o->val);
		if (n >= sizeof(database))
			break;
	}
	PQconninfoFree(options);
	log_begin(&line, LOG_INFO, "started");
	log_str(&line, "version", PACKAGE_VERSION_TEXT);
	log_str(&line, "listen", cfg->listen_address[0] ? cfg->listen_address : cfg->socket_path);
	log_int(&line, "processes", cfg->processes);
	log_int(&line, "threads", cfg->threads);
	log_str(&line, "database", database);
	log_bool(&line, "database_transaction_pool", cfg->database_transaction_pool);
	log_int(&line, "statement_timeout_ms", cfg->statement_timeout_ms);
	log_int(&line, "drain_seconds", cfg->drain_seconds);
	log_str(&line, "jwt_alg", auth_alg_name(cfg->auth.alg));
	log_str(&line, "jwt_issuer", cfg->auth.issuer);
	log_str(&line, "jwt_audience", cfg->auth.audience);
	log_int(&line, "jwt_leeway_seconds", cfg->auth.leeway_seconds);
	log_end(&line);
}

static void
log_worker_ended(pid_t pid, int status, bool restarting)
{
	struct log_line line;

	log_begin(&line, LOG_WARN, "worker_ended");
	log_int(&line, "pid", (long long)pid);
	if (WIFSIGNALED(status))
		log_int(&line, "signal", WTERMSIG(status));
	else
		log_int(&line, "exit_status", WEXITSTATUS(status));
	log_bool(&line, "restarting", restarting);
	log_end(&line);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Tells systemd (Type=notify) how the start or the stop goes, through
 * libsystemd's sd_notify(3). Not under systemd (no NOTIFY_SOCKET) it does
 * nothing; a failure is logged and otherwise ignored: the unit's start
 * timeout then says what went wrong. */
static void
notify_systemd(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		log_messagef(LOG_WARN, "notify_failed", "sd_notify: %s", strerror(-r));
}

/* Whether a database connection works: connected, and the app's statements
 * prepared against the schema. Readiness waits for it, so that systemd
 * orders units after a pf-account that can answer; the connection is
 * closed at once, before the master forks a worker again. */
static bool
database_answers(const struct app_config *cfg)
{
	struct db db;
	bool answers;

	db_init(&db, cfg->database, cfg->statement_timeout_ms);
	if (cfg->database_transaction_pool)
		db_use_unnamed_statements(&db);
	answers = db_ensure(&db) == PF_OK;
	db_close(&db);
	return answers;
}

static void
on_child_signal(int sig)
{
	(void)sig;      /* blocked in the master: sigtimedwait() takes it */
}

/* Waits for a stop signal or a worker's end, at most timeout_ms (or for
 * ever if negative); a stop signal sets stop_requested. */
static void
master_wait(const sigset_t *signals, long timeout_ms)
{
	struct timespec timeout = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
	int sig = sigtimedwait(signals, NULL, timeout_ms < 0 ? NULL : &timeout);

	if (sig == SIGTERM || sig == SIGINT)
		stop_requested = 1;
}

/* Reaps every worker that has ended and, unless the master is stopping,
 * starts another in its place. */
static void
restart_ended_workers(pid_t *workers, int count, int listen_fd, const struct app_config *cfg)
{
	pid_t pid;
	int status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < count; i++) {
			if (workers[i] != pid)
				continue;
			log_worker_ended(pid, status, !stop_requested);
			if (!stop_requested) {
				metrics_worker_restart();
				sleep_ms(RESTART_PAUSE_MS);
				workers[i] = worker_spawn(listen_fd, cfg);
			}
		}
	}
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pf-account [--check-config | --version | --help]\n"
	    "The PersonaForge account service: a FastCGI application behind nginx.\n"
	    "It reads KEY=VALUE settings from the file named by PF_CONFIG and from\n"
	    "the environment, which wins (pf-account.conf(5)).\n"
	    "  --check-config  check the configuration, print the effective settings\n"
	    "                  (secrets left out); exit 0 if it is usable, 1 if not\n"
	    "  --version       print the version\n"
	    "  --help          print this\n"
	    "Without an option it serves (pf-account(8)).\n");
}

/* PF_DATABASE as libpq reads it, with the password hidden. */
static void
print_conninfo(const char *conninfo)
{
	PQconninfoOption *options, *o;
	char *error = NULL;
	const char *sep = "";

	options = PQconninfoParse(conninfo, &error);
	if (options == NULL) {
		/* libpq will refuse it at connection time; say so now */
		printf("PF_DATABASE=(not a libpq conninfo: %s)\n", error != NULL ? error : "out of memory");
		PQfreemem(error);
		return;
	}
	printf("PF_DATABASE=");
	for (o = options; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "password") == 0)
			printf("%spassword=(hidden)", sep);
		else if (strpbrk(o->val, " \t'\\") != NULL || o->val[0] == '\0')
			printf("%s%s='%s'", sep, o->keyword, o->val);
		else
			printf("%s%s=%s", sep, o->keyword, o->val);
		sep = " ";
	}
	printf("\n");
	PQconninfoFree(options);
}

/* PF_FASTCGI_ALLOW as parsed: IPv4 entries (kept IPv4-mapped) in IPv4
 * form, a prefix length only where the entry is a network, so that what is
 * shown can be pasted back as the setting. */
static void
print_allow_list(const struct peer_allow_list *list)
{
	char text[INET6_ADDRSTRLEN];
	size_t i;

	printf("PF_FASTCGI_ALLOW=");
	for (i = 0; i < list->count; i++) {
		const struct in6_addr *net = &list->network[i];
		unsigned len = list->prefix_len[i];
		bool v4 = IN6_IS_ADDR_V4MAPPED(net) && len >= 96;

		if (v4) {
			inet_ntop(AF_INET, &net->s6_addr[12], text, sizeof(text));
			len -= 96;
		} else {
			inet_ntop(AF_INET6, net, text, sizeof(text));
		}
		printf("%s%s", i > 0 ? ", " : "", text);
		if (len != (v4 ? 32u : 128u))
			printf("/%u", len);
	}
	printf("\n");
}

/* --check-config: the settings in effect, after defaults, without secrets
 * (the JWT key is named by its length only, the database password hidden).
 * Every key of app_config.c's app_keys has its line, those not in effect
 * too (with a comment saying so): a setting missing from the output would
 * leave the operator to guess what the app does with it. */
static void
print_config(const struct app_config *cfg)
{
	const char *path = getenv("PF_CONFIG");
	bool tcp = cfg->listen_address[0] != '\0';
	int i;

	printf("# pf-account %s: the configuration is usable\n", PACKAGE_VERSION);
	printf("PF_CONFIG=%s\n", path != NULL && path[0] != '\0' ? path : "(none: environment only)");
	print_conninfo(cfg->database);
	printf("PF_DATABASE_POOLING=%s\n", cfg->database_transaction_pool ? "transaction" : "none");
	printf("PF_STATEMENT_TIMEOUT_MS=%d\n", cfg->statement_timeout_ms);
	printf("PF_JWT_ALG=%s\n", auth_alg_name(cfg->auth.alg));
	printf("PF_JWT_KEY=(hidden, %zu bytes)\n", cfg->auth.key_len);
	/* the file's name is no secret; empty when PF_JWT_KEY held the key */
	printf("PF_JWT_KEY_FILE=%s\n", cfg->jwt_key_file);
	printf("PF_JWT_ISSUER=%s\n", cfg->auth.issuer);
	printf("PF_JWT_AUDIENCE=%s\n", cfg->auth.audience);
	printf("PF_JWT_LEEWAY=%d\n", cfg->auth.leeway_seconds);
	printf("%s\n", tcp ? "# FastCGI over TCP (PF_LISTEN): the PF_SOCKET settings are not used"
	    : "# FastCGI on the unix socket (PF_SOCKET): PF_FASTCGI_ALLOW is not used");
	printf("PF_LISTEN=%s\n", cfg->listen_address);
	print_allow_list(&cfg->fastcgi_allow);
	printf("PF_SOCKET=%s\n", cfg->socket_path);
	printf("PF_SOCKET_MODE=%04o\n", (unsigned)cfg->socket_mode);
	printf("PF_SOCKET_GROUP=%s\n", cfg->socket_group);
	printf("PF_PROCESSES=%d\n", cfg->processes);
	printf("PF_THREADS=%d\n", cfg->threads);
	printf("PF_DRAIN_SECONDS=%d\n", cfg->drain_seconds);
	printf("PF_LOG_LEVEL=%s\n", log_level_name(cfg->log_level));
	printf("PF_LOG_REQUESTS=%s\n", cfg->log_requests ? "on" : "off");
	printf("PF_METRICS=%s\n", cfg->metrics ? "on" : "off");
	printf("PF_METRICS_REFRESH_SECONDS=%d\n", cfg->metrics_refresh_seconds);
	printf("PF_CORS_ORIGINS=");
	for (i = 0; i < cfg->cors.count; i++)
		printf("%s%s", i > 0 ? " " : "", cfg->cors.origins[i]);
	printf("\n");
	/* accepted in the shared file, but read and checked by pf-mailer alone */
	printf("# PF_SMTP_*, PF_MAIL_* and PF_SUPPORT_EMAIL are pf-mailer's: not checked here\n");
}

int
main(int argc, char **argv)
{
	struct app_config cfg;
	pid_t workers[MAX_PROCESSES];
	struct sigaction sa;
	int listen_fd, i, status, alive;
	time_t deadline;
	struct stat socket_file;        /* the socket file as installed */
	bool check_only = false;
	bool ready = false;             /* READY=1 sent */
	sigset_t master_signals;        /* blocked; taken by master_wait() */

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("pf-account %s\n", PACKAGE_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--check-config") == 0) {
			check_only = true;
		} else {
			fprintf(stderr, "pf-account: unknown argument: %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (check_only) {
		if (config_load(&cfg) != 0)
			return 1;
		print_config(&cfg);
		config_free(&cfg);
		return 0;
	}
	if (config_load(&cfg) != 0)
		return 2;
	json_object_seed(0); /* seed jansson's hash once, before any thread */
	json_memory_watch();
	if (FCGX_Init() != 0)
		goto refused;
	if (connection_set_check_reader() != 0) {
		log_message(LOG_ERROR, "start_failed", "libfcgi does not read through the app's "
		    "OS_Read (fcgi/connection_set.c); requests could not be bounded");
		goto refused;
	}
	listen_fd = cfg.listen_address[0] != '\0' ? tcp_listen_open(&cfg) : socket_open(&cfg);
	memset(&socket_file, 0, sizeof(socket_file));
	if (listen_fd >= 0 && cfg.listen_address[0] == '\0' && stat(cfg.socket_path, &socket_file) != 0)
		memset(&socket_file, 0, sizeof(socket_file));
	if (listen_fd < 0)
		goto refused;
	if (metrics_init(cfg.metrics, cfg.metrics_refresh_seconds, API_ROUTE_COUNT) != 0) {
		log_message(LOG_ERROR, "start_failed", "cannot make the shared metrics");
		close(listen_fd);
		goto refused;
	}

	/* The master takes the stop signals and its workers' ends with
	 * sigtimedwait() (master_wait): a signal arriving between a check of
	 * stop_requested and a blocking wait would otherwise be missed, and
	 * the master would wait for ever */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child_signal;  /* SIG_DFL would discard SIGCHLD */
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&master_signals);
	sigaddset(&master_signals, SIGTERM);
	sigaddset(&master_signals, SIGINT);
	sigaddset(&master_signals, SIGCHLD);
	sigprocmask(SIG_BLOCK, &master_signals, NULL);

	log_started(&cfg);
	for (i = 0; i < cfg.processes; i++)
		workers[i] = worker_spawn(listen_fd, &cfg);
	/* READY=1 once the socket listens, the workers take from it and a
	 * database connection works; until then the workers answer (a 503
	 * while the database is away) and the master retries the database */
	while (!stop_requested) {
		if (!ready) {
			ready = database_answers(&cfg);
			if (ready) {
				notify_systemd("READY=1");
				log_message(LOG_INFO, "ready", "the socket listens and the database answers");
			} else {
				notify_systemd("STATUS=waiting for the database (PF_DATABASE)");
			}
		}
		restart_ended_workers(workers, cfg.processes, listen_fd, &cfg);
		if (!stop_requested)
			master_wait(&master_signals, ready ? -1 : DATABASE_RETRY_MS);
	}

	/* drain: new connections find no socket (the workers also shut it, so
	 * that a TCP connect is refused); workers answer the requests on the
	 * connections they have and close them; stragglers are killed */
	if (cfg.listen_address[0] == '\0' && socket_is_ours(cfg.socket_path, &socket_file))
		unlink(cfg.socket_path);
	log_messagef(LOG_INFO, "draining", "at most %d s", cfg.drain_seconds);
	notify_systemd("STOPPING=1");
	for (i = 0; i < cfg.processes; i++)
		if (workers[i] > 0)
			kill(workers[i], SIGTERM);
	deadline = time(NULL) + cfg.drain_seconds;
	do {
		alive = 0;
		for (i = 0; i < cfg.processes; i++) {
			if (workers[i] <= 0)
				continue;
			if (waitpid(workers[i], &status, WNOHANG) == workers[i])
				workers[i] = 0;
			else
				alive++;
		}
		if (alive)
			sleep_ms(50);
	} while (alive && time(NULL) < deadline);
	for (i = 0; i < cfg.processes; i++)
		if (workers[i] > 0) {
			log_messagef(LOG_WARN, "worker_killed", "worker %d still draining at the deadline",
			    (int)workers[i]);
			kill(workers[i], SIGKILL);
			waitpid(workers[i], &status, 0);
		}
	close(listen_fd);
	config_free(&cfg);
	log_message(LOG_INFO, "stopped", "pf-account stopped");
	return 0;
refused:
	config_free(&cfg);      /* what a refused start read: the key among it */
	return 2;
}
