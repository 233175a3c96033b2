/* metrics.c: see metrics.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "metrics.h"

static const int status_codes[METRICS_STATUS_COUNT - 1] = {
	200, 201, 204, 400, 401, 402, 403, 404, 405, 409, 413, 415, 422, 500, 503,
};      /* the last index counts any other status */

/* seconds, as Prometheus's le labels; in microseconds for the comparison */
static const long long bucket_us[METRICS_BUCKET_COUNT] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 5000000,
};
static const char *const bucket_labels[METRICS_BUCKET_COUNT] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "5",
};

struct metrics_shared {
	/* [route] with route_count as the row of requests no route matched */
	uint64_t requests[METRICS_ROUTES_MAX + 1][METRICS_STATUS_COUNT];
	uint64_t buckets[METRICS_ROUTES_MAX + 1][METRICS_BUCKET_COUNT];  /* not cumulative */
	uint64_t duration_sum_us[METRICS_ROUTES_MAX + 1];
	uint64_t duration_count[METRICS_ROUTES_MAX + 1];
	int64_t in_flight;
	uint64_t db_errors[DB_ERROR_CLASSES];
	uint64_t db_reconnects, db_statement_timeouts, db_answer_timeouts;
	uint64_t idempotent_replays, worker_restarts;
	/* the gauges' cache */
	int gauges_refreshing;
	int gauges_valid;
	int64_t gauges_read_ms;
	int64_t outbox_backlog, outbox_oldest_seconds, refunds_pending, refunds_overdue,
	    subscriptions_due;
};

/* Set in the master before the fork, read-only afterwards; the counters
 * behind the pointer change only through atomic operations. */
static struct metrics_shared *shared;
static bool enabled;
static int refresh_ms;
static size_t routes;

#define ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)
#define LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

int
metrics_init(bool on, int refresh_seconds, size_t route_count)
{
	enabled = on;
	refresh_ms = refresh_seconds * 1000;
	routes = route_count;
	if (!on)
		return 0;
	if (route_count > METRICS_ROUTES_MAX)
		return -1;
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		shared = NULL;
		return -1;
	}
	memset(shared, 0, sizeof(*shared));
	return 0;
}

bool
metrics_enabled(void)
{
	return enabled && shared != NULL;
}

void
metrics_request_started(void)
{
	if (metrics_enabled())
		ADD(shared->in_flight, 1);
}

static int
status_index(int status)
{
	int i;

	for (i = 0; i < METRICS_STATUS_COUNT - 1; i++)
		if (status_codes[i] == status)
			return i;
	return METRICS_STATUS_COUNT - 1;
}

void
metrics_request_finished(int route_index, int status, long long duration_us)
{
	size_t row;
	int b;

	if (!metrics_enabled())
		return;
	row = route_index >= 0 && (size_t)route_index < routes ? (size_t)route_index : routes;
	ADD(shared->in_flight, -1);
	ADD(shared->requests[row][status_index(status)], 1);
	for (b = 0; b < METRICS_BUCKET_COUNT && duration_us > bucket_us[b]; b++)
		;
	if (b < METRICS_BUCKET_COUNT)
		ADD(shared->buckets[row][b], 1);
	ADD(shared->duration_sum_us[row], (uint64_t)(duration_us > 0 ? duration_us : 0));
	ADD(shared->duration_count[row], 1);
}

void
metrics_add_db(struct db_counters *c)
{
	int i;

	if (metrics_enabled()) {
		for (i = 0; i < DB_ERROR_CLASSES; i++)
			if (c->errors[i])
				ADD(shared->db_errors[i], c->errors[i]);
		if (c->reconnects)
			ADD(shared->db_reconnects, c->reconnects);
		if (c->statement_timeouts)
			ADD(shared->db_statement_timeouts, c->statement_timeouts);
		if (c->answer_timeouts)
			ADD(shared->db_answer_timeouts, c->answer_timeouts);
	}
	memset(c, 0, sizeof(*c));
}

void
metrics_idempotent_replay(void)
{
	if (metrics_enabled())
		ADD(shared->idempotent_replays, 1);
}

void
metrics_worker_restart(void)
{
	if (metrics_enabled())
		ADD(shared->worker_restarts, 1);
}

bool
metrics_gauges_claim(long long now_ms)
{
	int expected = 0;

	if (!metrics_enabled())
		return false;
	if (LOAD(shared->gauges_valid) && now_ms - LOAD(shared->gauges_read_ms) < refresh_ms)
		return false;
	return __atomic_compare_exchange_n(&shared->gauges_refreshing, &expected, 1, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

void
metrics_gauges_store(const struct metrics_gauges *g, bool ok, long long now_ms)
{
	if (!metrics_enabled())
		return;
	if (ok) {
		__atomic_store_n(&shared->outbox_backlog, g->outbox_backlog, __ATOMIC_RELAXED);
		__atomic_store_n(&shared->outbox_oldest_seconds, g->outbox_oldest_seconds, __ATOMIC_RELAXED);
		__atomic_store_n(&shared->refunds_pending, g->refunds_pending, __ATOMIC_RELAXED);
		__atomic_store_n(&shared->refunds_overdue, g->refunds_overdue, __ATOMIC_RELAXED);
		__atomic_store_n(&shared->subscriptions_due, g->subscriptions_due, __ATOMIC_RELAXED);
		__atomic_store_n(&shared->gauges_read_ms, now_ms, __ATOMIC_RELAXED);
		__atomic_store_n(&shared->gauges_valid, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&shared->gauges_refreshing, 0, __ATOMIC_RELEASE);
}

/* A growing text buffer; on a failed allocation it stays failed. */
struct text {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void
text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		{
			size_t cap = t->cap * 2 + (size_t)n;
			char *buf = realloc(t->buf, cap);
			if (buf == NULL) {
				t->failed = true;
				return;
			}
			t->buf = buf;
			t->cap = cap;
		}
	}
}

static void
render_requests(struct text *t, const char *const *methods, const char *const *patterns)
{
	size_t r;
	int s, b;

	text_printf(t, "# HELP pf_http_requests_total Requests answered by the app, by route and status.\n"
	    "# TYPE pf_http_requests_total counter\n");
	for (r = 0; r <= routes; r++)
		for (s = 0; s < METRICS_STATUS_COUNT; s++) {
			uint64_t n = LOAD(shared->requests[r][s]);
			char status[8];

			if (n == 0)
				continue;
			if (s < METRICS_STATUS_COUNT - 1)
				snprintf(status, sizeof(status), "%d", status_codes[s]);
			else
				snprintf(status, sizeof(status), "other");
			text_printf(t, "pf_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} %llu\n",
			    r < routes ? methods[r] : "", r < routes ? patterns[r] : "unmatched", status,
			    (unsigned long long)n);
		}
	text_printf(t, "# HELP pf_http_request_duration_seconds Time from the request's parameters to its answer.\n"
	    "# TYPE pf_http_request_duration_seconds histogram\n");
	for (r = 0; r <= routes; r++) {
		uint64_t count = LOAD(shared->duration_count[r]), cumulative = 0;
		const char *method = r < routes ? methods[r] : "";
		const char *pattern = r < routes ? patterns[r] : "unmatched";

		if (count == 0)
			continue;
		for (b = 0; b < METRICS_BUCKET_COUNT; b++) {
			cumulative += LOAD(shared->buckets[r][b]);
			text_printf(t, "pf_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%s\"} %llu\n",
			    method, pattern, bucket_labels[b], (unsigned long long)cumulative);
		}
		text_printf(t, "pf_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n"
		    "pf_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n"
		    "pf_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
		    method, pattern, (unsigned long long)count, method, pattern,
		    (double)LOAD(shared->duration_sum_us[r]) / 1e6, method, pattern,
		    (unsigned long long)count);
	}
}

char *
metrics_render(const char *const *methods, const char *const *patterns, size_t route_count)
{
	struct text t = { malloc(16384), 0, 16384, false };
	int i;

	if (t.buf == NULL)
		return NULL;
	if (!metrics_enabled() || route_count != routes) {
		free(t.buf);
		return NULL;
	}
	render_requests(&t, methods, patterns);
	text_printf(&t, "# HELP pf_http_requests_in_flight Requests being answered now.\n"
	    "# TYPE pf_http_requests_in_flight gauge\npf_http_requests_in_flight %lld\n",
	    (long long)LOAD(shared->in_flight));
	text_printf(&t, "# HELP pf_db_errors_total Database errors by SQLSTATE class.\n"
	    "# TYPE pf_db_errors_total counter\n");
	for (i = 0; i < DB_ERROR_CLASSES; i++)
		text_printf(&t, "pf_db_errors_total{class=\"%s\"} %llu\n", db_error_class_names[i],
		    (unsigned long long)LOAD(shared->db_errors[i]));
	text_printf(&t, "# HELP pf_db_reconnects_total New database connections that replaced lost ones.\n"
	    "# TYPE pf_db_reconnects_total counter\npf_db_reconnects_total %llu\n"
	    "# HELP pf_db_statement_timeouts_total Statements the server ended (statement_timeout, lock_timeout).\n"
	    "# TYPE pf_db_statement_timeouts_total counter\npf_db_statement_timeouts_total %llu\n"
	    "# HELP pf_db_answer_timeouts_total Connections dropped for want of an answer in time.\n"
	    "# TYPE pf_db_answer_timeouts_total counter\npf_db_answer_timeouts_total %llu\n"
	    "# HELP pf_idempotent_replays_total Stored answers replayed for a repeated Idempotency-Key.\n"
	    "# TYPE pf_idempotent_replays_total counter\npf_idempotent_replays_total %llu\n"
	    "# HELP pf_worker_restarts_total Worker processes the master restarted.\n"
	    "# TYPE pf_worker_restarts_total counter\npf_worker_restarts_total %llu\n",
	    (unsigned long long)LOAD(shared->db_reconnects),
	    (unsigned long long)LOAD(shared->db_statement_timeouts),
	    (unsigned long long)LOAD(shared->db_answer_timeouts),
	    (unsigned long long)LOAD(shared->idempotent_replays),
	    (unsigned long long)LOAD(shared->worker_restarts));
	if (__atomic_load_n(&shared->gauges_valid, __ATOMIC_ACQUIRE))
		text_printf(&t, "# HELP pf_outbox_backlog Notifications not yet delivered.\n"
		    "# TYPE pf_outbox_backlog gauge\npf_outbox_backlog %lld\n"
		    "# HELP pf_outbox_oldest_undelivered_seconds Age of the oldest notification not yet delivered.\n"
		    "# TYPE pf_outbox_oldest_undelivered_seconds gauge\npf_outbox_oldest_undelivered_seconds %lld\n"
		    "# HELP pf_refund_requests_pending Refund requests awaiting support's decision.\n"
		    "# TYPE pf_refund_requests_pending gauge\npf_refund_requests_pending %lld\n"
		    "# HELP pf_refund_requests_overdue Pending refund requests past their 5-business-day promise.\n"
		    "# TYPE pf_refund_requests_overdue gauge\npf_refund_requests_overdue %lld\n"
		    "# HELP pf_subscriptions_due Subscriptions whose period has ended, for the billing cycle.\n"
		    "# TYPE pf_subscriptions_due gauge\npf_subscriptions_due %lld\n",
		    (long long)LOAD(shared->outbox_backlog), (long long)LOAD(shared->outbox_oldest_seconds),
		    (long long)LOAD(shared->refunds_pending), (long long)LOAD(shared->refunds_overdue),
		    (long long)LOAD(shared->subscriptions_due));
	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}
