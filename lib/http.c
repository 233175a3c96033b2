/* http.c: response building and the small parsers every request goes through. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http.h"
#include "json_memory.h"
#include "json_text.h"

enum pf_error
http_fail(struct http_response *res, enum pf_error err, const char *fmt, ...)
{
	va_list ap;

	res->error = err;
	res->status = pf_error_info(err)->status;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
	return err;
}

enum pf_error
http_ok(struct http_response *res, int status, json_t *body)
{
	json_decref(res->json);
	res->json = NULL;
	/* a body json_pack could not build (out of memory) is no success: a
	 * 200 would carry a problem body saying "ok" */
	if (body == NULL)
		return http_fail(res, PF_ERR_INTERNAL, "Something went wrong on our side.");
	res->json = body;
	res->status = status;
	res->error = PF_OK;
	return PF_OK;
}

char *
http_render_body(const struct http_response *res, const char **content_type)
{
	json_t *problem = NULL;
	char *text = NULL;

	if (res->raw_body != NULL) {
		*content_type = res->raw_content_type ? res->raw_content_type : "application/json";
		return strdup(res->raw_body);
	}
	if (res->error == PF_OK && res->json != NULL) {
		*content_type = "application/json";
		return json_text_compact(res->json);
	}
	{
		const struct pf_error_info *info = pf_error_info(res->error);
		json_t *detail = json_string(res->detail[0] ? res->detail : info->title);
		/* A detail that quotes the input (jansson's parse errors do, and
		 * may cut a UTF-8 sequence in two) can be invalid UTF-8, which no
		 * JSON string holds: then the title, never an empty body. */
		if (detail == NULL)
			detail = json_string(info->title);
		problem = json_pack("{s:s, s:s, s:i, s:o, s:s}",
		    "type", "about:blank",
		    "title", info->title,
		    "status", info->status,
		    "detail", detail,
		    "code", info->code);
		*content_type = "application/problem+json";
		if (problem != NULL && res->request_id[0] != '\0' &&
		    json_object_set_new(problem, "request_id", json_string(res->request_id)) != 0) {
			json_decref(problem);
			problem = NULL;
		}
		if (problem != NULL)
			text = json_text_compact(problem);
		json_decref(problem);
	}
	return text;
}

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* Formatted with snprintf: libfcgi's own printf does not know every
 * conversion (%zu among them). */
size_t
http_response_head(const struct http_response *res, const char *content_type, size_t body_len,
    char *buf, size_t len, bool *send_body)
{
	static const char fallback[] = "Status: 500 Internal Server Error\r\n"
	    "Cache-Control: no-store\r\nContent-Length: 0\r\n\r\n";
	int status = res->status ? res->status : 500;
	bool allow = status == 405 && res->allow[0] != '\0';
	const char *id = res->request_id;
	const char *extra = res->extra_headers != NULL ? res->extra_headers : "";
	int n;

	if (status == 204)      /* a CORS preflight's answer: no body */
		n = snprintf(buf, len, "Status: 204 %s\r\nCache-Control: no-store\r\n%s%s%s%s\r\n",
		    status_text(status), id[0] ? "X-Request-Id: " : "", id, id[0] ? "\r\n" : "", extra);
	else
		n = snprintf(buf, len,
		    "Status: %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
		    "Content-Length: %zu\r\n%s%s%s%s%s%s%s%s%s\r\n",
		    status, status_text(status), content_type, body_len,
		    id[0] ? "X-Request-Id: " : "", id, id[0] ? "\r\n" : "",
		    allow ? "Allow: " : "", allow ? res->allow : "", allow ? "\r\n" : "",
		    status != 401 ? "" : res->error == PF_ERR_UNAUTHENTICATED ?
			"WWW-Authenticate: Bearer realm=\"personaforge\"\r\n" :
			"WWW-Authenticate: Bearer realm=\"personaforge\", error=\"invalid_token\"\r\n",
		    status == 503 ? "Retry-After: 2\r\n" : "", extra);
	*send_body = n > 0 && (size_t)n < len;
	if (*send_body)
		return (size_t)n;
	n = snprintf(buf, len, "%s", fallback);
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

enum pf_error
http_response_render(struct http_response *res)
{
	const char *content_type = "application/json";
	char *text;

	if (res->raw_body != NULL)
		return PF_OK;
	text = http_render_body(res, &content_type);
	if (text == NULL)
		return PF_ERR_INTERNAL;
	res->raw_body = text;
	res->raw_content_type = content_type;
	return PF_OK;
}

void
http_request_clear(struct http_request *req)
{
	free(req->body);
	json_decref(req->json);
	memset(req, 0, sizeof(*req));
}

void
http_response_clear(struct http_response *res)
{
	char request_id[sizeof(res->request_id)];

	memcpy(request_id, res->request_id, sizeof(request_id));
	json_decref(res->json);
	free(res->raw_body);
	memset(res, 0, sizeof(*res));
	memcpy(res->request_id, request_id, sizeof(request_id));
}

bool
http_request_id_valid(const char *text)
{
	size_t n = 0;

	if (text == NULL)
		return false;
	for (; text[n] != '\0'; n++) {
		unsigned char c = (unsigned char)text[n];
		if (n == HTTP_REQUEST_ID_MAX ||
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

enum percent_mode { PERCENT_PATH, PERCENT_QUERY };

/* The one percent-decoder: src[0..len) into dst (dstlen bytes, with its
 * NUL). A query value also reads '+' as a space; a path refuses an encoded
 * slash, which would smuggle in a segment. Both refuse malformed escapes and
 * control characters, NUL included (it would cut an id short). Returns 0 or
 * -1. */
static int
percent_decode(const char *src, size_t len, enum percent_mode mode, char *dst, size_t dstlen)
{
	size_t i, out = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)src[i];
		if (c == '+' && mode == PERCENT_QUERY)
			c = ' ';
		else if (c == '%') {
			int hi, lo;
			if (len - i < 3)
				return -1;
			hi = hex_value((unsigned char)src[i + 1]);
			lo = hi < 0 ? -1 : hex_value((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			if (c == '/' && mode == PERCENT_PATH)
				return -1;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (out + 1 >= dstlen)
			return -1;
		dst[out++] = (char)c;
	}
	if (dstlen == 0)
		return -1;
	dst[out] = '\0';
	return 0;
}

int
http_path_decode(const char *src, size_t len, char *dst, size_t dstlen)
{
	size_t out;

	if (percent_decode(src, len, PERCENT_PATH, dst, dstlen) != 0)
		return -1;
	out = strlen(dst);
	if (strstr(dst, "/../") || strstr(dst, "/./") ||
	    (out >= 3 && strcmp(dst + out - 3, "/..") == 0) ||
	    (out >= 2 && strcmp(dst + out - 2, "/.") == 0))
		return -1;
	return 0;
}

int
http_query_get(const char *query, const char *name, char *dst, size_t dstlen)
{
	size_t name_len = strlen(name);
	const char *p = query;

	if (query == NULL)
		return 0;
	while (*p != '\0') {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t key_len = eq ? (size_t)(eq - p) : len;
		if (key_len == name_len && memcmp(p, name, name_len) == 0) {
			const char *value = eq ? eq + 1 : p + len;
			size_t value_len = eq ? len - key_len - 1 : 0;
			return percent_decode(value, value_len, PERCENT_QUERY, dst, dstlen) == 0 ? 1 : -1;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return 0;
}

int
http_json_depth(const char *text, size_t len)
{
	int depth = 0, max = 0;
	bool in_string = false;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = text[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"')
			in_string = true;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if (c == '}' || c == ']')
			depth--;
	}
	return max;
}

/* The top-level key whose value holds byte offset pos of a JSON object
 * text, copied into key (printable ASCII, truncated): used to name the field
 * of a number too big for an int64. Returns 0, or -1 when pos lies outside
 * every top-level value. */
static int
json_top_level_key_at(const char *text, size_t len, size_t pos, char *key, size_t key_len)
{
	size_t i, start = 0;
	int depth = 0;
	bool in_string = false, found = false;

	for (i = 0; i < len && i < pos; i++) {
		char c = text[i];
		if (in_string) {
			size_t j, n;
			if (c == '\\') {
				i++;
				continue;
			}
			if (c != '"')
				continue;
			in_string = false;
			if (depth != 1)
				continue;
			for (j = i + 1; j < len && isspace((unsigned char)text[j]); j++)
				;
			if (j == len || text[j] != ':')
				continue;
			for (n = 0; start + n < i && n + 1 < key_len; n++)
				key[n] = isprint((unsigned char)text[start + n]) ? text[start + n] : '?';
			key[n] = '\0';
			found = true;
		} else if (c == '"') {
			in_string = true;
			start = i + 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return found && depth >= 1 ? 0 : -1;
}

enum pf_error
http_parse_json_body(struct http_request *req, char *detail, size_t detail_len)
{
	const size_t flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY;
	json_error_t error, again;
	json_t *as_real = NULL;
	char key[65];

	if (req->body == NULL || req->body_len == 0)
		return PF_OK;
	if (http_json_depth(req->body, req->body_len) > HTTP_JSON_DEPTH_MAX) {
		snprintf(detail, detail_len, "The request body is nested too deeply.");
		return PF_ERR_INVALID_JSON;
	}
	json_memory_reset();
	req->json = json_loadb(req->body, req->body_len, flags, &error);
	/* a document parsed while memory ran out may lack what failed:
	 * jansson 2.14 can return one anyway */
	if (json_memory_ran_out()) {
		json_decref(req->json);
		req->json = NULL;
		snprintf(detail, detail_len, "Something went wrong on our side.");
		return PF_ERR_INTERNAL;
	}
	if (req->json == NULL) {
		/* 2^63 is well-formed JSON that jansson cannot hold as an integer:
		 * a value out of range for its field, not malformed JSON, provided
		 * the rest of the text parses */
		if (json_error_code(&error) == json_error_numeric_overflow) {
			as_real = json_loadb(req->body, req->body_len, flags | JSON_DECODE_INT_AS_REAL,
			    &again);
			if (json_memory_ran_out()) {
				json_decref(as_real);
				snprintf(detail, detail_len, "Something went wrong on our side.");
				return PF_ERR_INTERNAL;
			}
		}
		if (as_real != NULL) {
			bool object = json_is_object(as_real);
			json_decref(as_real);
			if (!object) {
				snprintf(detail, detail_len, "The request body must be a JSON object.");
				return PF_ERR_INVALID_REQUEST;
			}
			if (json_top_level_key_at(req->body, req->body_len, (size_t)error.position,
			    key, sizeof(key)) == 0) {
				snprintf(detail, detail_len, "Field '%s' is out of range.", key);
				return PF_ERR_INVALID_REQUEST;
			}
		}
		snprintf(detail, detail_len, "The request body is not valid JSON: %s.", error.text);
		return PF_ERR_INVALID_JSON;
	}
	/* valid JSON, but not the object every endpoint takes */
	if (!json_is_object(req->json)) {
		snprintf(detail, detail_len, "The request body must be a JSON object.");
		return PF_ERR_INVALID_REQUEST;
	}
	return PF_OK;
}

bool
http_is_json_content_type(const char *content_type)
{
	size_t n = strlen("application/json");

	if (content_type == NULL || strncasecmp(content_type, "application/json", n) != 0)
		return false;
	return content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ';
}
