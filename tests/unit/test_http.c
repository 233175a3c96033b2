/* test_http.c: the router, path and query parsing, the JSON body rules and
 * the field-table validator. */
#include <stdio.h>
#include <stdlib.h>
#include "http.h"
#include "json_fields.h"
#include "route.h"
#include "unit.h"

static const struct route routes[] = {
	{.method = "GET", .pattern = "/api/v1/account", .role = AUTH_ROLE_USER},
	{.method = "POST", .pattern = "/api/v1/subscription/cancel", .role = AUTH_ROLE_USER},
	{.method = "GET", .pattern = "/api/v1/refund-requests", .role = AUTH_ROLE_USER},
	{.method = "POST", .pattern = "/api/v1/refund-requests", .role = AUTH_ROLE_USER},
	{.method = "POST", .pattern = "/api/v1/support/refund-requests/{id}/approve",
	    .role = AUTH_ROLE_SUPPORT},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static void
test_route_match(void)
{
	const struct route *m = NULL;
	char param[16], allow[64];

	UNIT_EQ_INT(route_match(routes, NROUTES, "GET", "/api/v1/account", &m, param, sizeof(param), allow, sizeof(allow)), ROUTE_FOUND);
	UNIT_CHECK(m == &routes[0]);
	UNIT_EQ_INT(route_match(routes, NROUTES, "POST", "/api/v1/account", &m, param, sizeof(param), allow, sizeof(allow)), ROUTE_METHOD_NOT_ALLOWED);
	UNIT_EQ_STR(allow, "GET");
	UNIT_EQ_INT(route_match(routes, NROUTES, "DELETE", "/api/v1/refund-requests", &m, param, sizeof(param), allow, sizeof(allow)), ROUTE_METHOD_NOT_ALLOWED);
	UNIT_EQ_STR(allow, "GET, POST");
	UNIT_EQ_INT(route_match(routes, NROUTES, "GET", "/api/v1/account/", &m, param, sizeof(param), allow, sizeof(allow)), ROUTE_NOT_FOUND);
	UNIT_EQ_INT(route_match(routes, NROUTES, "GET", "/api/v1/accoun", &m, param, sizeof(param), allow, sizeof(allow)), ROUTE_NOT_FOUND);
	UNIT_EQ_INT(route_match(routes, NROUTES, "GET", "", &m, param, sizeof(param), allow, sizeof(allow)), ROUTE_NOT_FOUND);
	UNIT_EQ_INT(route_match(routes, NROUTES, "POST", "/api/v1/support/refund-requests/rr_1/approve", &m, param, sizeof(param), allow, sizeof(allow)), ROUTE_FOUND);
	UNIT_EQ_STR(param, "rr_1");
	UNIT_EQ_INT(route_match(routes, NROUTES, "POST", "/api/v1/support/refund-requests//approve", &m, param, sizeof(param), allow, sizeof(allow)), ROUTE_NOT_FOUND);
	UNIT_EQ_INT(route_match(routes, NROUTES, "POST", "/api/v1/support/refund-requests/a/b/approve", &m, param, sizeof(param), allow, sizeof(allow)), ROUTE_NOT_FOUND);
	/* 15 characters fit the 16-byte buffer, 16 do not */
	UNIT_EQ_INT(route_match(routes, NROUTES, "POST", "/api/v1/support/refund-requests/123456789012345/approve", &m, param, sizeof(param), allow, sizeof(allow)), ROUTE_FOUND);
	UNIT_EQ_INT(route_match(routes, NROUTES, "POST", "/api/v1/support/refund-requests/1234567890123456/approve", &m, param, sizeof(param), allow, sizeof(allow)), ROUTE_NOT_FOUND);
}

static void
test_path_decode(void)
{
	char out[32];

	UNIT_EQ_INT(http_path_decode("/api/v1/account", strlen("/api/v1/account"), out, sizeof(out)), 0);
	UNIT_EQ_STR(out, "/api/v1/account");
	UNIT_EQ_INT(http_path_decode("/api/v1/a%63count", strlen("/api/v1/a%63count"), out, sizeof(out)), 0);
	UNIT_EQ_STR(out, "/api/v1/account");
	UNIT_EQ_INT(http_path_decode("/a%2Fb", strlen("/a%2Fb"), out, sizeof(out)), -1);
	UNIT_EQ_INT(http_path_decode("/a%2fb", strlen("/a%2fb"), out, sizeof(out)), -1);
	UNIT_EQ_INT(http_path_decode("/a%00b", strlen("/a%00b"), out, sizeof(out)), -1);
	UNIT_EQ_INT(http_path_decode("/a%zz", strlen("/a%zz"), out, sizeof(out)), -1);
	UNIT_EQ_INT(http_path_decode("/a%4", strlen("/a%4"), out, sizeof(out)), -1);
	UNIT_EQ_INT(http_path_decode("/a/../b", strlen("/a/../b"), out, sizeof(out)), -1);
	UNIT_EQ_INT(http_path_decode("/a/%2e%2e/b", strlen("/a/%2e%2e/b"), out, sizeof(out)), -1);
	UNIT_EQ_INT(http_path_decode("/a/..", strlen("/a/.."), out, sizeof(out)), -1);
	UNIT_EQ_INT(http_path_decode("/a\nb", strlen("/a\nb"), out, sizeof(out)), -1);
	UNIT_EQ_INT(http_path_decode("/0123456789012345678901234567890123", strlen("/0123456789012345678901234567890123"), out, sizeof(out)), -1);
	UNIT_EQ_INT(http_path_decode("/a..b", strlen("/a..b"), out, sizeof(out)), 0);
	/* the path ends at len (the '?' of the URI); '+' is itself in a path */
	UNIT_EQ_INT(http_path_decode("/a+b?status=x", 4, out, sizeof(out)), 0);
	UNIT_EQ_STR(out, "/a+b");
	UNIT_EQ_INT(http_path_decode("/a%2", 4, out, sizeof(out)), -1);
	UNIT_EQ_INT(http_path_decode("/a%41", 4, out, sizeof(out)), -1);
}

static void
test_query(void)
{
	char out[16];

	UNIT_EQ_INT(http_query_get("status=approved", "status", out, sizeof(out)), 1);
	UNIT_EQ_STR(out, "approved");
	UNIT_EQ_INT(http_query_get("a=1&status=de%6Eied&b", "status", out, sizeof(out)), 1);
	UNIT_EQ_STR(out, "denied");
	UNIT_EQ_INT(http_query_get("statusx=1", "status", out, sizeof(out)), 0);
	UNIT_EQ_INT(http_query_get(NULL, "status", out, sizeof(out)), 0);
	UNIT_EQ_INT(http_query_get("status=%", "status", out, sizeof(out)), -1);
	UNIT_EQ_INT(http_query_get("status=%4", "status", out, sizeof(out)), -1);
	UNIT_EQ_INT(http_query_get("status=%00", "status", out, sizeof(out)), -1);
	UNIT_EQ_INT(http_query_get("status=0123456789abcdef", "status", out, sizeof(out)), -1);
	UNIT_EQ_INT(http_query_get("status", "status", out, sizeof(out)), 1);
	UNIT_EQ_STR(out, "");
	/* one decoder, two modes: '+' is a space and %2F a slash in a query */
	UNIT_EQ_INT(http_query_get("status=a+b%2Fc", "status", out, sizeof(out)), 1);
	UNIT_EQ_STR(out, "a b/c");
}

static enum pf_error
parse(const char *text)
{
	struct http_request req;
	char detail[128];
	enum pf_error err;

	memset(&req, 0, sizeof(req));
	req.body = strdup(text);
	req.body_len = strlen(text);
	err = http_parse_json_body(&req, detail, sizeof(detail));
	http_request_clear(&req);
	return err;
}

static char parsed_detail[128];

static const char *
parse_detail(const char *text)
{
	struct http_request req;

	memset(&req, 0, sizeof(req));
	req.body = strdup(text);
	req.body_len = strlen(text);
	parsed_detail[0] = '\0';
	(void)http_parse_json_body(&req, parsed_detail, sizeof(parsed_detail));
	http_request_clear(&req);
	return parsed_detail;
}

static void
test_json_body(void)
{
	char deep[64];
	int i;

	UNIT_EQ_INT(parse("{\"a\":1}"), PF_OK);
	UNIT_EQ_INT(parse("{\"a\":1,\"a\":2}"), PF_ERR_INVALID_JSON);
	UNIT_EQ_INT(parse("{\"a\":"), PF_ERR_INVALID_JSON);
	UNIT_EQ_INT(parse("[1]"), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(parse("{\"a\":\"\\u0000\"}"), PF_ERR_INVALID_JSON);
	UNIT_EQ_INT(parse("{\"a\":\"\xff\"}"), PF_ERR_INVALID_JSON);
	UNIT_EQ_INT(parse("\"a\""), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(parse("null"), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(parse("{\"a\":9223372036854775807}"), PF_OK);
	UNIT_EQ_INT(parse("{\"a\":9223372036854775808}"), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_STR(parse_detail("{\"a\":1, \"b\\\"\":\"x:\", \"c\" : [1, {\"d\": -9223372036854775809}]}"),
	    "Field 'c' is out of range.");
	UNIT_EQ_STR(parse_detail("{\"credits\": 92233720368547758080, \"a\": 1}"),
	    "Field 'credits' is out of range.");
	UNIT_EQ_INT(parse("{\"a\":9223372036854775808"), PF_ERR_INVALID_JSON);
	UNIT_EQ_INT(parse("{\"a\":9223372036854775808,\"a\":1}"), PF_ERR_INVALID_JSON);
	UNIT_EQ_INT(parse("[9223372036854775808]"), PF_ERR_INVALID_REQUEST);
	/* a real beyond a double is malformed for us, not "out of range" */
	UNIT_EQ_INT(parse("{\"a\":1e400}"), PF_ERR_INVALID_JSON);
	UNIT_EQ_INT(parse("{\"a\":-9223372036854775809}"), PF_ERR_INVALID_REQUEST);
	for (i = 0; i < 17; i++)
		deep[i] = '[';
	deep[0] = '{';
	snprintf(deep + 1, sizeof(deep) - 1, "\"a\":");
	memset(deep + 5, '[', 16);
	deep[21] = '\0';
	UNIT_EQ_INT(http_json_depth(deep, strlen(deep)), 17);
	UNIT_EQ_INT(parse(deep), PF_ERR_INVALID_JSON);
	UNIT_EQ_INT(http_json_depth("{\"[[[[\":1}", 10), 1);
	UNIT_CHECK(http_is_json_content_type("application/json"));
	UNIT_CHECK(http_is_json_content_type("application/json; charset=utf-8"));
	UNIT_CHECK(http_is_json_content_type("Application/JSON"));
	UNIT_CHECK(!http_is_json_content_type("application/jsonx"));
	UNIT_CHECK(!http_is_json_content_type("text/plain"));
	UNIT_CHECK(!http_is_json_content_type(NULL));
}

static const char *const colours[] = {"red", "green", NULL};
static const struct field_spec fields[] = {
	{"name", FIELD_STRING, true, 1, 5, NULL},
	{"amount", FIELD_INTEGER, false, 1, 100, NULL},
	{"colour", FIELD_ENUM, false, 0, 0, colours},
	{"note", FIELD_TEXT, false, 0, 10, NULL},
	{"at", FIELD_TIME, false, 0, 0, NULL},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static enum pf_error
validate(const char *text, struct field_value *values)
{
	json_t *obj = json_loads(text, 0, NULL);
	char detail[128];
	enum pf_error err = json_fields_validate(obj, fields, NFIELDS, values,
	    detail, sizeof(detail));
	json_decref(obj);
	return err;
}

static void
test_fields(void)
{
	struct field_value v[5];

	struct field_value one[2];
	json_t *obj;
	char detail[64];
	/* a row left out of a designated table is a hole, not an end: refused
	 * as our error, never read as a name */
	static const struct field_spec with_hole[2] = {
		[1] = {"b", FIELD_INTEGER, false, 0, 1, NULL},
	};

	UNIT_EQ_INT(NFIELDS, 5);
	obj = json_loads("{\"b\":1}", 0, NULL);
	UNIT_EQ_INT(json_fields_validate(obj, with_hole, 2, one, detail, sizeof(detail)),
	    PF_ERR_INTERNAL);
	json_decref(obj);
	UNIT_EQ_INT(validate("{\"name\":\"abc\",\"amount\":100,\"colour\":\"red\"}", v), PF_OK);
	UNIT_EQ_INT(v[1].integer, 100);
	UNIT_CHECK(!v[3].present);
	UNIT_EQ_INT(validate("{\"amount\":1}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"abc\",\"extra\":1}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"abc\",\"amount\":101}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"abc\",\"amount\":0}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"abc\",\"amount\":10.5}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"abc\",\"amount\":1e1}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"abc\",\"amount\":\"5\"}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"\"}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"abcdef\"}", v), PF_ERR_INVALID_REQUEST);
	/* five characters, ten bytes: limits count characters */
	UNIT_EQ_INT(validate("{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", v), PF_OK);
	UNIT_EQ_INT(validate("{\"name\":\"a\\nb\"}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"a\",\"note\":\"x\\ny\"}", v), PF_OK);
	UNIT_EQ_INT(validate("{\"name\":\"a\",\"colour\":\"blue\"}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"a\",\"colour\":null}", v), PF_ERR_INVALID_REQUEST);
	UNIT_CHECK(!v[2].present);
	UNIT_EQ_INT(validate("{\"name\":null}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"a\",\"at\":\"2026-01-31T10:00:00Z\"}", v), PF_OK);
	UNIT_EQ_INT(v[4].integer, 1769853600);
	UNIT_EQ_INT(validate("{\"name\":\"a\",\"at\":\"yesterday\"}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"a\",\"at\":\"0000-01-01T00:00:00Z\"}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"a\",\"at\":\"1969-12-31T23:59:59Z\"}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(validate("{\"name\":\"a\",\"at\":\"1970-01-01T00:00:00Z\"}", v), PF_OK);
	UNIT_EQ_INT(validate("{\"name\":\"a\",\"at\":\"9999-12-31T23:59:59-01:00\"}", v), PF_ERR_INVALID_REQUEST);
	UNIT_EQ_INT(json_fields_validate(NULL, fields, 5, v, NULL, 0) == PF_ERR_INVALID_REQUEST, 1);
}

/* A body that could not be built is a 500, not a 200 whose problem body
 * says "ok". */
static void
test_ok_without_body(void)
{
	struct http_response res;
	const char *content_type = NULL;
	char *text;
	json_t *doc;

	memset(&res, 0, sizeof(res));
	UNIT_EQ_INT(http_ok(&res, 200, NULL), PF_ERR_INTERNAL);
	UNIT_EQ_INT(res.status, 500);
	text = http_render_body(&res, &content_type);
	doc = text ? json_loads(text, 0, NULL) : NULL;
	UNIT_EQ_STR(content_type, "application/problem+json");
	UNIT_EQ_STR(json_string_value(json_object_get(doc, "code")), "internal_error");
	UNIT_EQ_INT(json_integer_value(json_object_get(doc, "status")), 500);
	json_decref(doc);
	free(text);
	http_response_clear(&res);

	/* and a body given replaces the one before */
	UNIT_EQ_INT(http_ok(&res, 201, json_pack("{s:i}", "a", 1)), PF_OK);
	UNIT_EQ_INT(res.status, 201);
	UNIT_EQ_INT(res.error, PF_OK);
	http_response_clear(&res);
}

static void
test_response_head(void)
{
	struct http_response res;
	char head[HTTP_HEAD_MAX], long_type[HTTP_HEAD_MAX + 8];
	bool send_body = false;
	size_t n;

	memset(&res, 0, sizeof(res));
	res.status = 405;
	snprintf(res.allow, sizeof(res.allow), "GET, POST");
	n = http_response_head(&res, "application/problem+json", 12, head, sizeof(head), &send_body);
	UNIT_CHECK(send_body);
	UNIT_EQ_INT(n, strlen(head));
	UNIT_EQ_STR(head, "Status: 405 Method Not Allowed\r\n"
	    "Content-Type: application/problem+json\r\nCache-Control: no-store\r\n"
	    "Content-Length: 12\r\nAllow: GET, POST\r\n\r\n");

	res.status = 503;
	n = http_response_head(&res, "application/problem+json", 0, head, sizeof(head), &send_body);
	UNIT_CHECK(send_body && strstr(head, "Retry-After: 2\r\n") != NULL);

	/* a head that does not fit: a bare 500, and the body is not sent
	 * (before, the body went out alone and nginx read it as headers) */
	res.status = 200;
	memset(long_type, 'a', sizeof(long_type) - 1);
	long_type[sizeof(long_type) - 1] = '\0';
	n = http_response_head(&res, long_type, 2, head, sizeof(head), &send_body);
	UNIT_CHECK(!send_body);
	UNIT_EQ_INT(n, strlen(head));
	UNIT_EQ_STR(head, "Status: 500 Internal Server Error\r\n"
	    "Cache-Control: no-store\r\nContent-Length: 0\r\n\r\n");
}

int
main(void)
{
	test_route_match();
	test_path_decode();
	test_query();
	test_json_body();
	test_fields();
	test_ok_without_body();
	test_response_head();
	return UNIT_REPORT("test_http");
}
