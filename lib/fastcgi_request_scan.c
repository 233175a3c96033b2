/* fastcgi_request_scan.c: see fastcgi_request_scan.h. Record layout and
 * name-value encoding as in the FastCGI specification, section 3. */
#include <string.h>

#include "fastcgi_request_scan.h"

enum {
	FCGI_VERSION_1 = 1,
	FCGI_BEGIN_REQUEST = 1,
	FCGI_PARAMS = 4,
	FCGI_STDIN = 5,
	FCGI_RESPONDER = 1,
	FCGI_KEEP_CONN = 1,
	FCGI_BEGIN_BODY_LEN = 8,
	FCGI_PADDING_MAX = 255,
};

void
fastcgi_request_scan_reset(struct fastcgi_request_scan *scan)
{
	memset(scan, 0, sizeof(*scan));
	scan->phase = FASTCGI_PHASE_BEGIN;
}

size_t
fastcgi_request_max_len(const struct fastcgi_request_limits *limits)
{
	return FASTCGI_HEADER_LEN + FCGI_BEGIN_BODY_LEN + limits->params_max + limits->stdin_max +
	    (size_t)FASTCGI_RECORDS_MAX * (FASTCGI_HEADER_LEN + FCGI_PADDING_MAX);
}

/* Reads the FCGI_PARAMS content of a finished params stream byte by byte,
 * across record boundaries: the records from params_start up to (not
 * including) the empty one at params_end. */
struct params_cursor {
	const unsigned char *buf;
	size_t record;          /* offset of the current record's header */
	size_t pos;             /* offset of the next content byte */
	size_t content_end;     /* end of the current record's content */
	size_t params_end;
};

static void
params_cursor_enter(struct params_cursor *c, size_t record)
{
	const unsigned char *h = c->buf + record;
	size_t content = ((size_t)h[4] << 8) | h[5];

	c->record = record;
	c->pos = record + FASTCGI_HEADER_LEN;
	c->content_end = c->pos + content;
}

/* Moves c->pos onto a content byte, past records whose content is used up.
 * Returns 0, or -1 at the end of the stream. */
static int
params_cursor_settle(struct params_cursor *c)
{
	while (c->pos == c->content_end) {
		size_t next = c->content_end + c->buf[c->record + 6];  /* past the padding */

		if (next >= c->params_end)
			return -1;
		params_cursor_enter(c, next);
	}
	return 0;
}

/* Returns the next content byte, or -1 at the end of the stream. */
static int
params_cursor_next(struct params_cursor *c)
{
	if (params_cursor_settle(c) != 0)
		return -1;
	return c->buf[c->pos++];
}

/* Reads a name or value length: one byte, or four with the top bit set.
 * Returns 0, or -1 when the stream ends inside it. */
static int
params_read_length(struct params_cursor *c, size_t *out)
{
	int b = params_cursor_next(c), i;
	size_t n;

	if (b < 0)
		return -1;
	if ((b & 0x80) == 0) {
		*out = (size_t)b;
		return 0;
	}
	n = (size_t)(b & 0x7f);
	for (i = 0; i < 3; i++) {
		if ((b = params_cursor_next(c)) < 0)
			return -1;
		n = (n << 8) | (size_t)b;
	}
	*out = n;
	return 0;
}

/* Skips n content bytes. Returns 0, or -1 when the stream is shorter. */
static int
params_skip(struct params_cursor *c, size_t n)
{
	while (n > 0) {
		size_t here;

		if (params_cursor_settle(c) != 0)
			return -1;
		here = c->content_end - c->pos;
		if (here > n)
			here = n;
		c->pos += here;
		n -= here;
	}
	return 0;
}

/* Checks every name-value pair of the finished params stream against the
 * limits. Returns NULL, or why it is refused. */
static const char *
params_check(const unsigned char *buf, size_t params_start, size_t params_end,
    const struct fastcgi_request_limits *limits)
{
	struct params_cursor c;

	if (params_start == params_end)
		return NULL;
	c.buf = buf;
	c.params_end = params_end;
	params_cursor_enter(&c, params_start);
	for (;;) {
		size_t name_len, value_len;

		if (params_cursor_settle(&c) != 0)
			return NULL;    /* every pair read */
		if (params_read_length(&c, &name_len) != 0 || params_read_length(&c, &value_len) != 0)
			return "a parameter's length is cut off";
		if (name_len == 0)
			return "a parameter has an empty name";
		if (name_len > limits->name_max)
			return "a parameter's name is too long";
		if (value_len > limits->value_max)
			return "a parameter's value is too long";
		if (params_skip(&c, name_len) != 0 || params_skip(&c, value_len) != 0)
			return "a parameter is longer than the params stream";
	}
}

enum fastcgi_scan_result
fastcgi_request_scan(struct fastcgi_request_scan *scan, const unsigned char *buf, size_t len,
    const struct fastcgi_request_limits *limits)
{
	if (scan->phase == FASTCGI_PHASE_DONE)
		return scan->reason ? FASTCGI_SCAN_INVALID : FASTCGI_SCAN_COMPLETE;

	while (len - scan->scanned >= FASTCGI_HEADER_LEN) {
		const unsigned char *h = buf + scan->scanned;
		unsigned version = h[0], type = h[1];
		unsigned request_id = ((unsigned)h[2] << 8) | h[3];
		size_t content = ((size_t)h[4] << 8) | h[5];
		size_t record_len = FASTCGI_HEADER_LEN + content + h[6];

		if (version != FCGI_VERSION_1) {
			scan->reason = "not FastCGI version 1";
			goto invalid;
		}
		if (++scan->records > FASTCGI_RECORDS_MAX) {
			scan->reason = "too many records";
			goto invalid;
		}
		switch (scan->phase) {
		case FASTCGI_PHASE_BEGIN:
			if (type != FCGI_BEGIN_REQUEST || content != FCGI_BEGIN_BODY_LEN) {
				scan->reason = "the first record is not a begin-request";
				goto invalid;
			}
			if (request_id == 0) {
				scan->reason = "a begin-request with request id 0";
				goto invalid;
			}
			break;
		case FASTCGI_PHASE_PARAMS:
		case FASTCGI_PHASE_STDIN:
			if (request_id != scan->request_id) {
				scan->reason = "a record for another request id";
				goto invalid;
			}
			if (type != (scan->phase == FASTCGI_PHASE_PARAMS ? FCGI_PARAMS : FCGI_STDIN)) {
				scan->reason = "a record out of order";
				goto invalid;
			}
			break;
		case FASTCGI_PHASE_DONE:
			break;
		}
		/* the limits are checked on the declared length, before waiting
		 * for the content to arrive */
		if (scan->phase == FASTCGI_PHASE_PARAMS && content > limits->params_max - scan->params_len) {
			scan->reason = "the parameters are too long";
			goto invalid;
		}
		if (scan->phase == FASTCGI_PHASE_STDIN && content > limits->stdin_max - scan->stdin_len) {
			scan->reason = "the body is too long";
			goto invalid;
		}
		if (len - scan->scanned < record_len)
			break;          /* the record's content is still on its way */

		switch (scan->phase) {
		case FASTCGI_PHASE_BEGIN: {
			const unsigned char *body = h + FASTCGI_HEADER_LEN;
			unsigned role = ((unsigned)body[0] << 8) | body[1];

			if (role != FCGI_RESPONDER) {
				scan->reason = "a role other than responder";
				goto invalid;
			}
			scan->request_id = request_id;
			scan->keep_connection = (body[2] & FCGI_KEEP_CONN) != 0;
			scan->phase = FASTCGI_PHASE_PARAMS;
			scan->params_start = scan->scanned + record_len;
			break;
		}
		case FASTCGI_PHASE_PARAMS:
			scan->params_len += content;
			if (content == 0) {
				scan->reason = params_check(buf, scan->params_start, scan->scanned, limits);
				if (scan->reason != NULL)
					goto invalid;
				scan->phase = FASTCGI_PHASE_STDIN;
			}
			break;
		case FASTCGI_PHASE_STDIN:
			scan->stdin_len += content;
			if (content == 0) {
				scan->scanned += record_len;
				scan->request_len = scan->scanned;
				scan->phase = FASTCGI_PHASE_DONE;
				return FASTCGI_SCAN_COMPLETE;
			}
			break;
		case FASTCGI_PHASE_DONE:
			break;
		}
		scan->scanned += record_len;
	}
	return FASTCGI_SCAN_INCOMPLETE;
invalid:
	scan->phase = FASTCGI_PHASE_DONE;
	return FASTCGI_SCAN_INVALID;
}
