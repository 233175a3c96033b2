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

#define LISTEN_BACKLOG 1024
#define MAX_PROCESSES 64
#define RESTART_PAUSE_MS 200

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

	db_init(&db, wt->cfg->database, wt->cfg->statement_timeout_ms);
	(void)db_ensure(&db); /* connect early; a failure is retried per request */
	if (connection_set_request_init(&request) != 0)
		goto out;
	while (connection_set_next(wt->connections, &request, &stop_requested) == 0) {
		dispatch_request(&request, &db, wt->cfg);
		connection_set_finish(wt->connections, &request);
	}
	FCGX_Free(&request, 1);
out:
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
		fprintf(stderr, "pf-account: cannot watch the socket: %s\n", strerror(errno));
		return 1;
	}
	threads = calloc((size_t)cfg->threads, sizeof(*threads));
	if (threads == NULL) {
		connection_set_close(&connections);
		return 1;
	}
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
		fprintf(stderr, "pf-account: worker cannot bind its life to the master: %s\n",
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
		worker_bind_to_master(master);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
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
		fprintf(stderr, "pf-account: cannot listen on %s\n", tmp_path);
		return -1;
	}
	/* only nginx (the socket's group) may connect */
	if (cfg->socket_group[0] != '\0') {
		struct group *gr = getgrnam(cfg->socket_group);
		if (gr == NULL || chown(tmp_path, (uid_t)-1, gr->gr_gid) != 0) {
			fprintf(stderr, "pf-account: cannot give %s to group %s\n",
			    tmp_path, cfg->socket_group);
			goto fail;
		}
	}
	if (chmod(tmp_path, (mode_t)cfg->socket_mode) != 0 ||
	    rename(tmp_path, cfg->socket_path) != 0) {
		fprintf(stderr, "pf-account: cannot install %s: %s\n", cfg->socket_path,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(tmp_path);
	return -1;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int
main(void)
{
	struct app_config cfg;
	pid_t workers[MAX_PROCESSES];
	struct sigaction sa;
	int listen_fd, i, status, alive;
	time_t deadline;

	if (config_load(&cfg) != 0)
		return 2;
	json_object_seed(0); /* seed jansson's hash once, before any thread */
	json_memory_watch();
	if (FCGX_Init() != 0)
		return 2;
	if (connection_set_check_reader() != 0) {
		fprintf(stderr, "pf-account: libfcgi does not read through the app's OS_Read "
		    "(fcgi/connection_set.c); requests could not be bounded\n");
		return 2;
	}
	listen_fd = socket_open(&cfg);
	if (listen_fd < 0)
		return 2;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < cfg.processes; i++)
		workers[i] = worker_spawn(listen_fd, &cfg);
	fprintf(stderr, "pf-account: listening on %s with %d processes x %d threads\n",
	    cfg.socket_path, cfg.processes, cfg.threads);

	while (!stop_requested) {
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0)
			continue; /* EINTR from the stop signal */
		for (i = 0; i < cfg.processes; i++) {
			if (workers[i] != pid)
				continue;
			if (WIFSIGNALED(status))
				fprintf(stderr, "pf-account: worker %d died of signal %d; restarting\n",
				    (int)pid, WTERMSIG(status));
			else
				fprintf(stderr, "pf-account: worker %d exited %d; restarting\n",
				    (int)pid, WEXITSTATUS(status));
			if (!stop_requested) {
				sleep_ms(RESTART_PAUSE_MS);
				workers[i] = worker_spawn(listen_fd, &cfg);
			}
		}
	}

	/* drain: workers finish in-flight requests; stragglers are killed */
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
			kill(workers[i], SIGKILL);
			waitpid(workers[i], &status, 0);
		}
	close(listen_fd);
	unlink(cfg.socket_path);
	config_free(&cfg);
	fprintf(stderr, "pf-account: stopped\n");
	return 0;
}
