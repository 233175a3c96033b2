/* metrics.h: the service's Prometheus metrics. The counters live in one
 * anonymous shared mapping that the master makes before it forks, so every
 * worker process adds to the same numbers (lock-free atomic adds: a scrape
 * never waits for a request, nor a request for a scrape). GET /metrics on
 * the internal listener renders them (handlers_metrics.c). */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define METRICS_ROUTES_MAX 32           /* the route table's rows, checked at start */
#define METRICS_STATUS_COUNT 16
#define METRICS_BUCKET_COUNT 12

/* Makes the shared counters (before any fork). enabled false: nothing is
 * recorded and /metrics answers 404. Returns 0 or -1. */
int metrics_init(bool enabled, int refresh_seconds, size_t route_count);
bool metrics_enabled(void);

/* route_index: the row in api_routes, or -1 for a request no route matched. */
void metrics_request_started(void);
void metrics_request_finished(int route_index, int status, long long duration_us);
/* Takes what the connection counted (and zeroes it). */
void metrics_add_db(struct db_counters *counters);
void metrics_idempotent_replay(void);
void metrics_worker_restart(void);

/* The business gauges, read from the database at most once every
 * refresh_seconds by whichever scrape finds them stale (others use the
 * last values). */
struct metrics_gauges {
	long long outbox_backlog;
	long long outbox_oldest_seconds;
	long long refunds_pending;
	long long refunds_overdue;
	long long subscriptions_due;
};
/* Whether this caller should refresh the gauges now (it then must call
 * metrics_gauges_store, with ok false when the read failed). */
bool metrics_gauges_claim(long long now_ms);
void metrics_gauges_store(const struct metrics_gauges *gauges, bool ok, long long now_ms);

/* The Prometheus text (version 0.0.4), new (free()); NULL without memory.
 * route_patterns/methods: the route table's, route_count rows. */
char *metrics_render(const char *const *route_methods, const char *const *route_patterns,
    size_t route_count);

#endif
