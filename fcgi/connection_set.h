/* connection_set.h: a worker process's FastCGI connections, in one epoll
 * set: the listening socket, every connection nginx keeps alive
 * (fastcgi_keep_conn) while it waits for its next request, and every
 * connection whose request is still arriving. A request reaches a thread
 * only once all of it has arrived and lies inside the limits of
 * lib/fastcgi_request_scan.h, so no peer can hold a thread by sending
 * slowly or not at all, nor make libfcgi allocate what it declares. */
#ifndef CONNECTION_SET_H
#define CONNECTION_SET_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <fcgiapp.h>

#include "fastcgi_request_scan.h"
#include "peer_allow.h"

struct fastcgi_connection;

struct connection_set {
	int epoll_fd;
	int listen_fd;
	int timer_fd;           /* the periodic sweep of late requests */
	struct fastcgi_request_limits limits;
	size_t open_max;        /* connections held before the oldest waiting one is closed */
	const struct peer_allow_list *allow;    /* TCP peers allowed; NULL: a unix socket */
	int drain_ms;           /* how long a drain may last (see connection_set_next) */
	pthread_mutex_t lock;   /* guards what follows */
	struct fastcgi_connection *oldest, *newest;     /* waiting, by when they began to */
	size_t open;            /* connections open, waiting or in a thread */
	bool draining;
	long long drain_deadline_ms;
	unsigned long closed_late, closed_over_limit, closed_invalid, refused_peers;  /* for the sweep's log line */
};

/* Watches listen_fd (made non-blocking: every thread of every worker
 * process accepts from it). The caller may then set allow (for a TCP
 * listener) and drain_ms. Returns 0, or -1 with errno. */
int connection_set_open(struct connection_set *set, int listen_fd);
/* Closes every connection still waiting, and the set. */
void connection_set_close(struct connection_set *set);

/* Checks that libfcgi reads requests through the set's buffer (the app's
 * OS_Read), after FCGX_Init and before serving. Returns 0, or -1: the
 * requests could not be bounded, and the app must not start. */
int connection_set_check_reader(void);

/* Initialises a thread's request for use with the set. Returns 0 or -1. */
int connection_set_request_init(FCGX_Request *request);

/* Waits for the next whole request on any connection and has libfcgi read
 * its parameters (FCGX_Accept_r) into request, from the set's buffer.
 * Returns 0 with a request to answer. Once *stop is set the set drains:
 * it takes what is already queued on the listening socket, shuts the
 * socket so that new connections are refused (nginx then tries another
 * upstream server, which is safe for any request), and goes on answering
 * requests on the connections it has, closing each connection after its
 * answer in a way that nginx does not keep it (see OS_Write). It returns
 * -1 once no connection is left (nginx closes its idle kept ones after
 * its upstream keepalive_timeout) or drain_ms has passed. Any number of
 * threads may wait at once; each ready connection goes to one of them. */
int connection_set_next(struct connection_set *set, FCGX_Request *request,
    const volatile sig_atomic_t *stop);

/* Ends the answered request without libfcgi's lingering close
 * (fcgi_finish_promptly) and, if nginx keeps the connection, returns it to
 * the set for its next request. */
void connection_set_finish(struct connection_set *set, FCGX_Request *request);

/* Limits of the set, for the README and the tests: a request must arrive
 * whole within PARTIAL_REQUEST_MS of its first byte; one peer (a process
 * on the unix socket, an address over TCP) keeps at most
 * PEER_WAITING_MAX connections waiting in one worker process; a
 * connection whose peer has left this many bytes of answers unread gets no
 * further request read; a blocked write gives up after WRITE_TIMEOUT_MS. */
#define CONNECTION_PARTIAL_REQUEST_MS 3000
#define CONNECTION_PEER_WAITING_MAX 512
#define CONNECTION_UNREAD_ANSWER_MAX (64 * 1024)
#define CONNECTION_WRITE_TIMEOUT_MS 5000

#endif
