/* fuzz_router.c: the request line as fcgi/dispatch.c check_request takes it
 * apart: REQUEST_URI split at '?', http_path_decode, route_match, and
 * http_query_get on the query string.
 *
 * Input: "METHOD URI" (the method is everything before the first space; no
 * space: GET and the whole input is the URI), up to the first NUL.
 *
 * The route table is the service's own (lib/api_routes.c, which holds no
 * handler), including the routes with an {id} segment.
 *
 * Invariants: a decoded path has no control characters, no "." or ".."
 * segment and is no longer than its source; a match has the method asked
 * for and a pattern that re-matches the path literally once {id} is
 * substituted; a captured id is non-empty, slash-free and fits; 405 always
 * names the allowed methods; a query value found fits dst and carries no
 * control characters. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "http.h"
#include "api_routes.h"
#include "fuzz.h"

static const char *const query_names[] = {"status", "limit", "cursor", "a", ""};
#define QUERY_NAME_COUNT (sizeof(query_names) / sizeof(query_names[0]))

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* No "." or ".." segment anywhere in a decoded path. */
static bool
has_dot_segment(const char *path)
{
	const char *seg = path;

	for (;;) {
		size_t len = strcspn(seg, "/");
		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return true;
		if (seg[len] == '\0')
			return false;
		seg += len + 1;
	}
}

/* pattern with {id} replaced by param equals path. */
static bool
rematches(const char *pattern, const char *param, const char *path)
{
	char buf[HTTP_PATH_MAX * 2 + 8];
	const char *brace = strstr(pattern, "{id}");

	if (brace == NULL)
		return strcmp(pattern, path) == 0;
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(brace - pattern), pattern, param, brace + 4);
	return strcmp(buf, path) == 0;
}

static void
check_route(const char *method, const char *path, size_t paramlen, size_t allowlen)
{
	const struct route *match = NULL;
	char param[HTTP_PARAM_MAX + 1];
	char allow[64];
	enum route_result r;

	FUZZ_ASSERT(paramlen <= sizeof(param) && allowlen <= sizeof(allow));
	memset(param, 'x', sizeof(param));
	r = route_match(api_routes, API_ROUTE_COUNT, method, path, &match, param, paramlen,
	    allow, allowlen);
	switch (r) {
	case ROUTE_FOUND:
		FUZZ_ASSERT(match >= api_routes && match < api_routes + API_ROUTE_COUNT);
		FUZZ_ASSERT(strcmp(match->method, method) == 0);
		if (strstr(match->pattern, "{id}") != NULL) {
			FUZZ_ASSERT(memchr(param, '\0', paramlen) != NULL);
			FUZZ_ASSERT(param[0] != '\0' && strchr(param, '/') == NULL);
			FUZZ_ASSERT(rematches(match->pattern, param, path));
		} else {
			FUZZ_ASSERT(strcmp(match->pattern, path) == 0);
		}
		break;
	case ROUTE_METHOD_NOT_ALLOWED:
		if (allowlen > 1)
			FUZZ_ASSERT(allow[0] != '\0');
		FUZZ_ASSERT(allowlen == 0 || memchr(allow, '\0', allowlen) != NULL);
		FUZZ_ASSERT(paramlen == 0 || param[0] == '\0');
		break;
	case ROUTE_NOT_FOUND:
		FUZZ_ASSERT(allowlen == 0 || allow[0] == '\0');
		FUZZ_ASSERT(paramlen == 0 || param[0] == '\0');
		break;
	default:
		FUZZ_ASSERT(!"route_match returned no enum value");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *input, *uri, *query;
	const char *method = "GET";
	char raw_path[HTTP_PATH_MAX + 1];
	char path[HTTP_PATH_MAX + 1];
	char value[64];
	size_t path_len;

	if (size > 4 * HTTP_PATH_MAX)
		return -1;
	input = fuzz_strndup(data, size);
	uri = strchr(input, ' ');
	if (uri != NULL) {
		*uri++ = '\0';
		method = input;
	} else {
		uri = input;
	}

	/* dispatch.c: the path is the URI up to '?', at most HTTP_PATH_MAX. */
	path_len = strcspn(uri, "?");
	query = uri[path_len] == '?' ? uri + path_len + 1 : NULL;
	if (path_len <= HTTP_PATH_MAX) {
		memcpy(raw_path, uri, path_len);
		raw_path[path_len] = '\0';
		if (http_path_decode(uri, path_len, path, sizeof(path)) == 0) {
			FUZZ_ASSERT(strlen(path) <= path_len);
			FUZZ_ASSERT(!has_control(path));
			FUZZ_ASSERT(!has_dot_segment(path) || path[0] != '/');
			check_route(method, path, HTTP_PARAM_MAX + 1, 64);
			check_route(method, path, 4, 9);        /* truncation paths */
			check_route(method, path, 0, 0);
		}
		/* the undecoded path too: route_match must be safe on anything */
		check_route(method, raw_path, HTTP_PARAM_MAX + 1, 64);
	}

	/* a small decoder buffer too, to walk the length checks */
	for (size_t i = 0; i < QUERY_NAME_COUNT; i++) {
		for (size_t dstlen = 1; dstlen <= sizeof(value); dstlen += sizeof(value) - 1) {
			int r;

			memset(value, 'x', sizeof(value));
			r = http_query_get(query, query_names[i], value, dstlen);
			FUZZ_ASSERT(r >= -1 && r <= 1);
			if (query == NULL)
				FUZZ_ASSERT(r == 0);
			if (r == 1) {
				FUZZ_ASSERT(memchr(value, '\0', dstlen) != NULL);
				FUZZ_ASSERT(!has_control(value));
			}
		}
	}
	free(input);
	return 0;
}
