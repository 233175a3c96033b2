/* fuzz_json_body.c: a request body as the dispatcher sees it (fcgi/dispatch.c
 * check_request): http_parse_json_body, then json_fields_validate against
 * the body of every route that reads one, then the problem+json the client
 * would get. Also http_json_depth and utf8_length on the raw bytes.
 *
 * The routes and their field tables are the service's own
 * (lib/api_routes.c, lib/api_fields.c, which hold no handler): all ten
 * field tables and the routes whose body must be empty, between them every
 * field type, full-range and bounded integers, enums and times.
 *
 * Invariants checked (abort on violation): the depth cap holds on what was
 * accepted; an accepted body is an object; every error has a detail; every
 * value the validator hands out has the declared type and bounds; every
 * required field is present on success; the problem+json always renders;
 * the stored text of an accepted body (json_text_compact, as idempotency
 * and provider events store it) is json_dumps's, byte for byte. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "http.h"
#include "api_routes.h"
#include "json_fields.h"
#include "json_text.h"
#include "pf_time.h"
#include "fuzz.h"

/* Nesting depth of a parsed value, counted as http_json_depth counts
 * brackets: a scalar is 0, an empty object 1. */
static int
tree_depth(json_t *v)
{
	int max = 0, d;
	const char *key;
	json_t *item;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, key, item) {
			d = tree_depth(item);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, item) {
			d = tree_depth(item);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	return 0;
}

/* The problem+json a refused request gets must exist: an empty 400 leaves
 * the client with no code and no detail. */
static void
check_problem_renders(enum pf_error err, const char *detail)
{
	struct http_response res;
	const char *content_type = NULL;
	char *text;
	json_t *doc;

	memset(&res, 0, sizeof(res));
	http_fail(&res, err, "%s", detail);
	FUZZ_ASSERT(res.status >= 400 && res.status < 500);
	text = http_render_body(&res, &content_type);
	FUZZ_ASSERT(text != NULL);
	FUZZ_ASSERT(content_type != NULL && strcmp(content_type, "application/problem+json") == 0);
	doc = json_loads(text, 0, NULL);
	FUZZ_ASSERT(doc != NULL);
	FUZZ_ASSERT(json_is_string(json_object_get(doc, "code")));
	json_decref(doc);
	free(text);
	http_response_clear(&res);
}

static bool
in_list(const char *const *values, const char *s)
{
	for (size_t i = 0; values[i] != NULL; i++)
		if (strcmp(values[i], s) == 0)
			return true;
	return false;
}

static void
check_values(const struct field_spec *fields, size_t count, const struct field_value *values)
{
	for (size_t i = 0; i < count; i++) {
		const struct field_spec *f = &fields[i];
		const struct field_value *v = &values[i];
		pf_time t;

		if (f->required)
			FUZZ_ASSERT(v->present);
		if (!v->present)
			continue;
		switch (f->type) {
		case FIELD_INTEGER:
			FUZZ_ASSERT(v->integer >= f->min && v->integer <= f->max);
			break;
		case FIELD_STRING:
		case FIELD_TEXT:
			FUZZ_ASSERT(v->string != NULL);
			FUZZ_ASSERT((int64_t)utf8_length(v->string) >= f->min);
			FUZZ_ASSERT((int64_t)utf8_length(v->string) <= f->max);
			for (const char *p = v->string; *p != '\0'; p++) {
				unsigned char c = (unsigned char)*p;
				FUZZ_ASSERT(c != 0x7f);
				if (f->type == FIELD_STRING)
					FUZZ_ASSERT(c >= 0x20);
				else
					FUZZ_ASSERT(c >= 0x20 || c == '\n' || c == '\r' || c == '\t');
			}
			break;
		case FIELD_ENUM:
			FUZZ_ASSERT(v->string != NULL && in_list(f->values, v->string));
			break;
		case FIELD_TIME:
			FUZZ_ASSERT(v->string != NULL);
			FUZZ_ASSERT(pf_time_parse(v->string, &t) == 0 && t == v->integer);
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;
	struct field_value values[ROUTE_FIELDS_MAX];
	char detail[HTTP_DETAIL_MAX];
	enum pf_error err;
	char *raw;
	int depth;

	if (size > HTTP_BODY_MAX)
		return -1;      /* dispatch answers 413 before parsing */

	/* The depth scan reads exactly len bytes: give it no terminator. */
	raw = malloc(size ? size : 1);
	if (raw == NULL)
		abort();
	memcpy(raw, data, size);
	depth = http_json_depth(raw, size);
	FUZZ_ASSERT(depth >= 0 && (size_t)depth <= size);
	free(raw);

	/* As read_body leaves it: an exact-size buffer with a NUL after it. */
	memset(&req, 0, sizeof(req));
	req.body = fuzz_strndup(data, size);
	req.body_len = size;
	FUZZ_ASSERT(utf8_length(req.body) <= strlen(req.body));
	(void)http_is_json_content_type(req.body);

	detail[0] = '\0';
	err = http_parse_json_body(&req, detail, sizeof(detail));
	if (err != PF_OK) {
		FUZZ_ASSERT(err == PF_ERR_INVALID_JSON || err == PF_ERR_INVALID_REQUEST);
		FUZZ_ASSERT(detail[0] != '\0');
		check_problem_renders(err, detail);
		goto out;
	}
	if (size == 0) {
		FUZZ_ASSERT(req.json == NULL);
	} else {
		char *stored, *reference;

		FUZZ_ASSERT(json_is_object(req.json));
		FUZZ_ASSERT(tree_depth(req.json) <= HTTP_JSON_DEPTH_MAX);
		stored = json_text_compact(req.json);
		reference = json_dumps(req.json, JSON_COMPACT);
		FUZZ_ASSERT(stored != NULL && reference != NULL && strcmp(stored, reference) == 0);
		free(stored);
		free(reference);
	}

	for (size_t r = 0; r < API_ROUTE_COUNT; r++) {
		const struct route *route = &api_routes[r];

		if (route->body == ROUTE_BODY_NONE)
			continue;
		FUZZ_ASSERT(route->field_count <= ROUTE_FIELDS_MAX);
		detail[0] = '\0';
		err = json_fields_validate(req.json, route->fields, route->field_count, values,
		    detail, sizeof(detail));
		if (err == PF_OK) {
			check_values(route->fields, route->field_count, values);
			/* an empty body takes nothing: absent, or {} */
			if (route->body == ROUTE_BODY_EMPTY)
				FUZZ_ASSERT(req.json == NULL || json_object_size(req.json) == 0);
		} else {
			FUZZ_ASSERT(err == PF_ERR_INVALID_REQUEST);
			FUZZ_ASSERT(detail[0] != '\0');
			check_problem_renders(err, detail);
		}
	}
out:
	http_request_clear(&req);
	return 0;
}
