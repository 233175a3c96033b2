/* bare_fcgi.c: the benchmark's FastCGI ceiling. The same worker model as
 * pf-account (a master owning the unix socket, PF_PROCESSES worker
 * processes x PF_THREADS threads taking requests from the process's
 * connection set, fcgi/connection_set.c), but no database, no JWT and a
 * constant JSON body: what nginx + the FastCGI hop cost on this machine.
 * Usage: pf-bare-fcgi SOCKET_PATH. SIGTERM stops it. Not installed; built
 * by `make bench`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pthread.h>
#include <fcgiapp.h>
#include "connection_set.h"

#define BARE_MAX_PROCESSES 64
#define BARE_MAX_THREADS 256

static const char bare_response[] =
    "Status: 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
    "Content-Length: 27\r\n\r\n"
    "{\"ok\":true,\"bench\":\"bare\"}\n";

static int listen_fd;
static struct connection_set connections;
static volatile sig_atomic_t never_stop;

static void *
bare_thread_main(void *arg)
{
	FCGX_Request request;

	(void)arg;
	if (connection_set_request_init(&request) != 0)
		return NULL;
	while (connection_set_next(&connections, &request, &never_stop) == 0) {
		FCGX_PutStr(bare_response, (int)sizeof(bare_response) - 1, request.out);
		connection_set_finish(&connections, &request);
	}
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
		if (pthread_create(&tids[i], NULL, bare_thread_main, NULL) != 0)
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

	if (argc != 2) {
		fprintf(stderr, "usage: pf-bare-fcgi SOCKET_PATH\n");
		return 2;
	}
	processes = env_int("PF_PROCESSES", 1, BARE_MAX_PROCESSES);
	threads = env_int("PF_THREADS", 8, BARE_MAX_THREADS);
	if (FCGX_Init() != 0)
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
	fprintf(stderr, "pf-bare-fcgi: listening on %s with %d processes x %d threads\n",
	    argv[1], processes, threads);
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
