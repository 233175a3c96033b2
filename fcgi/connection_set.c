/* connection_set.c: see connection_set.h.
 *
 * Why not libfcgi's own loop: FCGX_Accept_r accepts, and on a kept-alive
 * connection it blocks its thread reading the next request. Each idle
 * connection nginx keeps would pin one of the few worker threads, and
 * requests on new connections would queue behind them (measured: p99
 * 24 ms instead of 9). Here a thread holds a connection only while a
 * request is ready on it; between requests the connection waits in the
 * epoll set. Without kept connections nginx opens, and both sides tear
 * down, a socket per request: the bare FastCGI responder answered 52-58k
 * requests/s that way and 95-99k/s with kept connections (README,
 * Benchmark).
 *
 * Every descriptor is registered EPOLLONESHOT, so one readiness goes to
 * one thread, which re-arms it when done. libfcgi still reads and writes
 * the protocol; it is handed the descriptor (request->ipcFd) and never
 * accepts (its listen socket is -1). */
#define _GNU_SOURCE     /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "connection_set.h"
#include "fcgi_finish.h"

/* how long to stay off the listening socket when out of descriptors or
 * memory (it stays readable, so re-arming at once would spin) */
#define ACCEPT_BACKOFF_MS 10

/* Watches fd for its next readiness (op: EPOLL_CTL_ADD for a descriptor
 * new to the set, EPOLL_CTL_MOD to re-arm one). Returns 0, or -1 having
 * closed a connection it cannot watch (nginx sees it closed and uses
 * another); the listening socket is never closed here. */
static int
arm(struct connection_set *set, int op, int fd)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.fd = fd;
	if (epoll_ctl(set->epoll_fd, op, fd, &ev) == 0)
		return 0;
	if (fd == set->listen_fd)
		fprintf(stderr, "connection set: cannot watch the listening socket: %s\n", strerror(errno));
	else
		close(fd);
	return -1;
}

int
connection_set_open(struct connection_set *set, int listen_fd)
{
	int flags;

	set->listen_fd = listen_fd;
	set->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (set->epoll_fd < 0)
		return -1;
	flags = fcntl(listen_fd, F_GETFL);
	if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) != 0)
		goto fail;
	if (arm(set, EPOLL_CTL_ADD, listen_fd) != 0)
		goto fail;
	return 0;
fail:
	flags = errno;
	close(set->epoll_fd);
	set->epoll_fd = -1;
	errno = flags;
	return -1;
}

void
connection_set_close(struct connection_set *set)
{
	if (set->epoll_fd >= 0)
		close(set->epoll_fd);
	set->epoll_fd = -1;
}

int
connection_set_request_init(FCGX_Request *request)
{
	return FCGX_InitRequest(request, -1, 0);
}

/* Takes the listening socket's whole backlog into the set. A new
 * connection is served only once a request has arrived on it, like a kept
 * one: a peer that connects and sends nothing holds no thread, and a new
 * connection waits its turn behind the connections already ready, not
 * once per connection ahead of it in the backlog (taking one per wake-up
 * made the p99 at 128 concurrent requests 0.6 s). */
static void
accept_connections(struct connection_set *set)
{
	int fd;

	while ((fd = accept4(set->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		(void)arm(set, EPOLL_CTL_ADD, fd);
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
		struct timespec pause = {0, ACCEPT_BACKOFF_MS * 1000000L};
		nanosleep(&pause, NULL);
	}
	(void)arm(set, EPOLL_CTL_MOD, set->listen_fd);      /* says so if it fails */
}

int
connection_set_next(struct connection_set *set, FCGX_Request *request,
    const volatile sig_atomic_t *stop)
{
	for (;;) {
		struct epoll_event ev;
		int n, fd;

		n = epoll_wait(set->epoll_fd, &ev, 1, *stop ? 0 : -1);
		if (n < 0 && errno == EINTR)
			continue;       /* the stop signal: look again without waiting */
		if (n <= 0)
			return -1;
		if (ev.data.fd == set->listen_fd) {
			if (!*stop)     /* while draining it stays disarmed */
				accept_connections(set);
			continue;
		}
		fd = ev.data.fd;
		request->ipcFd = fd;
		/* FCGX_Accept_r first ends "the previous request" and would close
		 * the descriptor unless that request kept its connection */
		request->keepConnection = 1;
		if (FCGX_Accept_r(request) == 0)
			return 0;
		/* the peer closed it or sent no valid request: libfcgi closed it */
	}
}

void
connection_set_finish(struct connection_set *set, FCGX_Request *request)
{
	int fd;

	fcgi_finish_promptly(request);
	if (request->ipcFd < 0)
		return;         /* not kept: libfcgi closed it */
	fd = request->ipcFd;
	request->ipcFd = -1;
	(void)arm(set, EPOLL_CTL_MOD, fd);
}
