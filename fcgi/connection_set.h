/* connection_set.h: a worker process's FastCGI connections, in one epoll
 * set: the listening socket, and every connection nginx keeps alive
 * (fastcgi_keep_conn) while it waits for its next request. */
#ifndef CONNECTION_SET_H
#define CONNECTION_SET_H

#include <signal.h>
#include <fcgiapp.h>

struct connection_set {
	int epoll_fd;
	int listen_fd;
};

/* Watches listen_fd (made non-blocking: every thread of every worker
 * process accepts from it). Returns 0, or -1 with errno. */
int connection_set_open(struct connection_set *set, int listen_fd);
void connection_set_close(struct connection_set *set);

/* Initialises a thread's request for use with the set. Returns 0 or -1. */
int connection_set_request_init(FCGX_Request *request);

/* Waits for the next request on any connection and reads its parameters
 * (FCGX_Accept_r) into request. Returns 0 with a request to answer, or -1
 * once *stop is set: from then on it accepts no new connection and only
 * answers requests that have already arrived, without waiting. Any number
 * of threads may wait at once; each ready connection goes to one of them. */
int connection_set_next(struct connection_set *set, FCGX_Request *request,
    const volatile sig_atomic_t *stop);

/* Ends the answered request without libfcgi's lingering close
 * (fcgi_finish_promptly) and, if nginx keeps the connection, returns it to
 * the set for its next request. */
void connection_set_finish(struct connection_set *set, FCGX_Request *request);

#endif
