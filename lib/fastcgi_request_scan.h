/* fastcgi_request_scan.h: decides, over the bytes received so far on a
 * FastCGI connection, whether they hold one whole, well-formed and bounded
 * request. Pure: no I/O.
 *
 * Why: libfcgi reads a request with blocking reads and no time bound, and
 * allocates whatever length a FCGI_PARAMS record declares (a name of
 * 0x40000000 bytes aborts it in Malloc's assert). The app therefore buffers
 * each request itself and hands it to libfcgi only once this scan says it
 * is complete and inside the limits below (fcgi/connection_set.c).
 *
 * A request is what nginx sends: FCGI_BEGIN_REQUEST (role RESPONDER), its
 * FCGI_PARAMS records up to the empty one, then its FCGI_STDIN records up
 * to the empty one, all with one request id. Anything else (management
 * records, other roles, a second request id, FCGI_DATA, FCGI_ABORT_REQUEST,
 * a record of a type the app does not receive) is refused. */
#ifndef FASTCGI_REQUEST_SCAN_H
#define FASTCGI_REQUEST_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#define FASTCGI_HEADER_LEN 8

/* The limits a request must stay inside. The defaults cover what nginx
 * sends for this service (client_max_body_size 64k; every request header,
 * within large_client_header_buffers 4 x 8k, as an HTTP_* parameter) with
 * room to spare. */
struct fastcgi_request_limits {
	size_t name_max;        /* one parameter's name */
	size_t value_max;       /* one parameter's value */
	size_t params_max;      /* all FCGI_PARAMS content together */
	size_t stdin_max;       /* all FCGI_STDIN content together (the body) */
};

#define FASTCGI_NAME_MAX_DEFAULT 256
#define FASTCGI_VALUE_MAX_DEFAULT (16 * 1024)
#define FASTCGI_PARAMS_MAX_DEFAULT (64 * 1024)
#define FASTCGI_STDIN_MAX_DEFAULT (128 * 1024)
/* records in one request: nginx sends a handful; without a bound, content
 * split into one-byte records with 255 bytes of padding each would let a
 * request's size grow 264-fold past the content limits */
#define FASTCGI_RECORDS_MAX 256

enum fastcgi_scan_result {
	FASTCGI_SCAN_INCOMPLETE,        /* valid so far; more bytes are needed */
	FASTCGI_SCAN_COMPLETE,          /* one whole request: see request_len */
	FASTCGI_SCAN_INVALID,           /* refuse the connection: see reason */
};

enum fastcgi_scan_phase {
	FASTCGI_PHASE_BEGIN,
	FASTCGI_PHASE_PARAMS,
	FASTCGI_PHASE_STDIN,
	FASTCGI_PHASE_DONE,
};

/* Where the scan of one connection's buffer stands. Records already
 * scanned are not looked at again, so bytes that trickle in cost a scan of
 * only what is new. Zero it (fastcgi_request_scan_reset) for each request. */
struct fastcgi_request_scan {
	enum fastcgi_scan_phase phase;
	size_t scanned;         /* offset of the next record header */
	size_t params_start;    /* offset of the first FCGI_PARAMS record */
	size_t params_len;      /* FCGI_PARAMS content so far */
	size_t stdin_len;       /* FCGI_STDIN content so far */
	size_t records;         /* records so far */
	unsigned request_id;
	bool keep_connection;   /* FCGI_KEEP_CONN in the begin record */
	size_t request_len;     /* COMPLETE: bytes of the whole request */
	const char *reason;     /* INVALID: why, for the log (static) */
};

void fastcgi_request_scan_reset(struct fastcgi_request_scan *scan);

/* Continues the scan over buf[0..len) (the same buffer as before, possibly
 * longer). Returns COMPLETE once the empty FCGI_STDIN record has arrived
 * (scan->request_len is then the request's length; bytes after it belong
 * to no request yet), INCOMPLETE while everything so far is valid, or
 * INVALID. Once COMPLETE or INVALID it keeps returning that. */
enum fastcgi_scan_result fastcgi_request_scan(struct fastcgi_request_scan *scan,
    const unsigned char *buf, size_t len, const struct fastcgi_request_limits *limits);

/* The largest buffer a request within limits can need: the bound on what
 * the app holds per connection. */
size_t fastcgi_request_max_len(const struct fastcgi_request_limits *limits);

#endif
