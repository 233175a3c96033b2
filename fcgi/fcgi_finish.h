/* fcgi_finish.h: ends a FastCGI request without libfcgi's lingering close.
 *
 * FCGX_Finish_r half-closes the connection (shutdown(SHUT_WR)) and then
 * blocks in poll() until nginx closes its end: one more wake-up, and a
 * worker thread held idle, for every request. That linger protects a
 * response from a reset when unread input is left in the socket. So: read
 * what is left of FCGI_STDIN to its end (the request is answered by now;
 * nginx bounds the body), then mark the request detached so libfcgi's close
 * is a plain close(2). nginx reads the whole response, then end-of-file.
 * Shared by the app (main.c) and the benchmark's bare responder, so both
 * measure the same FastCGI hop. */
#ifndef FCGI_FINISH_H
#define FCGI_FINISH_H

#include <fcgiapp.h>

static inline void
fcgi_finish_promptly(FCGX_Request *request)
{
	char scratch[4096];

	while (FCGX_GetStr(scratch, (int)sizeof(scratch), request->in) > 0)
		;
	request->detached = 1;  /* libfcgi resets it when it closes */
	FCGX_Finish_r(request);
}

#endif
