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
#include "cors.h"
#include "log.h"
#include "metrics.h"
#include "monotonic.h"
#include "json_memory.h"

#define DISPATCH_ATTEMPTS 4  /* first try + retries on serialization failure or deadlock */

/* The CORS lines of the answer this thread is writing (res->extra_headers
 * points here until it is written). Per thread: nothing shared. */
static __thread char cors_lines[1024];

/* Writes head and body. A head that does not fit its buffer is a bare 500
 * without the body: a body without its head would reach nginx as a
 * malformed answer (or be read as headers). */
static void
write_response(FCGX_Request *fr, const struct http_response *res)
{
	const char *content_type = res->raw_content_type ? res->raw_content_type : "application/json";
	bool no_body = res->status == 204;      /* a CORS preflight's answer */
	char *rendered = res->raw_body != NULL || no_body ? NULL : http_render_body(res, &content_type);
	const char *body = no_body ? NULL : res->raw_body != NULL ? res->raw_body : rendered;
	size_t body_len = body ? strlen(body) : 0;
	char head[HTTP_HEAD_MAX];
	bool send_body;
	size_t n;

	n = http_response_head(res, content_type, body_len, head, sizeof(head), &send_body);
	FCGX_PutStr(head, (int)n, fr->out);
	if (body != NULL && send_body)
		FCGX_PutStr(body, (int)body_len, fr->out);
	free(rendered);
}

/* Reads the body into req (at most HTTP_BODY_MAX bytes), draining anything
 * longer so the connection stays usable. */
static enum pf_error
read_body(const struct dispatch_transport *t, struct http_request *req, long declared)
{
	char scratch[4096];
	size_t want, got = 0;

	if (declared <= 0)
		return PF_OK;
	if (declared > HTTP_BODY_MAX) {
		while (t->read(t->source, scratch, sizeof(scratch)) > 0)
			;
		return PF_ERR_PAYLOAD_TOO_LARGE;
	}
	want = (size_t)declared;
	req->body = malloc(want + 1);
	if (req->body == NULL)
		return PF_ERR_INTERNAL;
	while (got < want) {
		int n = t->read(t->source, req->body + got, (int)(want - got));
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
request_id_take(struct http_response *res, const char *from_nginx)
{
	unsigned char random_bytes[8];
	size_t i;

	if (http_request_id_valid(from_nginx)) {
		snprintf(res->request_id, sizeof(res->request_id), "%s", from_nginx);
		return;
	}
	if (getrandom(random_bytes, sizeof(random_bytes), GRND_NONBLOCK) != (ssize_t)sizeof(random_bytes))
		memset(random_bytes, 0, sizeof(random_bytes));
	for (i = 0; i < sizeof(random_bytes); i++)
		snprintf(res->request_id + 2 * i, 3, "%02x", random_bytes[i]);
}

/* Everything before the database: returns PF_OK with *route set, or an
 * error already written into res. */
static enum pf_error
check_request(const struct dispatch_transport *t, const struct app_config *cfg,
    struct http_request *req, struct http_response *res, const struct route **route,
    struct field_value *values)
{
	const char *uri = t->param(t->source, "REQUEST_URI");
	char detail[HTTP_DETAIL_MAX];
	enum pf_error err;
	long declared;
	size_t path_len;

	request_id_take(res, t->param(t->source, "REQUEST_ID"));
	log_set_request_id(res->request_id);
	req->method = t->param(t->source, "REQUEST_METHOD");
	req->query = t->param(t->source, "QUERY_STRING");
	req->content_type = t->param(t->source, "CONTENT_TYPE");
	req->authorization = t->param(t->source, "HTTP_AUTHORIZATION");
	req->idempotency_key = t->param(t->source, "HTTP_IDEMPOTENCY_KEY");
	req->now = clock_now();
	if (req->method == NULL || uri == NULL)
		return http_fail(res, PF_ERR_NOT_FOUND, "No such resource.");
	path_len = strcspn(uri, "?");
	if (path_len > HTTP_PATH_MAX ||
	    http_path_decode(uri, path_len, req->path, sizeof(req->path)) != 0)
		return http_fail(res, PF_ERR_NOT_FOUND, "No such resource.");

	switch (route_match(api_routes, API_ROUTE_COUNT, req->method, req->path, route,
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
		if (err == PF_ERR_INTERNAL)
			return http_fail(res, err, "Something went wrong on our side.");
		if (err != PF_OK)
			return http_fail(res, PF_ERR_INVALID_TOKEN, "The bearer token is not valid.");
		if ((int)req->identity.role != (*route)->role)
			return http_fail(res, PF_ERR_FORBIDDEN,
			    "A %s token may not call this endpoint.",
			    auth_role_name(req->identity.role));
	}

	declared = content_length(t->param(t->source, "CONTENT_LENGTH"));
	if (declared < 0)
		return http_fail(res, PF_ERR_INVALID_REQUEST, "Invalid Content-Length.");
	if ((*route)->body == ROUTE_BODY_NONE)
		return PF_OK;
	/* values[] holds ROUTE_FIELDS_MAX; api_routes.c checks it at compile time */
	if ((*route)->field_count > ROUTE_FIELDS_MAX)
		return http_fail(res, PF_ERR_INTERNAL, "Something went wrong on our side.");
	err = read_body(t, req, declared);
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
	err = json_fields_validate(req->json, (*route)->fields, (*route)->field_count, values,
	    detail, sizeof(detail));
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
run_in_transaction(struct handler_ctx *ctx, const struct route *route,
    const struct route_handlers *handlers)
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
		json_memory_reset();
		err = db_ensure(ctx->db);
		if (err == PF_OK)
			err = db_begin(ctx->db);
		if (err != PF_OK)
			break;
		err = idempotency_begin(ctx, &idem);
		if (err == PF_OK && !idem.answered) {
			err = handlers->handler(ctx);
			if (err == PF_OK || is_business_error(err)) {
				enum pf_error store_err = idempotency_finish(ctx, &idem, err);
				if (store_err != PF_OK)
					err = store_err;
			}
		}
		keep = err == PF_OK || idem.answered || (is_business_error(err) && idem.stored);
		/* the answer is rendered before the COMMIT: no allocation after
		 * it can turn a committed change into an empty answer */
		if (keep && http_response_render(res) != PF_OK) {
			keep = false;
			err = PF_ERR_INTERNAL;
		}
		/* a JSON value that could not be built may have been dropped
		 * silently (a member an audit row, a notification or the answer
		 * lacks): nothing built meanwhile is committed or answered */
		if (json_memory_ran_out()) {
			keep = false;
			err = PF_ERR_INTERNAL;
		}
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
			if (is_business_error(err) && http_response_render(res) == PF_OK &&
			    !json_memory_ran_out())
				return;
			if (is_business_error(err))
				err = PF_ERR_INTERNAL;
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

/* Tries the route's read without a transaction (one statement, no BEGIN or
 * COMMIT): true when it answered. Whatever it could not answer, including a
 * database error or memory running out, goes to the transaction with a
 * clean response; so does everything while disconnected (the transaction
 * path reconnects and answers 503). */
static bool
run_without_transaction(struct handler_ctx *ctx, const struct route_handlers *handlers)
{
	if (handlers->without_transaction == NULL || ctx->db->conn == NULL ||
	    PQstatus(ctx->db->conn) != CONNECTION_OK)
		return false;
	json_memory_reset();
	if (handlers->without_transaction(ctx) == PF_OK && http_response_render(ctx->res) == PF_OK &&
	    !json_memory_ran_out())
		return true;
	http_response_clear(ctx->res);
	return false;
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
dispatch_serve(const struct dispatch_transport *t, struct db *db, const struct app_config *cfg,
    struct http_response *res)
{
	struct http_request req;
	struct field_value values[ROUTE_FIELDS_MAX];
	const struct route *route = NULL;
	long long started_us = monotonic_us();
	/* CORS (cors.h): NULL unless the Origin is one configured */
	const char *origin = cors_match(&cfg->cors, t->param(t->source, "HTTP_ORIGIN"));
	const char *preflight_method = t->param(t->source, "HTTP_ACCESS_CONTROL_REQUEST_METHOD");
	bool preflight = false;

	memset(&req, 0, sizeof(req));
	memset(values, 0, sizeof(values));
	db->round_trips = 0;
	metrics_request_started();
	if (check_request(t, cfg, &req, res, &route, values) != PF_OK) {
		/* A preflight is an OPTIONS no route has, on a known path (so it
		 * got 405 and the path's methods), from an allowed origin: 204
		 * with the methods. Anything else keeps today's answer. */
		preflight = origin != NULL && res->error == PF_ERR_METHOD_NOT_ALLOWED &&
		    req.method != NULL && strcmp(req.method, "OPTIONS") == 0 &&
		    preflight_method != NULL && preflight_method[0] != '\0';
		if (preflight) {
			res->error = PF_OK;
			res->status = 204;
		}
	} else {
		const struct route_handlers *handlers = &api_route_handlers[route - api_routes];
		struct handler_ctx ctx = {db, cfg, &req, res, values, {NULL, NULL}};

		ctx.actor.role = route->role == ROUTE_ROLE_PUBLIC ? "system" :
		    auth_role_name(req.identity.role);
		ctx.actor.id = route->role == ROUTE_ROLE_PUBLIC ? NULL : req.identity.sub;
		if (handlers->handler == NULL)
			http_fail(res, PF_ERR_INTERNAL, "Something went wrong on our side.");
		else if (!run_without_transaction(&ctx, handlers))
			run_in_transaction(&ctx, route, handlers);
	}
	cors_headers(&cfg->cors, origin, preflight, res->allow, cors_lines, sizeof(cors_lines));
	res->extra_headers = cors_lines;
	log_request(&req, res, route, started_us, db->round_trips);
	metrics_request_finished(route != NULL ? (int)(route - api_routes) : -1,
	    res->status ? res->status : 500, monotonic_us() - started_us);
	metrics_add_db(&db->counters);
	http_request_clear(&req);
}

static const char *
fcgx_param(void *source, const char *name)
{
	FCGX_Request *fr = source;

	return FCGX_GetParam(name, fr->envp);
}

static int
fcgx_read(void *source, char *buf, int len)
{
	FCGX_Request *fr = source;

	return FCGX_GetStr(buf, len, fr->in);
}

void
dispatch_request(FCGX_Request *fr, struct db *db, const struct app_config *cfg)
{
	const struct dispatch_transport t = {fcgx_param, fcgx_read, fr};
	struct http_response res;

	memset(&res, 0, sizeof(res));
	dispatch_serve(&t, db, cfg, &res);
	write_response(fr, &res);
	log_set_request_id(NULL);
	http_response_clear(&res);
}
