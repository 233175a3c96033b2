/* test_fastcgi_request_scan.c: the scan that decides when a connection's
 * bytes hold one whole, bounded FastCGI request: requests as nginx sends
 * them, every split of their bytes, every limit at its boundary, and each
 * refusal (the libfcgi Malloc abort's 0x40000000 lengths among them). */
#include <stdlib.h>
#include <string.h>

#include "fastcgi_request_scan.h"
#include "unit.h"

#define BUF_MAX (1024 * 1024)

static const struct fastcgi_request_limits limits = {
	.name_max = FASTCGI_NAME_MAX_DEFAULT,
	.value_max = FASTCGI_VALUE_MAX_DEFAULT,
	.params_max = FASTCGI_PARAMS_MAX_DEFAULT,
	.stdin_max = FASTCGI_STDIN_MAX_DEFAULT,
};

struct bytes {
	unsigned char *data;
	size_t len;
};

static void
put(struct bytes *b, const void *data, size_t n)
{
	if (b->len + n > BUF_MAX)
		abort();
	memcpy(b->data + b->len, data, n);
	b->len += n;
}

static void
put_record(struct bytes *b, int type, unsigned id, const void *content, size_t n, size_t padding)
{
	unsigned char h[8] = { 1, (unsigned char)type, (unsigned char)(id >> 8), (unsigned char)id,
	    (unsigned char)(n >> 8), (unsigned char)n, (unsigned char)padding, 0 };
	unsigned char pad[255] = { 0 };

	put(b, h, sizeof(h));
	put(b, content, n);
	put(b, pad, padding);
}

static void
put_begin(struct bytes *b, unsigned id, int role, int flags)
{
	unsigned char body[8] = { (unsigned char)(role >> 8), (unsigned char)role, (unsigned char)flags };

	put_record(b, 1, id, body, sizeof(body), 0);
}

static size_t
encode_length(unsigned char *out, size_t n)
{
	if (n < 128) {
		out[0] = (unsigned char)n;
		return 1;
	}
	out[0] = (unsigned char)(0x80 | (n >> 24));
	out[1] = (unsigned char)(n >> 16);
	out[2] = (unsigned char)(n >> 8);
	out[3] = (unsigned char)n;
	return 4;
}

/* Appends one encoded name-value pair of the given lengths ('n' and 'v'
 * bytes) to a params stream being built in p. */
static void
put_pair(struct bytes *p, size_t name_len, size_t value_len)
{
	unsigned char len[8];
	size_t k = encode_length(len, name_len);

	k += encode_length(len + k, value_len);
	put(p, len, k);
	memset(p->data + p->len, 'n', name_len);
	p->len += name_len;
	memset(p->data + p->len, 'v', value_len);
	p->len += value_len;
}

/* Appends a stream's content as records of at most chunk bytes each, then
 * its empty record. */
static void
put_stream(struct bytes *b, int type, unsigned id, const struct bytes *content, size_t chunk)
{
	size_t off = 0;

	while (off < content->len) {
		size_t n = content->len - off < chunk ? content->len - off : chunk;
		put_record(b, type, id, content->data + off, n, (8 - n % 8) % 8);
		off += n;
	}
	put_record(b, type, id, "", 0, 0);
}

static struct bytes
bytes_new(void)
{
	struct bytes b = { calloc(1, BUF_MAX), 0 };

	if (b.data == NULL)
		abort();
	return b;
}

/* The request nginx sends for a POST with a small JSON body. */
static struct bytes
nginx_like_request(int flags)
{
	struct bytes b = bytes_new(), params = bytes_new(), body = bytes_new();
	static const char *const pairs[][2] = {
		{ "REQUEST_METHOD", "POST" }, { "REQUEST_URI", "/api/v1/subscription/cancel" },
		{ "QUERY_STRING", "" }, { "CONTENT_TYPE", "application/json" },
		{ "CONTENT_LENGTH", "17" }, { "HTTP_AUTHORIZATION", "Bearer abc.def.ghi" },
	};
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		unsigned char len[8];
		size_t k = encode_length(len, strlen(pairs[i][0]));
		k += encode_length(len + k, strlen(pairs[i][1]));
		put(&params, len, k);
		put(&params, pairs[i][0], strlen(pairs[i][0]));
		put(&params, pairs[i][1], strlen(pairs[i][1]));
	}
	put(&body, "{\"reason\":\"test\"}", 17);
	put_begin(&b, 1, 1, flags);
	put_stream(&b, 4, 1, &params, 65535);
	put_stream(&b, 5, 1, &body, 65535);
	free(params.data);
	free(body.data);
	return b;
}

static enum fastcgi_scan_result
scan_all(const struct bytes *b, struct fastcgi_request_scan *scan)
{
	fastcgi_request_scan_reset(scan);
	return fastcgi_request_scan(scan, b->data, b->len, &limits);
}

/* Scans b as if its bytes arrived split at every point, and all at once;
 * every prefix short of the whole must be INCOMPLETE. */
static void
check_complete_at_every_split(const struct bytes *b)
{
	struct fastcgi_request_scan scan;
	size_t cut;

	for (cut = 0; cut < b->len; cut++) {
		enum fastcgi_scan_result first;

		fastcgi_request_scan_reset(&scan);
		first = fastcgi_request_scan(&scan, b->data, cut, &limits);
		if (first != FASTCGI_SCAN_INCOMPLETE) {
			UNIT_EQ_INT(first, FASTCGI_SCAN_INCOMPLETE);
			return;
		}
		if (fastcgi_request_scan(&scan, b->data, b->len, &limits) != FASTCGI_SCAN_COMPLETE ||
		    scan.request_len != b->len) {
			UNIT_EQ_INT(scan.request_len, b->len);
			return;
		}
	}
	UNIT_EQ_INT(scan_all(b, &scan), FASTCGI_SCAN_COMPLETE);
	UNIT_EQ_INT(scan.request_len, b->len);
}

static void
test_nginx_request(void)
{
	struct fastcgi_request_scan scan;
	struct bytes b = nginx_like_request(1);
	size_t whole = b.len;

	check_complete_at_every_split(&b);
	UNIT_EQ_INT(scan_all(&b, &scan), FASTCGI_SCAN_COMPLETE);
	UNIT_CHECK(scan.keep_connection);
	/* one byte at a time */
	{
		size_t n;
		enum fastcgi_scan_result r = FASTCGI_SCAN_INCOMPLETE;
		fastcgi_request_scan_reset(&scan);
		for (n = 0; n <= b.len && r == FASTCGI_SCAN_INCOMPLETE; n++)
			r = fastcgi_request_scan(&scan, b.data, n, &limits);
		UNIT_EQ_INT(r, FASTCGI_SCAN_COMPLETE);
		UNIT_EQ_INT(n, b.len + 1);
	}
	/* bytes after the request belong to no request yet */
	put(&b, "\x01\x01\x00\x02", 4);
	UNIT_EQ_INT(scan_all(&b, &scan), FASTCGI_SCAN_COMPLETE);
	UNIT_EQ_INT(scan.request_len, whole);
	/* and a finished scan keeps its answer */
	UNIT_EQ_INT(fastcgi_request_scan(&scan, b.data, b.len, &limits), FASTCGI_SCAN_COMPLETE);
	free(b.data);

	b = nginx_like_request(0);
	UNIT_EQ_INT(scan_all(&b, &scan), FASTCGI_SCAN_COMPLETE);
	UNIT_CHECK(!scan.keep_connection);
	free(b.data);
}

/* Params and body cut into records at awkward places: inside a length,
 * inside a name, one byte per record. */
static void
test_streams_split_across_records(void)
{
	size_t chunks[] = { 1, 2, 3, 5, 7, 64, 4096 };
	size_t i;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct bytes b = bytes_new(), params = bytes_new(), body = bytes_new();
		struct fastcgi_request_scan scan;

		put_pair(&params, 14, 4);
		put_pair(&params, 200, 300);    /* four-byte value length */
		put_pair(&params, 1, 0);
		memset(body.data, 'x', 100);
		body.len = 100;
		put_begin(&b, 7, 1, 0);
		put_stream(&b, 4, 7, &params, chunks[i]);
		put_stream(&b, 5, 7, &body, chunks[i]);
		if (params.len / chunks[i] + body.len / chunks[i] + 4 <= FASTCGI_RECORDS_MAX) {
			UNIT_EQ_INT(scan_all(&b, &scan), FASTCGI_SCAN_COMPLETE);
			UNIT_EQ_INT(scan.request_len, b.len);
			if (chunks[i] >= 64)
				check_complete_at_every_split(&b);
		} else {
			UNIT_EQ_INT(scan_all(&b, &scan), FASTCGI_SCAN_INVALID);
		}
		free(b.data);
		free(params.data);
		free(body.data);
	}
}

/* A request whose params stream holds one pair of the given lengths. */
static enum fastcgi_scan_result
scan_one_pair(size_t name_len, size_t value_len)
{
	struct bytes b = bytes_new(), params = bytes_new(), body = bytes_new();
	struct fastcgi_request_scan scan;
	enum fastcgi_scan_result r;

	put_pair(&params, name_len, value_len);
	put_begin(&b, 1, 1, 0);
	put_stream(&b, 4, 1, &params, 65535);
	put_stream(&b, 5, 1, &body, 65535);
	r = scan_all(&b, &scan);
	free(b.data);
	free(params.data);
	free(body.data);
	return r;
}

static void
test_parameter_limits(void)
{
	UNIT_EQ_INT(scan_one_pair(limits.name_max, 1), FASTCGI_SCAN_COMPLETE);
	UNIT_EQ_INT(scan_one_pair(limits.name_max + 1, 1), FASTCGI_SCAN_INVALID);
	UNIT_EQ_INT(scan_one_pair(1, limits.value_max), FASTCGI_SCAN_COMPLETE);
	UNIT_EQ_INT(scan_one_pair(1, limits.value_max + 1), FASTCGI_SCAN_INVALID);
	UNIT_EQ_INT(scan_one_pair(0, 1), FASTCGI_SCAN_INVALID);
	UNIT_EQ_INT(scan_one_pair(1, 0), FASTCGI_SCAN_COMPLETE);
	UNIT_EQ_INT(scan_one_pair(127, 127), FASTCGI_SCAN_COMPLETE);
	UNIT_EQ_INT(scan_one_pair(128, 128), FASTCGI_SCAN_COMPLETE);
}

/* The record that aborted libfcgi: lengths declaring 0x40000000 bytes, and
 * the largest four-byte length, with only a few bytes behind them. */
static void
test_declared_lengths_beyond_the_stream(void)
{
	static const unsigned char hostile[][9] = {
		{ 0xc0, 0, 0, 0, 0xc0, 0, 0, 0, 'A' },
		{ 0xff, 0xff, 0xff, 0xff, 0x01, 'A', 'A', 'A', 'A' },
		{ 0x01, 0xff, 0xff, 0xff, 0xf0, 'A', 'A', 'A', 'A' },
		{ 0x05, 0x05, 'A', 'A', 'A', 'A', 'A', 'A', 'A' },      /* pair longer than the stream */
		{ 0x80, 0x00, 0, 0, 0, 0, 0, 0, 0 },
	};
	size_t cut_lengths[] = { 9, 9, 9, 9, 2 };      /* the last: cut inside a four-byte length */
	size_t i;

	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct bytes b = bytes_new();
		struct fastcgi_request_scan scan;

		put_begin(&b, 1, 1, 0);
		put_record(&b, 4, 1, hostile[i], cut_lengths[i], 0);
		/* still incomplete: the stream has not ended, nothing is refused yet,
		 * and nothing was handed on either */
		UNIT_EQ_INT(scan_all(&b, &scan), FASTCGI_SCAN_INCOMPLETE);
		put_record(&b, 4, 1, "", 0, 0);
		UNIT_EQ_INT(fastcgi_request_scan(&scan, b.data, b.len, &limits), FASTCGI_SCAN_INVALID);
		UNIT_CHECK(scan.reason != NULL);
		free(b.data);
	}
}

static void
test_stream_totals(void)
{
	struct fastcgi_request_scan scan;
	struct bytes b, params, body;
	size_t pair_overhead = 1 + 4;   /* one-byte name length, four-byte value length */

	/* params at exactly the limit, then one byte over */
	params = bytes_new();
	put_pair(&params, 1, limits.params_max - pair_overhead - 1 - 0);
	UNIT_EQ_INT(params.len, limits.params_max);
	b = bytes_new();
	body = bytes_new();
	put_begin(&b, 1, 1, 0);
	put_stream(&b, 4, 1, &params, 65535);
	put_stream(&b, 5, 1, &body, 65535);
	/* the one value is past value_max: use a limits copy that allows it */
	{
		struct fastcgi_request_limits wide = limits;
		wide.value_max = limits.params_max;
		fastcgi_request_scan_reset(&scan);
		UNIT_EQ_INT(fastcgi_request_scan(&scan, b.data, b.len, &wide), FASTCGI_SCAN_COMPLETE);
		wide.params_max--;
		fastcgi_request_scan_reset(&scan);
		UNIT_EQ_INT(fastcgi_request_scan(&scan, b.data, b.len, &wide), FASTCGI_SCAN_INVALID);
	}
	free(b.data);
	free(params.data);

	/* a body at exactly the limit, then one byte over */
	body.len = limits.stdin_max;
	memset(body.data, 'x', body.len);
	b = bytes_new();
	params = bytes_new();
	put_begin(&b, 1, 1, 0);
	put_stream(&b, 4, 1, &params, 65535);
	put_stream(&b, 5, 1, &body, 32768);
	UNIT_EQ_INT(scan_all(&b, &scan), FASTCGI_SCAN_COMPLETE);
	UNIT_CHECK(b.len <= fastcgi_request_max_len(&limits));
	free(b.data);
	body.len++;
	b = bytes_new();
	put_begin(&b, 1, 1, 0);
	put_stream(&b, 4, 1, &params, 65535);
	put_stream(&b, 5, 1, &body, 32768);
	UNIT_EQ_INT(scan_all(&b, &scan), FASTCGI_SCAN_INVALID);
	free(b.data);

	/* a record declaring more body than allowed is refused on its header
	 * alone, before its content is waited for */
	b = bytes_new();
	put_begin(&b, 1, 1, 0);
	put_record(&b, 4, 1, "", 0, 0);
	put_record(&b, 5, 1, body.data, 65535, 0);
	put_record(&b, 5, 1, body.data, 65535, 0);
	put_record(&b, 5, 1, body.data, 65535, 0);
	b.len -= 65535 - 10;            /* only the third header and 10 bytes have arrived */
	UNIT_EQ_INT(scan_all(&b, &scan), FASTCGI_SCAN_INVALID);
	free(b.data);
	free(params.data);
	free(body.data);
}

static void
test_record_count(void)
{
	struct fastcgi_request_scan scan;
	struct bytes b = bytes_new();
	size_t i;

	/* begin + empty params + 253 one-byte stdin records + empty stdin = 256 */
	put_begin(&b, 1, 1, 0);
	put_record(&b, 4, 1, "", 0, 0);
	for (i = 0; i < FASTCGI_RECORDS_MAX - 3; i++)
		put_record(&b, 5, 1, "x", 1, 255);
	put_record(&b, 5, 1, "", 0, 0);
	UNIT_EQ_INT(scan_all(&b, &scan), FASTCGI_SCAN_COMPLETE);
	UNIT_CHECK(b.len <= fastcgi_request_max_len(&limits));
	b.len -= 8;
	put_record(&b, 5, 1, "x", 1, 255);
	put_record(&b, 5, 1, "", 0, 0);
	UNIT_EQ_INT(scan_all(&b, &scan), FASTCGI_SCAN_INVALID);
	free(b.data);
}

/* Each malformed shape, refused as soon as its header has arrived. */
static void
test_refusals(void)
{
	struct fastcgi_request_scan scan;
	struct bytes b;
	unsigned char empty8[8] = { 0 };
	int variant;

	for (variant = 0; variant < 12; variant++) {
		b = bytes_new();
		switch (variant) {
		case 0:         /* version 2 */
			put_begin(&b, 1, 1, 0);
			b.data[0] = 2;
			break;
		case 1:         /* params first */
			put_record(&b, 4, 1, "", 0, 0);
			break;
		case 2:         /* begin body of 7 bytes */
			put_record(&b, 1, 1, empty8, 7, 0);
			break;
		case 3:         /* authorizer role */
			put_begin(&b, 1, 2, 0);
			break;
		case 4:         /* filter role */
			put_begin(&b, 1, 3, 0);
			break;
		case 5:         /* request id 0 */
			put_begin(&b, 0, 1, 0);
			break;
		case 6:         /* a management record (get-values) */
			put_record(&b, 9, 0, "", 0, 0);
			break;
		case 7:         /* params for another request id */
			put_begin(&b, 1, 1, 0);
			put_record(&b, 4, 2, "", 0, 0);
			break;
		case 8:         /* stdin before the params end */
			put_begin(&b, 1, 1, 0);
			put_record(&b, 5, 1, "x", 1, 0);
			break;
		case 9:         /* an abort-request */
			put_begin(&b, 1, 1, 0);
			put_record(&b, 2, 1, "", 0, 0);
			break;
		case 10:        /* FCGI_DATA after stdin */
			put_begin(&b, 1, 1, 0);
			put_record(&b, 4, 1, "", 0, 0);
			put_record(&b, 8, 1, "x", 1, 0);
			break;
		case 11:        /* a second begin-request */
			put_begin(&b, 1, 1, 0);
			put_begin(&b, 2, 1, 0);
			break;
		}
		if (scan_all(&b, &scan) != FASTCGI_SCAN_INVALID)
			fprintf(stderr, "variant %d\n", variant);
		UNIT_EQ_INT(scan_all(&b, &scan), FASTCGI_SCAN_INVALID);
		UNIT_CHECK(scan.reason != NULL);
		UNIT_EQ_INT(fastcgi_request_scan(&scan, b.data, b.len, &limits), FASTCGI_SCAN_INVALID);
		free(b.data);
	}
}

static void
test_nothing_yet(void)
{
	struct fastcgi_request_scan scan;
	unsigned char none[1] = { 0 };

	fastcgi_request_scan_reset(&scan);
	UNIT_EQ_INT(fastcgi_request_scan(&scan, none, 0, &limits), FASTCGI_SCAN_INCOMPLETE);
	UNIT_EQ_INT(fastcgi_request_scan(&scan, (const unsigned char *)"\x01\x01\x00", 3, &limits),
	    FASTCGI_SCAN_INCOMPLETE);
}

int
main(void)
{
	test_nothing_yet();
	test_nginx_request();
	test_streams_split_across_records();
	test_parameter_limits();
	test_declared_lengths_beyond_the_stream();
	test_stream_totals();
	test_record_count();
	test_refusals();
	return UNIT_REPORT("test_fastcgi_request_scan");
}
