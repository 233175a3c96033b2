/* dispatch.c: the per-request gauntlet. Nothing is written to the client
 * before the transaction has committed or rolled back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include "cors.h"
#include "dispatch.h"
#include "handler.h"
#include "idempotency.h"
#include "log.h"
#include "metrics.h"

#define DISPATCH_ATTEMPTS 4  /* first try + retries on serialization failure or deadlock */

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

/* Writes status, headers and body. Headers are formatted with snprintf:
 * libfcgi's own printf does not know every conversion (%zu among them).
 * extra: more header lines (CORS), "" for none. A 204 has no body. */
static void
write_response(FCGX_Request *fr, const struct http_response *res, const char *request_id,
    const char *extra)
{
	const char *content_type = "application/json";
	char *body = NULL;
	size_t body_len;
	int status = res->status ? res->status : 500;
	char head[1536];
	int n;

	if (status == 204) {
		n = snprintf(head, sizeof(head), "Status: 204 %s\r\nCache-Control: no-store\r\n"
		    "X-Request-Id: %s\r\n%s\r\n", status_text(status), request_id, extra);
		if (n > 0 && (size_t)n < sizeof(head))
			FCGX_PutStr(head, n, fr->out);
		return;
	}
	body = http_render_body(res, &content_type);
	body_len = body ? strlen(body) : 0;
	n = snprintf(head, sizeof(head),
	    "Status: %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
	    "X-Request-Id: %s\r\nContent-Length: %zu\r\n%s%s%s%s%s%s\r\n",
	    status, status_text(status), content_type, request_id, body_len,
	    status == 405 && res->allow[0] ? "Allow: " : "",
	    status == 405 && res->allow[0] ? res->allow : "",
	    status == 405 && res->allow[0] ? "\r\n" : "",
	    status != 401 ? "" : res->error == PF_ERR_UNAUTHENTICATED ?
		"WWW-Authenticate: Bearer realm=\"personaforge\"\r\n" :
		"WWW-Authenticate: Bearer realm=\"personaforge\", error=\"invalid_token\"\r\n",
	    status == 503 ? "Retry-After: 2\r\n" : "", extra);
	if (n > 0 && (size_t)n < sizeof(head))
		FCGX_PutStr(head, n, fr->out);
	if (body != NULL)
		FCGX_PutStr(body, (int)body_len, fr->out);
	free(body);
}

/* Reads the body into req (at most HTTP_BODY_MAX bytes), draining anything
 * longer so the connection stays usable. */
static enum pf_error
read_body(FCGX_Request *fr, struct http_request *req, long declared)
{
	char scratch[4096];
	size_t want, got = 0;

	if (declared <= 0)
		return PF_OK;
	if (declared > HTTP_BODY_MAX) {
		while (FCGX_GetStr(scratch, sizeof(scratch), fr->in) > 0)
			;
		return PF_ERR_PAYLOAD_TOO_LARGE;
	}
	want = (size_t)declared;
	req->body = malloc(want + 1);
	if (req->body == NULL)
		return PF_ERR_INTERNAL;
	while (got < want) {
		int n = FCGX_GetStr(req->body + got, (int)(want - got), fr->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	req->body[got] = '\0';
	req->body_len = got;
	return PF_OK;
}

static long
content_length(const char *text)
{
	char *end;
	long value;

	if (text == NULL || text[0] == '\0')
		return 0;
	value = strtol(text, &end, 10);
	if (*end != '\0' || value < 0)
		return -1;
	return value;
}

static pf_time
clock_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (pf_time)ts.tv_sec;
}

/* The request's id: nginx's (it takes the client's X-Request-Id when well
 * formed, else its own $request_id), or, for a request that came without
 * one, 16 random hex digits. */
static void
request_id_take(struct http_request *req, const char *from_nginx)
{
	unsigned char random_bytes[8];
	size_t i;

	if (http_request_id_valid(from_nginx)) {
		snprintf(req->request_id, sizeof(req->request_id), "%s", from_nginx);
		return;
	}
	if (getrandom(random_bytes, sizeof(random_bytes), GRND_NONBLOCK) != (ssize_t)sizeof(random_bytes))
		memset(random_bytes, 0, sizeof(random_bytes));
	for (i = 0; i < sizeof(random_bytes); i++)
		snprintf(req->request_id + 2 * i, 3, "%02x", random_bytes[i]);
}

/* Everything before the database: returns PF_OK with *route set, or an
 * error already written into res. */
static enum pf_error
check_request(FCGX_Request *fr, const struct app_config *cfg, struct http_request *req,
    struct http_response *res, const struct route **route, struct field_value *values)
{
	const char *uri = FCGX_GetParam("REQUEST_URI", fr->envp);
	char raw_path[HTTP_PATH_MAX + 1];
	char detail[HTTP_DETAIL_MAX];
	enum pf_error err;
	long declared;
	size_t path_len;

	request_id_take(req, FCGX_GetParam("REQUEST_ID", fr->envp));
	res->request_id = req->request_id;
	log_set_request_id(req->request_id);
	req->method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
	req->query = FCGX_GetParam("QUERY_STRING", fr->envp);
	req->content_type = FCGX_GetParam("CONTENT_TYPE", fr->envp);
	req->authorization = FCGX_GetParam("HTTP_AUTHORIZATION", fr->envp);
	req->idempotency_key = FCGX_GetParam("HTTP_IDEMPOTENCY_KEY", fr->envp);
	req->now = clock_now();
	if (req->method == NULL || uri == NULL)
		return http_fail(res, PF_ERR_NOT_FOUND, "No such resource.");
	path_len = strcspn(uri, "?");
	if (path_len > HTTP_PATH_MAX ||
	    (memcpy(raw_path, uri, path_len), raw_path[path_len] = '\0',
	    http_path_decode(raw_path, req->path, sizeof(req->path)) != 0))
		return http_fail(res, PF_ERR_NOT_FOUND, "No such resource.");

	switch (route_match(app_routes, app_route_count, req->method, req->path, route,
	    req->path_param, sizeof(req->path_param), res->allow, sizeof(res->allow))) {
	case ROUTE_NOT_FOUND:
		return http_fail(res, PF_ERR_NOT_FOUND, "No such resource.");
	case ROUTE_METHOD_NOT_ALLOWED:
		return http_fail(res, PF_ERR_METHOD_NOT_ALLOWED,
		    "This resource does not support %s.", req->method);
	case ROUTE_FOUND:
		break;
	}

	if ((*route)->role != ROUTE_ROLE_PUBLIC) {
		err = auth_verify_bearer(&cfg->auth, req->authorization, req->now, &req->identity);
		if (err == PF_ERR_UNAUTHENTICATED)
			return http_fail(res, err, "Sign in to continue: a bearer token is required.");
		if (err == PF_ERR_TOKEN_EXPIRED)
			return http_fail(res, err, "Your session has expired; sign in again.");
		if (err != PF_OK)
			return http_fail(res, PF_ERR_INVALID_TOKEN, "The bearer token is not valid.");
		if ((int)req->identity.role != (*route)->role)
			return http_fail(res, PF_ERR_FORBIDDEN,
			    "A %s token may not call this endpoint.",
			    auth_role_name(req->identity.role));
	}

	declared = content_length(FCGX_GetParam("CONTENT_LENGTH", fr->envp));
	if (declared < 0)
		return http_fail(res, PF_ERR_INVALID_REQUEST, "Invalid Content-Length.");
	if ((*route)->fields == NULL)
		return PF_OK; /* GET and DELETE take no body; whatever was sent is ignored */
	err = read_body(fr, req, declared);
	if (err == PF_ERR_PAYLOAD_TOO_LARGE)
		return http_fail(res, err, "The request body is larger than 64 KiB.");
	if (err != PF_OK)
		return http_fail(res, err, "The request could not be read.");
	if (req->body_len > 0 && !http_is_json_content_type(req->content_type))
		return http_fail(res, PF_ERR_UNSUPPORTED_MEDIA_TYPE,
		    "Send the request body as application/json.");
	detail[0] = '\0';
	err = http_parse_json_body(req, detail, sizeof(detail));
	if (err != PF_OK)
		return http_fail(res, err, "%s", detail);
	err = json_fields_validate(req->json, (*route)->fields,
	    json_fields_count((*route)->fields), values, detail, sizeof(detail));
	if (err != PF_OK)
		return http_fail(res, err, "%s", detail);
	if (req->idempotency_key != NULL && !idempotency_key_valid(req->idempotency_key))
		return http_fail(res, PF_ERR_INVALID_REQUEST,
		    "Idempotency-Key must be 1 to 255 printable ASCII characters.");
	return PF_OK;
}

static bool
is_business_error(enum pf_error err)
{
	return err != PF_OK && err != PF_ERR_UNAVAILABLE && err != PF_ERR_INTERNAL;
}

/* True (once per request) when the connection broke before COMMIT was
 * sent: PostgreSQL rolled the transaction back, so running it again on a
 * new connection cannot apply anything twice. This is what a connection
 * that died while idle (a database restart) looks like at its first use.
 * A connection dropped because the server went silent is not tried again:
 * the next one would most likely wait as long, doubling the wait for the
 * 503. */
static bool
connection_lost_before_commit(const struct db *db, enum pf_error err, bool *reconnected)
{
	if (err != PF_ERR_UNAVAILABLE || db->conn != NULL || db->timed_out || *reconnected)
		return false;
	*reconnected = true;
	return true;
}

/* The line every 5xx gets, with what caused it. */
static void
log_failure(const struct handler_ctx *ctx, const struct route *route, enum pf_error err,
    int attempts)
{
	const struct db *db = ctx->db;
	struct log_line line;
	const char *cause;

	if (!log_enabled(LOG_WARN))
		return;
	if (db->timed_out)
		cause = "no answer from the database in time";
	else if (db->conn == NULL)
		cause = "database unavailable";
	else if (db_last_error_retryable(db))
		cause = "serialization failures or deadlocks past the retries";
	else if (db->last_sqlstate[0] != '\0')
		cause = "database error";
	else if (err == PF_ERR_INTERNAL)
		cause = "the handler failed without a database error";
	else
		cause = "unavailable";
	log_begin(&line, err == PF_ERR_INTERNAL ? LOG_ERROR : LOG_WARN, "request_failed");
	log_str(&line, "route", route->pattern);
	log_str(&line, "cause", cause);
	log_str(&line, "sqlstate", db->last_sqlstate[0] ? db->last_sqlstate : NULL);
	log_int(&line, "attempts", attempts < DISPATCH_ATTEMPTS ? attempts + 1 : attempts);
	log_end(&line);
}

/* Runs the handler inside one transaction, retrying serialization failures
 * and deadlocks a bounded number of times. A rule's refusal rolls back
 * everything the handler wrote; only its idempotent answer may be kept. */
static void
run_in_transaction(struct handler_ctx *ctx, const struct route *route)
{
	struct http_response *res = ctx->res;
	enum pf_error err = PF_OK;
	bool reconnected = false;
	int attempt;

	for (attempt = 0; attempt < DISPATCH_ATTEMPTS; attempt++) {
		struct idempotency_state idem;
		bool keep;

		http_response_clear(res);
		memset(&idem, 0, sizeof(idem));
		ctx->db->last_sqlstate[0] = '\0';
		/* a connection that cannot be made now is not tried twice: each
		 * try may take connect_timeout */
		err = db_ensure(ctx->db);
		if (err == PF_OK)
			err = db_begin(ctx->db);
		if (err != PF_OK)
			break;
		err = idempotency_begin(ctx, &idem);
		if (err == PF_OK && !idem.answered) {
			err = route->handler(ctx);
			if (err == PF_OK || is_business_error(err)) {
				enum pf_error store_err = idempotency_finish(ctx, &idem, err);
				if (store_err != PF_OK)
					err = store_err;
			}
		}
		keep = err == PF_OK || idem.answered || (is_business_error(err) && idem.stored);
		if (keep) {
			enum pf_error commit_err = db_commit(ctx->db);
			if (commit_err == PF_OK) {
				if (idem.answered)
					metrics_idempotent_replay();
				return;
			}
			err = commit_err;
		} else {
			db_rollback(ctx->db);
			if (is_business_error(err))
				return;
			if (connection_lost_before_commit(ctx->db, err, &reconnected))
				continue;
		}
		if (!db_last_error_retryable(ctx->db) && !db_last_error_unique_violation(ctx->db))
			break;
	}
	http_response_clear(res);
	if (err == PF_ERR_INTERNAL && !db_last_error_retryable(ctx->db) &&
	    !db_last_error_unique_violation(ctx->db))
		http_fail(res, PF_ERR_INTERNAL, "Something went wrong on our side.");
	else
		http_fail(res, PF_ERR_UNAVAILABLE,
		    "The service is temporarily unavailable; please retry shortly.");
	log_failure(ctx, route, err, attempt);
}

/* Tries the route's unlocked read (one statement, no BEGIN/COMMIT): true
 * when it answered. Whatever it could not answer, including a database
 * error, goes to the transaction with a clean response; so does everything
 * while disconnected (the transaction path reconnects and answers 503). */
static bool
run_unlocked(struct handler_ctx *ctx, const struct route *route)
{
	if (route->unlocked == NULL || ctx->db->conn == NULL ||
	    PQstatus(ctx->db->conn) != CONNECTION_OK)
		return false;
	if (route->unlocked(ctx) == PF_OK)
		return true;
	http_response_clear(ctx->res);
	return false;
}

static long long
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The request's line: what was asked, by whom, what it answered and what
 * it cost; never the token or the body. */
static void
log_request(const struct http_request *req, const struct http_response *res,
    const struct route *route, long long started_us, int round_trips)
{
	struct log_line line;
	int status = res->status ? res->status : 500;

	if (!log_request_lines() || !log_enabled(LOG_INFO))
		return;
	log_begin(&line, LOG_INFO, "request");
	log_str(&line, "method", req->method);
	log_str(&line, "route", route != NULL ? route->pattern : NULL);
	log_int(&line, "status", status);
	log_str(&line, "code", res->error != PF_OK ? pf_error_info(res->error)->code : NULL);
	log_str(&line, "sub", req->identity.sub[0] ? req->identity.sub : NULL);
	log_str(&line, "role", req->identity.sub[0] ? auth_role_name(req->identity.role) : NULL);
	log_int(&line, "duration_us", monotonic_us() - started_us);
	log_int(&line, "db_round_trips", round_trips);
	log_end(&line);
}

void
dispatch_request(FCGX_Request *fr, struct db *db, const struct app_config *cfg)
{
	struct http_request req;
	struct http_response res;
	struct field_value values[ROUTE_FIELDS_MAX];
	const struct route *route = NULL;
	long long started_us = monotonic_us();
	/* CORS (cors.h): NULL unless the Origin is one configured */
	const char *origin = cors_match(&cfg->cors, FCGX_GetParam("HTTP_ORIGIN", fr->envp));
	const char *preflight_method = FCGX_GetParam("HTTP_ACCESS_CONTROL_REQUEST_METHOD", fr->envp);
	bool preflight = false;
	char cors[1024];

	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	memset(values, 0, sizeof(values));
	db->round_trips = 0;
	metrics_request_started();
	if (check_request(fr, cfg, &req, &res, &route, values) != PF_OK) {
		/* A preflight is an OPTIONS no route has, on a known path (so it
		 * got 405 and the path's methods), from an allowed origin: 204
		 * with the methods. Anything else keeps today's answer. */
		preflight = origin != NULL && res.error == PF_ERR_METHOD_NOT_ALLOWED &&
		    req.method != NULL && strcmp(req.method, "OPTIONS") == 0 &&
		    preflight_method != NULL && preflight_method[0] != '\0';
		if (preflight) {
			res.error = PF_OK;
			res.status = 204;
		}
	} else {
		struct handler_ctx ctx = {db, cfg, &req, &res, values, {NULL, NULL}};
		ctx.actor.role = route->role == ROUTE_ROLE_PUBLIC ? "system" :
		    auth_role_name(req.identity.role);
		ctx.actor.id = route->role == ROUTE_ROLE_PUBLIC ? NULL : req.identity.sub;
		if (!run_unlocked(&ctx, route))
			run_in_transaction(&ctx, route);
	}
	cors_headers(&cfg->cors, origin, preflight, res.allow, cors, sizeof(cors));
	write_response(fr, &res, req.request_id, cors);
	log_request(&req, &res, route, started_us, db->round_trips);
	metrics_request_finished(route != NULL ? (int)(route - app_routes) : -1,
	    res.status ? res.status : 500, monotonic_us() - started_us);
	metrics_add_db(&db->counters);
	log_set_request_id(NULL);
	http_response_clear(&res);
	http_request_clear(&req);
}
