/* test_request_chaos.c: allocation failure on the request path, in the
 * spirit of jansson's test_chaos. One valid request per route (a real
 * token, a body its field table accepts) goes through the real gauntlet
 * (fcgi/dispatch.c dispatch_serve, with the real route table and handlers)
 * while the Nth allocation fails, for N = 1, 2, ... until a run makes no
 * allocation fail. Every run must answer 500 or 503 (the database is
 * unreachable, so a run without failure ends in 503), and free everything
 * it allocated.
 *
 * What it covers: every allocation made through malloc, calloc, realloc or
 * strdup by the service's own code (linked with --wrap), by jansson
 * (json_memory_watch) and by OpenSSL (CRYPTO_set_mem_functions): routing,
 * token verification, body reading and parsing, validation, and the problem
 * response. Not covered: libpq's and libfcgi's own allocations.
 *
 * Built with CHAOS_WITH_DATABASE (tests/db/test_request_chaos_db, run by
 * run-all.sh against the suite's PostgreSQL, PF_DATABASE), the same requests
 * go through the handlers and their transactions too, for a user of its
 * own: a run whose allocation failed must answer 500 or 503 and leave no
 * row behind (audit_log, outbox, credit_ledger, charges, idempotency_keys
 * and provider_events are counted before and after); the read-only
 * shortcut of GET /account may instead recover in its transaction. The
 * last, unharmed run of each route may answer anything and commit. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "base64url.h"
#include "dispatch.h"
#include "handler.h"
#include "json_memory.h"
#include "unit.h"

/* ---- the allocation counter -------------------------------------------- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);

#define LIVE_SLOTS 65536   /* a power of two, far above one request's allocations */

static bool chaos_on;        /* count, fail and track only during a request */
static long chaos_calls;     /* allocations asked for during this request */
static long chaos_fail_at;   /* the one that fails (0: none) */
static bool chaos_failed;    /* it did */
static void *live[LIVE_SLOTS];
static long live_count;

static size_t
slot_of(const void *p)
{
	return ((size_t)p >> 4) * 2654435761u & (LIVE_SLOTS - 1);
}

static void
live_add(void *p)
{
	size_t i = slot_of(p);

	while (live[i] != NULL)
		i = (i + 1) & (LIVE_SLOTS - 1);
	live[i] = p;
	live_count++;
}

/* Forgets p if this request allocated it (open addressing, deletion by
 * re-inserting the rest of the cluster). */
static void
live_remove(void *p)
{
	size_t i = slot_of(p), j;

	while (live[i] != NULL && live[i] != p)
		i = (i + 1) & (LIVE_SLOTS - 1);
	if (live[i] == NULL)
		return;
	live[i] = NULL;
	live_count--;
	for (j = (i + 1) & (LIVE_SLOTS - 1); live[j] != NULL; j = (j + 1) & (LIVE_SLOTS - 1)) {
		void *q = live[j];
		live[j] = NULL;
		live_count--;
		live_add(q);
	}
}

/* True when this allocation is the one to fail. */
static bool
chaos_strikes(void)
{
	if (!chaos_on)
		return false;
	if (++chaos_calls != chaos_fail_at)
		return false;
	chaos_failed = true;
	return true;
}

static void *
track(void *p)
{
	if (p != NULL && chaos_on)
		live_add(p);
	return p;
}

void *
__wrap_malloc(size_t size)
{
	return chaos_strikes() ? NULL : track(__real_malloc(size));
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return chaos_strikes() ? NULL : track(__real_calloc(n, size));
}

void *
__wrap_realloc(void *p, size_t size)
{
	void *q;

	if (chaos_strikes())
		return NULL;
	q = __real_realloc(p, size);
	if (q != NULL && p != NULL && chaos_on)
		live_remove(p);
	return track(q);
}

void
__wrap_free(void *p)
{
	if (p != NULL && chaos_on)
		live_remove(p);
	__real_free(p);
}

char *
__wrap_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = __wrap_malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

static void *
openssl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return __wrap_malloc(n);
}

static void *
openssl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return __wrap_realloc(p, n);
}

static void
openssl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	__wrap_free(p);
}

/* ---- requests ------------------------------------------------------------ */

#ifdef CHAOS_WITH_DATABASE
#define CHAOS_NAME "test_request_chaos_db"
#else
#define CHAOS_NAME "test_request_chaos"
#endif

#define SECRET "chaos-test-secret-of-at-least-32-bytes!"
#define ISSUER "https://auth.test"
#define AUDIENCE "personaforge-account"

struct request {
	const char *path;      /* the pattern with {id} filled in */
	const char *body;      /* NULL: none */
};

/* One valid request per route, designated by its enum: a route left out has
 * no path, which the test reports. */
static const struct request requests[API_ROUTE_COUNT] = {
	[API_HEALTHZ] = {"/healthz", NULL},
	[API_READYZ] = {"/readyz", NULL},
	[API_METRICS] = {"/metrics", NULL},
	[API_ACCOUNT_GET] = {"/api/v1/account", NULL},
	[API_PLANS_GET] = {"/api/v1/plans", NULL},
	[API_SUBSCRIPTION_CANCEL] = {"/api/v1/subscription/cancel",
	    "{\"reason\": \"other\", \"comment\": \"too many emails\"}"},
	[API_SUBSCRIPTION_RESUME] = {"/api/v1/subscription/resume", "{}"},
	[API_SUBSCRIPTION_DOWNGRADE] = {"/api/v1/subscription/downgrade", "{\"plan\": \"pro\"}"},
	[API_SCHEDULED_CHANGE_DELETE] = {"/api/v1/subscription/scheduled-change", NULL},
	[API_INTERNAL_SUBSCRIPTION_CREATE] = {"/api/v1/internal/subscriptions",
	    "{\"user_id\": \"chaos-user\", \"email\": \"c@example.com\", \"plan\": \"pro\","
	    " \"provider_ref\": \"chaos-user-ref-1\", \"started_at\": \"2026-01-01T00:00:00Z\"}"},
	[API_CHARGES_GET] = {"/api/v1/charges", NULL},
	[API_REFUND_FORM_GET] = {"/api/v1/refund-form", NULL},
	[API_REFUND_REQUESTS_GET] = {"/api/v1/refund-requests", NULL},
	[API_REFUND_REQUEST_CREATE] = {"/api/v1/refund-requests",
	    "{\"charge_id\": \"ch_0123\", \"reason\": \"billing_error\","
	    " \"description\": \"charged twice\", \"email\": \"c@example.com\"}"},
	[API_SUPPORT_REFUND_REQUESTS_GET] = {"/api/v1/support/refund-requests", NULL},
	[API_SUPPORT_REFUND_REQUEST_APPROVE] = {"/api/v1/support/refund-requests/rr_1/approve",
	    "{\"note\": \"ok\", \"amount_cents\": 500}"},
	[API_SUPPORT_REFUND_REQUEST_DENY] = {"/api/v1/support/refund-requests/rr_1/deny",
	    "{\"note\": \"no\"}"},
	[API_SUPPORT_USER_SUSPEND] = {"/api/v1/support/users/chaos-user/suspend",
	    "{\"note\": \"terms\"}"},
	[API_INTERNAL_CHARGE_CREATE] = {"/api/v1/internal/charges",
	    "{\"user_id\": \"chaos-user\", \"kind\": \"credit_pack\", \"amount_cents\": 900,"
	    " \"currency\": \"USD\", \"provider_ref\": \"chaos-user-ref-2\", \"credits\": 100}"},
	[API_INTERNAL_TASK_CREATE] = {"/api/v1/internal/tasks",
	    "{\"user_id\": \"chaos-user\", \"kind\": \"image\", \"credits\": 5}"},
	[API_INTERNAL_TASK_COMPLETE] = {"/api/v1/internal/tasks/tk_1/complete", NULL},
	[API_INTERNAL_TASK_FAIL] = {"/api/v1/internal/tasks/tk_1/fail", "{\"cause\": \"platform\"}"},
};

struct transport_state {
	const char *method, *uri, *authorization, *content_length, *body, *idempotency_key;
	size_t body_at;
};

static const char *
state_param(void *source, const char *name)
{
	const struct transport_state *s = source;

	if (strcmp(name, "REQUEST_METHOD") == 0)
		return s->method;
	if (strcmp(name, "REQUEST_URI") == 0)
		return s->uri;
	if (strcmp(name, "HTTP_AUTHORIZATION") == 0)
		return s->authorization;
	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return s->content_length;
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return s->body != NULL ? "application/json" : NULL;
	if (strcmp(name, "HTTP_IDEMPOTENCY_KEY") == 0)
		return s->body != NULL ? s->idempotency_key : NULL;
	return NULL;
}

static int
state_read(void *source, char *buf, int len)
{
	struct transport_state *s = source;
	size_t left = s->body != NULL ? strlen(s->body) - s->body_at : 0;
	size_t n = left < (size_t)len ? left : (size_t)len;

	if (n > 0)
		memcpy(buf, s->body + s->body_at, n);
	s->body_at += n;
	return (int)n;
}

/* "Bearer <HS256 JWT>" for user in role, signed with SECRET. */
static void
mint_bearer(const char *user, const char *role, char *out, size_t len)
{
	char header_b64[128], claims_b64[512], input[700], claims[400];
	unsigned char mac[32];
	char mac_b64[64];
	size_t mac_len = 0;
	long n;
	time_t now = time(NULL);

	n = base64url_encode((const unsigned char *)"{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27,
	    header_b64, sizeof(header_b64));
	UNIT_CHECK(n > 0);
	snprintf(claims, sizeof(claims),
	    "{\"sub\":\"%s\",\"email\":\"c@example.com\",\"role\":\"%s\","
	    "\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"iat\":%lld,\"exp\":%lld}",
	    user, role, (long long)now, (long long)now + 3600);
	n = base64url_encode((const unsigned char *)claims, strlen(claims), claims_b64,
	    sizeof(claims_b64));
	UNIT_CHECK(n > 0);
	snprintf(input, sizeof(input), "%s.%s", header_b64, claims_b64);
	UNIT_CHECK(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, SECRET, strlen(SECRET),
	    (const unsigned char *)input, strlen(input), mac, sizeof(mac), &mac_len) != NULL);
	n = base64url_encode(mac, mac_len, mac_b64, sizeof(mac_b64));
	UNIT_CHECK(n > 0);
	snprintf(out, len, "Bearer %s.%s", input, mac_b64);
}

static char last_detail[HTTP_DETAIL_MAX];   /* of the last answer, for the report */

#ifdef CHAOS_WITH_DATABASE
static PGconn *check_conn;   /* sees what was committed */

/* Rows the service writes for anything it changes. */
static long long
rows_written(void)
{
	PGresult *res = PQexec(check_conn,
	    "SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM outbox)"
	    " + (SELECT count(*) FROM credit_ledger) + (SELECT count(*) FROM charges)"
	    " + (SELECT count(*) FROM idempotency_keys) + (SELECT count(*) FROM provider_events)");
	long long n = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}
#endif

/* text with every "chaos-user" replaced by user (the user of this run). */
static void
with_user(const char *text, const char *user, char *out, size_t len)
{
	const char *mark = "chaos-user";
	size_t used = 0;

	out[0] = '\0';
	while (text != NULL && *text != '\0' && used + 1 < len) {
		const char *at = strstr(text, mark);
		size_t keep = at != NULL ? (size_t)(at - text) : strlen(text);
		int n = snprintf(out + used, len - used, "%.*s%s", (int)keep, text,
		    at != NULL ? user : "");

		if (n < 0)
			break;
		used += (size_t)n;
		text = at != NULL ? at + strlen(mark) : text + keep;
	}
}

/* Serves route r once for user, failing allocation fail_at (0: none), and
 * renders the answer as write_response does. Returns the status the client
 * gets; *leaked counts what the run allocated and did not free. */
static int
serve(enum api_route r, struct db *db, const struct app_config *cfg, const char *user,
    const char *bearer, long fail_at, long *leaked)
{
	const struct route *route = &api_routes[r];
	struct transport_state state;
	const struct dispatch_transport t = {state_param, state_read, &state};
	struct http_response res;
	const char *content_type = "application/json";
	char length[24], head[HTTP_HEAD_MAX], *body, uri[HTTP_PATH_MAX], text[1024], key[96];
	bool send_body;
	int status, saved_stderr, quiet;

	memset(&state, 0, sizeof(state));
	state.method = route->method;
	with_user(requests[r].path, user, uri, sizeof(uri));
	with_user(requests[r].body, user, text, sizeof(text));
	snprintf(key, sizeof(key), "%s-%d", user, (int)r);
	state.uri = uri;
	state.authorization = route->role == ROUTE_ROLE_PUBLIC ? NULL : bearer;
	state.body = requests[r].body != NULL ? text : NULL;
	state.idempotency_key = key;
	snprintf(length, sizeof(length), "%zu", state.body ? strlen(state.body) : 0);
	state.content_length = length;
	memset(&res, 0, sizeof(res));

	/* each run reports its failed connection on stderr: not ours to read */
	fflush(stderr);
	saved_stderr = dup(2);
	quiet = open("/dev/null", O_WRONLY);
	if (quiet >= 0)
		dup2(quiet, 2);
	chaos_calls = 0;
	chaos_fail_at = fail_at;
	chaos_failed = false;
	chaos_on = true;
	dispatch_serve(&t, db, cfg, &res);
	/* as write_response does: the body rendered before any COMMIT, else now */
	body = res.raw_body != NULL ? NULL : http_render_body(&res, &content_type);
	if (res.raw_body != NULL && res.raw_content_type != NULL)
		content_type = res.raw_content_type;
	http_response_head(&res, content_type,
	    res.raw_body != NULL ? strlen(res.raw_body) : body != NULL ? strlen(body) : 0,
	    head, sizeof(head), &send_body);
	status = atoi(head + strlen("Status: "));
	snprintf(last_detail, sizeof(last_detail), "%s", res.detail);
	free(body);
	http_response_clear(&res);
	chaos_on = false;
	fflush(stderr);
	if (saved_stderr >= 0) {
		dup2(saved_stderr, 2);
		close(saved_stderr);
	}
	if (quiet >= 0)
		close(quiet);
	*leaked = live_count;
	memset(live, 0, sizeof(live));
	live_count = 0;
	return status;
}

static const char *
role_claim(int role)
{
	return role == AUTH_ROLE_SUPPORT ? "support" : role == AUTH_ROLE_SERVICE ? "service" : "user";
}

int
main(void)
{
	static unsigned char secret[] = SECRET;
	struct app_config cfg;
	struct db db;
	char bearer[1024], user[64];
	long total = 0;

	/* before OpenSSL allocates anything */
	UNIT_CHECK(CRYPTO_set_mem_functions(openssl_malloc, openssl_realloc, openssl_free) == 1);
	/* as pf-account does; its malloc is wrapped like the service's own */
	json_memory_watch();

	memset(&cfg, 0, sizeof(cfg));
#ifdef CHAOS_WITH_DATABASE
	if (getenv("PF_DATABASE") == NULL) {
		fprintf(stderr, "test_request_chaos_db: PF_DATABASE is not set\n");
		printf("test_request_chaos_db: 0 passed, 1 failed\n");
		return 1;
	}
	snprintf(cfg.database, sizeof(cfg.database), "%s", getenv("PF_DATABASE"));
	check_conn = PQconnectdb(cfg.database);
	UNIT_EQ_INT(PQstatus(check_conn), CONNECTION_OK);
#else
	snprintf(cfg.database, sizeof(cfg.database), "host=/nonexistent-pf-chaos port=1");
#endif
	snprintf(user, sizeof(user), "chaos-%ld-%d", (long)time(NULL), (int)getpid());
	cfg.auth.alg = AUTH_ALG_HS256;
	cfg.auth.key = secret;
	cfg.auth.key_len = strlen(SECRET);
	snprintf(cfg.auth.issuer, sizeof(cfg.auth.issuer), ISSUER);
	snprintf(cfg.auth.audience, sizeof(cfg.auth.audience), AUDIENCE);
	cfg.auth.leeway_seconds = 30;
	UNIT_EQ_INT(auth_config_prepare(&cfg.auth), 0);
	db_init(&db, cfg.database, 5000);

	for (int r = 0; r < API_ROUTE_COUNT; r++) {
		const struct route *route = &api_routes[r];
		long leaked = 0, n;
		int status;

		if (requests[r].path == NULL) {
			fprintf(stderr, "no request for %s %s\n", route->method, route->pattern);
			UNIT_CHECK(requests[r].path != NULL);
			continue;
		}
		mint_bearer(user, role_claim(route->role), bearer, sizeof(bearer));
#ifndef CHAOS_WITH_DATABASE
		/* unharmed, it reaches the (absent) database: 503; and warms what is
		 * made once per process (OpenSSL's algorithm fetches) */
		status = serve((enum api_route)r, &db, &cfg, user, bearer, 0, &leaked);
		if (status != 503)
			fprintf(stderr, "%s %s: %d without failure\n", route->method, route->pattern,
			    status);
		UNIT_EQ_INT(status, 503);
#endif
		for (n = 1;; n++) {
#ifdef CHAOS_WITH_DATABASE
			long long before = rows_written(), after;
#endif
			status = serve((enum api_route)r, &db, &cfg, user, bearer, n, &leaked);
			if (!chaos_failed)
				break;
			total++;
#ifdef CHAOS_WITH_DATABASE
			after = rows_written();
			/* the read-only shortcut's failure is retried in the transaction,
			 * which then does all an unharmed run does */
			if (api_route_handlers[r].without_transaction != NULL && status == 200) {
				status = 500;
				after = before;
			}
			if (after != before)
				fprintf(stderr, "%s %s: allocation %ld failed and %lld rows stayed\n",
				    route->method, route->pattern, n, after - before);
			UNIT_EQ_INT(after - before, 0);
#endif
			if ((status != 500 && status != 503) || leaked != 0)
				fprintf(stderr, "%s %s: allocation %ld of %ld failed: status %d (%s), "
				    "%ld leaked\n", route->method, route->pattern, n, chaos_calls, status,
				    last_detail, leaked);
			UNIT_CHECK(status == 500 || status == 503);
			UNIT_EQ_INT(leaked, 0);
		}
#ifdef CHAOS_WITH_DATABASE
		/* the unharmed run answers as the service does, whatever that is */
		UNIT_CHECK(status >= 200 && status < 500);
		if (status >= 500)
			fprintf(stderr, "%s %s: %d without failure (%s)\n", route->method,
			    route->pattern, status, last_detail);
#else
		UNIT_EQ_INT(status, 503);
#endif
	}
	printf("%s: %ld failed allocations over %d routes\n", CHAOS_NAME, total,
	    (int)API_ROUTE_COUNT);
	db_close(&db);
	auth_config_release(&cfg.auth);
#ifdef CHAOS_WITH_DATABASE
	PQfinish(check_conn);
#endif
	return UNIT_REPORT(CHAOS_NAME);
}
