/* http.h: the request as the dispatcher hands it to a handler, and the
 * response a handler fills in. Transport-free, so the router and the body
 * validator can be unit-tested and fuzzed without FastCGI. */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "auth_jwt.h"
#include "pf_error.h"
#include "pf_time.h"

#define HTTP_BODY_MAX (64 * 1024)
#define HTTP_PATH_MAX 1024
#define HTTP_PARAM_MAX 128       /* a {id} path segment */
#define HTTP_DETAIL_MAX 512
#define HTTP_JSON_DEPTH_MAX 16
#define HTTP_IDEMPOTENCY_KEY_MAX 255
#define HTTP_HEAD_MAX 2048       /* status line and headers of an answer (CORS lines among them) */

#define HTTP_REQUEST_ID_MAX 64

struct http_request {
	const char *method;          /* borrowed from the FastCGI environment */
	char path[HTTP_PATH_MAX + 1];/* decoded, without the query string */
	const char *query;           /* raw, may be NULL */
	const char *content_type;
	const char *authorization;
	const char *idempotency_key;
	char *body;                  /* owned; NUL-terminated copy, may be NULL */
	size_t body_len;
	json_t *json;                /* owned; the parsed body object, NULL when no body */
	char path_param[HTTP_PARAM_MAX + 1]; /* the {id} of the matched route */
	struct auth_identity identity;
	pf_time now;                 /* the request's clock, read once */
};

struct http_response {
	int status;
	json_t *json;                /* owned; success body */
	enum pf_error error;         /* != PF_OK: a problem response */
	char detail[HTTP_DETAIL_MAX];/* the problem's detail, for the end user */
	char allow[64];              /* Allow header for 405 */
	char *raw_body;              /* owned; a stored body replayed as is (idempotency) */
	const char *raw_content_type;
	char request_id[HTTP_REQUEST_ID_MAX + 1]; /* nginx's (REQUEST_ID), or made here; problem
	                             * bodies carry it; kept by http_response_clear */
	const char *extra_headers;   /* borrowed; header lines added to the head (CORS), or NULL */
};

/* Sets a problem response with a printf-style detail; returns err so a
 * handler can `return http_fail(res, PF_ERR_..., "...")`. */
enum pf_error http_fail(struct http_response *res, enum pf_error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets a success response, taking ownership of body. Returns PF_OK; a NULL
 * body (its json_pack ran out of memory) is a 500 and PF_ERR_INTERNAL. */
enum pf_error http_ok(struct http_response *res, int status, json_t *body);

/* Serialises the response body: problem+json for errors, JSON otherwise.
 * Returns a new string (free()) and sets *content_type (static). */
char *http_render_body(const struct http_response *res, const char **content_type);

/* Whether text can be a request id: 1 to HTTP_REQUEST_ID_MAX characters of
 * [A-Za-z0-9._-] (what nginx's map lets through from X-Request-Id). */
bool http_request_id_valid(const char *text);


/* The CGI head of res (Status, Content-Type, Content-Length of body_len,
 * Cache-Control, and Allow, WWW-Authenticate or Retry-After where its status
 * needs one) in buf, ending with the blank line. Returns its length. When it
 * does not fit len bytes, buf holds a bare 500 head with Content-Length 0
 * instead and *send_body is false: the body must not be sent. */
size_t http_response_head(const struct http_response *res, const char *content_type,
    size_t body_len, char *buf, size_t len, bool *send_body);

/* Renders the body into res->raw_body (with its content type) now, so the
 * answer exists before a COMMIT and nothing is left to allocate after it.
 * PF_OK (also when it already was), or PF_ERR_INTERNAL when memory ran out,
 * res unchanged. */
enum pf_error http_response_render(struct http_response *res);

/* Frees what the request and response own and resets them (a response
 * keeps its request_id). */
void http_request_clear(struct http_request *req);
void http_response_clear(struct http_response *res);

/* Percent-decodes the path src[0..len) into dst (size dstlen). Refuses
 * encoded slashes, NUL bytes and other control characters, malformed
 * escapes, and "." and ".." segments. Returns 0 or -1. */
int http_path_decode(const char *src, size_t len, char *dst, size_t dstlen);

/* Finds name's value in a query string (a=b&c=d), percent-decoding it into
 * dst. Returns 1 found, 0 absent, -1 malformed or too long. */
int http_query_get(const char *query, const char *name, char *dst, size_t dstlen);

/* Nesting depth of a JSON text (brackets outside strings). */
int http_json_depth(const char *text, size_t len);

/* Parses req->body into req->json: PF_ERR_INVALID_JSON for malformed text,
 * duplicate keys or depth over HTTP_JSON_DEPTH_MAX; PF_ERR_INVALID_REQUEST
 * for valid JSON that is not an object, or an integer beyond int64 (the
 * detail names its top-level field), PF_ERR_INTERNAL when memory ran out.
 * detail receives the message. No body: PF_OK with json NULL. */
enum pf_error http_parse_json_body(struct http_request *req, char *detail, size_t detail_len);

/* "application/json" with optional parameters (charset=utf-8). */
bool http_is_json_content_type(const char *content_type);

#endif
