/* connection_set.c: see connection_set.h.
 *
 * Why not libfcgi's own loop: FCGX_Accept_r accepts, and on a kept-alive
 * connection it blocks its thread reading the next request. Each idle
 * connection nginx keeps would pin one of the few worker threads, and
 * requests on new connections would queue behind them (measured: p99
 * 24 ms instead of 9). Here a thread holds a connection only while a whole
 * request is waiting in it; between requests the connection waits in the
 * epoll set (README, Benchmark).
 *
 * Why the set reads the request itself: libfcgi reads with blocking reads
 * and no time bound, so a peer that sends one byte, or a POST that never
 * sends its body, held a thread for ever: eight of them stalled the app.
 * And it allocates whatever a FCGI_PARAMS length declares: 0x40000000
 * aborted the worker (CVE-2025-23016's residual in Debian 12's libfcgi).
 * So the set receives each request into the connection's own buffer, as it
 * arrives, without blocking, checks it with lib/fastcgi_request_scan.c,
 * and hands it to a thread only once it is whole. libfcgi then parses it
 * from that buffer: the app defines OS_Read, the one function through
 * which libfcgi reads (declared in fcgios.h), and as the executable's
 * definition it is the one libfcgi's calls bind to. A request that does
 * not arrive whole within CONNECTION_PARTIAL_REQUEST_MS is closed by the
 * sweep, which a timer in the same epoll set runs four times a second.
 *
 * Every descriptor is registered EPOLLONESHOT, so one readiness goes to one
 * thread, which re-arms it when done; only the thread holding a
 * connection's readiness frees it. The sweep and the limits never close a
 * waiting connection themselves: they shut it down, which wakes its
 * holder-to-be with end-of-file. */
#define _GNU_SOURCE     /* accept4, SO_PEERCRED */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <time.h>
#include <unistd.h>
#include <fcgios.h>

#include "connection_set.h"
#include "fcgi_finish.h"
#include "log.h"
#include "monotonic.h"

/* how long to stay off the listening socket when out of descriptors or
 * memory (it stays readable, so re-arming at once would spin) */
#define ACCEPT_BACKOFF_MS 10
#define SWEEP_INTERVAL_MS 250
/* descriptors kept back from RLIMIT_NOFILE for the threads' database
 * connections, the log, epoll and the timer */
#define DESCRIPTOR_RESERVE 64
/* a buffer holds one request; most fit in the first allocation */
#define BUFFER_INITIAL (8 * 1024)
/* how often a draining thread looks whether the drain is over */
#define DRAIN_POLL_MS 100

struct fastcgi_connection {
	int fd;
	uint64_t peer;          /* who is on the other end (peer_of) */
	bool listed;            /* in the waiting list */
	bool shut;              /* shut down by the set: close at its next event */
	bool closing;           /* draining: closed after this answer (OS_Write) */
	long long waiting_since_ms;
	long long first_byte_ms;        /* of the request still arriving; 0: none */
	unsigned char *buf;     /* owned: the request as received */
	size_t len, cap;
	size_t read_pos;        /* how far libfcgi has read the request */
	struct fastcgi_request_scan scan;
	struct fastcgi_connection *prev, *next;
};

enum receive_result { RECEIVE_WHOLE, RECEIVE_MORE, RECEIVE_DROP };

/* The connection whose request this thread's libfcgi is reading: OS_Read
 * serves it from the buffer. Per thread, so nothing is shared. */
static __thread struct fastcgi_connection *reading;

int
OS_Read(int fd, char *buf, size_t len)
{
	struct fastcgi_connection *conn = reading;
	size_t left;

	if (conn == NULL || conn->fd != fd)
		return (int)read(fd, buf, len);     /* libfcgi's own behaviour */
	/* end-of-file past the request: libfcgi asks for no more than it is */
	left = conn->scan.request_len - conn->read_pos;
	if (len > left)
		len = left;
	memcpy(buf, conn->buf + conn->read_pos, len);
	conn->read_pos += len;
	return (int)len;
}

/* Whether a buffer libfcgi writes ends with its FCGI_END_REQUEST record
 * (header and 8-byte body, no padding): the last write of an answer. */
static bool
ends_with_end_request(const unsigned char *buf, size_t len)
{
	const unsigned char *h = buf + len - 16;

	return len >= 16 && h[0] == 1 && h[1] == 3 && h[4] == 0 && h[5] == 8 && h[6] == 0;
}

/* libfcgi writes through this too. Why: while the set drains, a
 * connection is closed after its answer, and nginx must not keep it for
 * another request in the instant before it sees the close (over TCP that
 * request would be sent, then reset: a 502 that nginx does not retry for
 * a POST). nginx keeps an upstream connection only when its read ends
 * exactly at the FCGI_END_REQUEST record (ngx_http_fastcgi_module: data
 * after it clears u->keepalive), so the last write of a closing
 * connection's answer carries 8 more bytes, an empty record, in the same
 * writev. */
int
OS_Write(int fd, char *buf, size_t len)
{
	struct fastcgi_connection *conn = reading;
	unsigned char trailer[FASTCGI_HEADER_LEN] = { 1, 6, 0, 0, 0, 0, 0, 0 };
	struct iovec iov[2];
	ssize_t n;

	if (conn == NULL || conn->fd != fd || !conn->closing ||
	    !ends_with_end_request((const unsigned char *)buf, len))
		return (int)write(fd, buf, len);
	iov[0].iov_base = buf;
	iov[0].iov_len = len;
	iov[1].iov_base = trailer;
	iov[1].iov_len = sizeof(trailer);
	n = writev(fd, iov, 2);
	if (n < 0)
		return -1;
	/* a short write: libfcgi writes the rest, and the trailer with it */
	return (size_t)n >= len ? (int)len : (int)n;
}

/* A key for the peer: the process on a unix socket (all of nginx's workers
 * are separate processes), the address over TCP. */
static uint64_t
peer_of(int fd, const struct sockaddr_storage *addr)
{
	uint64_t key = 1469598103934665603ULL;  /* FNV-1a over the address */
	const unsigned char *bytes = NULL;
	size_t n = 0, i;

	if (addr->ss_family == AF_UNIX) {
		struct ucred cred;
		socklen_t cred_len = sizeof(cred);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0)
			return 0;
		return (1ULL << 62) | (uint64_t)(uint32_t)cred.pid;
	}
	if (addr->ss_family == AF_INET) {
		bytes = (const unsigned char *)&((const struct sockaddr_in *)addr)->sin_addr;
		n = sizeof(struct in_addr);
	} else if (addr->ss_family == AF_INET6) {
		bytes = (const unsigned char *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
		n = sizeof(struct in6_addr);
	}
	for (i = 0; i < n; i++)
		key = (key ^ bytes[i]) * 1099511628211ULL;
	return key;
}

/* The waiting list, oldest first. Callers hold set->lock. */
static void
list_append(struct connection_set *set, struct fastcgi_connection *conn)
{
	conn->waiting_since_ms = monotonic_ms();
	conn->prev = set->newest;
	conn->next = NULL;
	if (set->newest != NULL)
		set->newest->next = conn;
	else
		set->oldest = conn;
	set->newest = conn;
	conn->listed = true;
}

static void
list_remove(struct connection_set *set, struct fastcgi_connection *conn)
{
	if (!conn->listed)
		return;
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		set->oldest = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	else
		set->newest = conn->prev;
	conn->prev = conn->next = NULL;
	conn->listed = false;
}

/* Takes a waiting connection out of the list and shuts it down: its next
 * event (end-of-file, at once) goes to a thread, which closes it. Callers
 * hold set->lock. */
static void
shut(struct connection_set *set, struct fastcgi_connection *conn)
{
	list_remove(set, conn);
	conn->shut = true;
	shutdown(conn->fd, SHUT_RDWR);
}

/* Frees a connection that is in no list; closes its descriptor unless
 * libfcgi already has. */
static void
connection_free(struct connection_set *set, struct fastcgi_connection *conn, bool close_fd)
{
	if (close_fd)
		close(conn->fd);
	free(conn->buf);
	free(conn);
	pthread_mutex_lock(&set->lock);
	set->open--;
	pthread_mutex_unlock(&set->lock);
}

/* Watches a descriptor for its next readiness (op: EPOLL_CTL_ADD for one
 * new to the set, EPOLL_CTL_MOD to re-arm). Returns 0 or -1. */
static int
arm(struct connection_set *set, int op, int fd, void *ptr)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.ptr = ptr;
	return epoll_ctl(set->epoll_fd, op, fd, &ev);
}

/* Puts a connection back to wait for its next bytes. */
static void
connection_wait(struct connection_set *set, struct fastcgi_connection *conn)
{
	pthread_mutex_lock(&set->lock);
	list_append(set, conn);
	pthread_mutex_unlock(&set->lock);
	if (arm(set, EPOLL_CTL_MOD, conn->fd, conn) != 0) {
		pthread_mutex_lock(&set->lock);
		list_remove(set, conn);
		pthread_mutex_unlock(&set->lock);
		connection_free(set, conn, true);
	}
}

/* See connection_set.h. Why: a libfcgi linked so that its calls bind to its
 * own OS_Read (statically, or with -Bsymbolic) would read every request
 * from an empty socket. libfcgi is handed a buffered request on a
 * non-blocking socket pair with nothing in it: only this file's OS_Read
 * can give it the request. */
int
connection_set_check_reader(void)
{
	unsigned char probe[] = {
		1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0,         /* begin: responder, keep */
		1, 4, 0, 1, 0, 17, 7, 0, 14, 1, 'R', 'E', 'Q', 'U', 'E', 'S', 'T', '_',
		'M', 'E', 'T', 'H', 'O', 'D', 'G', 0, 0, 0, 0, 0, 0, 0,  /* REQUEST_METHOD=G, padded */
		1, 4, 0, 1, 0, 0, 0, 0,                                 /* end of params */
		1, 5, 0, 1, 0, 0, 0, 0,                                 /* end of stdin */
	};
	struct fastcgi_connection conn;
	struct fastcgi_request_limits limits = {
		FASTCGI_NAME_MAX_DEFAULT, FASTCGI_VALUE_MAX_DEFAULT,
		FASTCGI_PARAMS_MAX_DEFAULT, FASTCGI_STDIN_MAX_DEFAULT };
	FCGX_Request request;
	const char *method;
	int fds[2], ret = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
		return -1;
	memset(&conn, 0, sizeof(conn));
	conn.fd = fds[0];
	conn.buf = probe;
	conn.len = conn.cap = sizeof(probe);
	fastcgi_request_scan_reset(&conn.scan);
	if (fastcgi_request_scan(&conn.scan, probe, sizeof(probe), &limits) != FASTCGI_SCAN_COMPLETE ||
	    FCGX_InitRequest(&request, -1, 0) != 0)
		goto out;
	request.ipcFd = fds[0];
	request.keepConnection = 1;
	reading = &conn;
	if (FCGX_Accept_r(&request) == 0) {
		method = FCGX_GetParam("REQUEST_METHOD", request.envp);
		ret = method != NULL && strcmp(method, "G") == 0 ? 0 : -1;
		request.detached = 1;
		FCGX_Finish_r(&request);
	}
	reading = NULL;
	if (request.ipcFd >= 0)
		fds[0] = request.ipcFd;
	else
		fds[0] = -1;    /* libfcgi closed it */
	FCGX_Free(&request, 0);
out:
	if (fds[0] >= 0)
		close(fds[0]);
	close(fds[1]);
	return ret;
}

int
connection_set_open(struct connection_set *set, int listen_fd)
{
	struct itimerspec every = {
		{ 0, SWEEP_INTERVAL_MS * 1000000L }, { 0, SWEEP_INTERVAL_MS * 1000000L } };
	struct rlimit files;
	int flags, saved;

	memset(set, 0, sizeof(*set));
	set->epoll_fd = set->timer_fd = -1;
	set->listen_fd = listen_fd;
	set->limits.name_max = FASTCGI_NAME_MAX_DEFAULT;
	set->limits.value_max = FASTCGI_VALUE_MAX_DEFAULT;
	set->limits.params_max = FASTCGI_PARAMS_MAX_DEFAULT;
	set->limits.stdin_max = FASTCGI_STDIN_MAX_DEFAULT;
	set->open_max = 1024 - DESCRIPTOR_RESERVE;
	if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
	    files.rlim_cur > 2 * DESCRIPTOR_RESERVE)
		set->open_max = (size_t)files.rlim_cur - DESCRIPTOR_RESERVE;
	if (pthread_mutex_init(&set->lock, NULL) != 0)
		return -1;
	set->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (set->epoll_fd < 0)
		goto fail;
	flags = fcntl(listen_fd, F_GETFL);
	if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) != 0)
		goto fail;
	if (arm(set, EPOLL_CTL_ADD, listen_fd, &set->listen_fd) != 0)
		goto fail;
	set->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (set->timer_fd < 0 || timerfd_settime(set->timer_fd, 0, &every, NULL) != 0 ||
	    arm(set, EPOLL_CTL_ADD, set->timer_fd, &set->timer_fd) != 0)
		goto fail;
	return 0;
fail:
	saved = errno;
	if (set->timer_fd >= 0)
		close(set->timer_fd);
	if (set->epoll_fd >= 0)
		close(set->epoll_fd);
	set->epoll_fd = set->timer_fd = -1;
	pthread_mutex_destroy(&set->lock);
	errno = saved;
	return -1;
}

void
connection_set_close(struct connection_set *set)
{
	struct fastcgi_connection *conn;

	if (set->epoll_fd < 0)
		return;
	while ((conn = set->oldest) != NULL) {
		list_remove(set, conn);
		connection_free(set, conn, true);
	}
	close(set->timer_fd);
	close(set->epoll_fd);
	set->epoll_fd = set->timer_fd = -1;
	pthread_mutex_destroy(&set->lock);
}

int
connection_set_request_init(FCGX_Request *request)
{
	return FCGX_InitRequest(request, -1, 0);
}

/* Makes room for a new connection of peer: shuts down that peer's oldest
 * waiting connection when it has too many, and the oldest waiting one of
 * all when the process is at its descriptor budget. Callers hold the lock. */
static void
make_room(struct connection_set *set, uint64_t peer)
{
	struct fastcgi_connection *conn, *oldest_of_peer = NULL;
	size_t of_peer = 0;

	for (conn = set->oldest; conn != NULL; conn = conn->next)
		if (conn->peer == peer && of_peer++ == 0)
			oldest_of_peer = conn;
	if (of_peer >= CONNECTION_PEER_WAITING_MAX) {
		shut(set, oldest_of_peer);
		set->closed_over_limit++;
	}
	if (set->open >= set->open_max && set->oldest != NULL) {
		shut(set, set->oldest);
		set->closed_over_limit++;
	}
}

/* Takes the listening socket's whole backlog into the set. A new
 * connection is served only once a request has arrived on it, like a kept
 * one: a peer that connects and sends nothing holds no thread, and a new
 * connection waits its turn behind the connections already ready, not
 * once per connection ahead of it in the backlog (taking one per wake-up
 * made the p99 at 128 concurrent requests 0.6 s). A TCP peer outside the
 * allow-list is closed at once. Returns accept4's last errno. */
static int
accept_backlog(struct connection_set *set)
{
	struct timeval write_timeout = {
		CONNECTION_WRITE_TIMEOUT_MS / 1000, (CONNECTION_WRITE_TIMEOUT_MS % 1000) * 1000 };
	struct sockaddr_storage addr;
	socklen_t addr_len = sizeof(addr);
	int fd, one = 1;

	while ((fd = accept4(set->listen_fd, (struct sockaddr *)&addr, &addr_len, SOCK_CLOEXEC)) >= 0) {
		struct fastcgi_connection *conn;
		bool tcp = addr.ss_family == AF_INET || addr.ss_family == AF_INET6;

		if (tcp && (set->allow == NULL ||
		    !peer_allow_contains(set->allow, (struct sockaddr *)&addr, addr_len))) {
			close(fd);
			pthread_mutex_lock(&set->lock);
			set->refused_peers++;
			pthread_mutex_unlock(&set->lock);
			addr_len = sizeof(addr);
			continue;
		}
		conn = calloc(1, sizeof(*conn));
		if (conn == NULL) {
			close(fd);
			addr_len = sizeof(addr);
			continue;
		}
		conn->fd = fd;
		conn->peer = peer_of(fd, &addr);
		addr_len = sizeof(addr);
		fastcgi_request_scan_reset(&conn->scan);
		/* a peer that stops reading its answers cannot hold the thread
		 * writing one for longer than this */
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &write_timeout, sizeof(write_timeout));
		if (tcp)        /* an answer is one write: send it now */
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_mutex_lock(&set->lock);
		make_room(set, conn->peer);
		set->open++;
		list_append(set, conn);
		pthread_mutex_unlock(&set->lock);
		if (arm(set, EPOLL_CTL_ADD, fd, conn) != 0) {
			pthread_mutex_lock(&set->lock);
			list_remove(set, conn);
			pthread_mutex_unlock(&set->lock);
			connection_free(set, conn, true);
		}
	}
	return errno;
}

static void
accept_connections(struct connection_set *set)
{
	int error = accept_backlog(set);

	if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
		struct timespec pause = {0, ACCEPT_BACKOFF_MS * 1000000L};
		nanosleep(&pause, NULL);
	}
	if (arm(set, EPOLL_CTL_MOD, set->listen_fd, &set->listen_fd) != 0)
		log_messagef(LOG_ERROR, "fastcgi_listen_failed", "cannot watch the listening socket: %s",
		    strerror(errno));
}

/* The drain's first step: takes what is queued on the listening socket,
 * then shuts the socket, so that every later connect is refused (a unix
 * socket keeps connections queued before the shutdown, which are taken
 * too; TCP resets them, and the window between the last accept and the
 * shutdown is the one race left), and stops watching it. */
static void
stop_listening(struct connection_set *set)
{
	(void)accept_backlog(set);
	if (shutdown(set->listen_fd, SHUT_RD) != 0 && errno != ENOTCONN)
		log_messagef(LOG_ERROR, "fastcgi_listen_failed", "cannot shut the listening socket: %s",
		    strerror(errno));
	(void)accept_backlog(set);
	(void)epoll_ctl(set->epoll_fd, EPOLL_CTL_DEL, set->listen_fd, NULL);
}

/* Called while *stop is set: begins the drain once, then returns how long
 * to wait for events, or -1 when the drain is over (no connection left,
 * or its time is up). */
static int
drain_step(struct connection_set *set)
{
	bool begin = false;
	long long now = monotonic_ms(), left;
	size_t open;

	pthread_mutex_lock(&set->lock);
	if (!set->draining) {
		set->draining = true;
		set->drain_deadline_ms = now + (set->drain_ms > 0 ? set->drain_ms : 0);
		begin = true;
	}
	left = set->drain_deadline_ms - now;
	pthread_mutex_unlock(&set->lock);
	if (begin)
		stop_listening(set);
	pthread_mutex_lock(&set->lock);
	open = set->open;
	pthread_mutex_unlock(&set->lock);
	if (open == 0 || left <= 0)
		return -1;
	return left < DRAIN_POLL_MS ? (int)left : DRAIN_POLL_MS;
}

/* Shuts down every connection whose request has been arriving for too
 * long, and says what the set closed since the last time. */
static void
sweep(struct connection_set *set)
{
	struct fastcgi_connection *conn, *next;
	unsigned long late, over, invalid, refused;
	long long now = monotonic_ms();
	uint64_t expirations;

	if (read(set->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_messagef(LOG_ERROR, "fastcgi_timer_failed", "%s", strerror(errno));
	pthread_mutex_lock(&set->lock);
	for (conn = set->oldest; conn != NULL; conn = next) {
		next = conn->next;
		if (conn->first_byte_ms != 0 && now - conn->first_byte_ms > CONNECTION_PARTIAL_REQUEST_MS) {
			shut(set, conn);
			set->closed_late++;
		}
	}
	late = set->closed_late;
	over = set->closed_over_limit;
	invalid = set->closed_invalid;
	refused = set->refused_peers;
	set->closed_late = set->closed_over_limit = set->closed_invalid = set->refused_peers = 0;
	pthread_mutex_unlock(&set->lock);
	if (refused + late + over + invalid > 0 && log_enabled(LOG_WARN)) {
		struct log_line line;

		log_begin(&line, LOG_WARN, "fastcgi_connections_closed");
		log_int(&line, "refused_outside_allow_list", (long long)refused);
		log_int(&line, "request_not_whole_in_time", (long long)late);
		log_int(&line, "over_peer_or_descriptor_limit", (long long)over);
		log_int(&line, "invalid_request", (long long)invalid);
		log_int(&line, "partial_request_ms", CONNECTION_PARTIAL_REQUEST_MS);
		log_end(&line);
	}
	(void)arm(set, EPOLL_CTL_MOD, set->timer_fd, &set->timer_fd);
}

/* Receives what has arrived on a connection into its buffer, without
 * blocking, and scans it. */
static enum receive_result
receive(struct connection_set *set, struct fastcgi_connection *conn)
{
	size_t max_len = fastcgi_request_max_len(&set->limits);

	for (;;) {
		enum fastcgi_scan_result scanned;
		size_t space;
		ssize_t n;

		if (conn->len == conn->cap) {
			size_t cap = conn->cap == 0 ? BUFFER_INITIAL : conn->cap * 2;
			unsigned char *buf;

			if (cap > max_len)
				cap = max_len;
			if (cap <= conn->cap)
				return RECEIVE_DROP;    /* the scan bounds a request below this */
			buf = realloc(conn->buf, cap);
			if (buf == NULL)
				return RECEIVE_DROP;
			conn->buf = buf;
			conn->cap = cap;
		}
		space = conn->cap - conn->len;
		n = recv(conn->fd, conn->buf + conn->len, space, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return RECEIVE_MORE;
		if (n <= 0)
			return RECEIVE_DROP;    /* closed by the peer, or shut down by the set */
		if (conn->len == 0)
			conn->first_byte_ms = monotonic_ms();
		conn->len += (size_t)n;
		scanned = fastcgi_request_scan(&conn->scan, conn->buf, conn->len, &set->limits);
		if (scanned == FASTCGI_SCAN_COMPLETE)
			return RECEIVE_WHOLE;
		if (scanned == FASTCGI_SCAN_INVALID) {
			pthread_mutex_lock(&set->lock);
			set->closed_invalid++;
			pthread_mutex_unlock(&set->lock);
			return RECEIVE_DROP;
		}
		if ((size_t)n < space)
			return RECEIVE_MORE;    /* the socket is empty for now */
	}
}

/* Whether the peer has left so much of earlier answers unread that writing
 * another could block. */
static bool
answers_unread(int fd)
{
	int queued = 0;

	return ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > CONNECTION_UNREAD_ANSWER_MAX;
}

int
connection_set_next(struct connection_set *set, FCGX_Request *request,
    const volatile sig_atomic_t *stop)
{
	for (;;) {
		struct fastcgi_connection *conn;
		struct epoll_event ev;
		bool was_shut;
		int n, timeout = -1;

		if (*stop && (timeout = drain_step(set)) < 0)
			return -1;
		if (timeout != 0)
			log_flush();    /* nothing of this thread's waits while it sleeps */
		n = epoll_wait(set->epoll_fd, &ev, 1, timeout);
		if (n < 0 && errno == EINTR)
			continue;       /* the stop signal: begin the drain */
		if (n < 0)
			return -1;
		if (n == 0)
			continue;       /* draining: look whether it is over */
		if (ev.data.ptr == &set->listen_fd) {
			if (!*stop)
				accept_connections(set);
			continue;
		}
		if (ev.data.ptr == &set->timer_fd) {
			sweep(set);
			continue;
		}
		conn = ev.data.ptr;
		pthread_mutex_lock(&set->lock);
		list_remove(set, conn);
		was_shut = conn->shut;
		pthread_mutex_unlock(&set->lock);
		if (was_shut) {
			connection_free(set, conn, true);
			continue;
		}
		switch (receive(set, conn)) {
		case RECEIVE_MORE:
			connection_wait(set, conn);
			continue;
		case RECEIVE_DROP:
			connection_free(set, conn, true);
			continue;
		case RECEIVE_WHOLE:
			break;
		}
		if (answers_unread(conn->fd)) {
			connection_free(set, conn, true);
			continue;
		}
		request->ipcFd = conn->fd;
		/* FCGX_Accept_r first ends "the previous request" and would close
		 * the descriptor unless that request kept its connection */
		request->keepConnection = 1;
		conn->read_pos = 0;
		reading = conn;
		if (FCGX_Accept_r(request) == 0)
			return 0;
		/* libfcgi refused what the scan let through, and closed it */
		reading = NULL;
		connection_free(set, conn, false);
	}
}

void
connection_set_finish(struct connection_set *set, FCGX_Request *request)
{
	struct fastcgi_connection *conn = reading;
	size_t request_len = conn->scan.request_len;

	pthread_mutex_lock(&set->lock);
	conn->closing = set->draining;
	pthread_mutex_unlock(&set->lock);
	fcgi_finish_promptly(request);
	reading = NULL;
	if (request->ipcFd < 0) {
		connection_free(set, conn, false);      /* not kept: libfcgi closed it */
		return;
	}
	request->ipcFd = -1;
	/* nginx sends a connection's next request only after the answer; bytes
	 * already behind this request are a peer not speaking that protocol */
	if (conn->len != request_len || conn->closing) {
		connection_free(set, conn, true);
		return;
	}
	conn->len = 0;
	conn->first_byte_ms = 0;
	fastcgi_request_scan_reset(&conn->scan);
	if (conn->cap > BUFFER_INITIAL) {      /* an idle connection keeps a small buffer */
		free(conn->buf);
		conn->buf = NULL;
		conn->cap = 0;
	}
	connection_wait(set, conn);
}
