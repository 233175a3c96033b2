/* handlers_metrics.c: GET /metrics (Prometheus text) and GET /readyz, both
 * without a token and served by nginx on the internal listener only. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "handler.h"
#include "metrics.h"
#include "monotonic.h"
#include "sql_metrics.h"

/* Reads the business gauges when they are stale and this scrape is the one
 * to refresh them; a failed read keeps the last values. */
static void
refresh_gauges(struct db *db)
{
	long long now = monotonic_ms();
	struct metrics_gauges g;
	PGresult *res = NULL;
	bool ok;

	if (!metrics_gauges_claim(now))
		return;
	memset(&g, 0, sizeof(g));
	ok = db_exec(db, &sql_metrics_catalog, SQL_METRICS_GAUGES, NULL, &res) == PF_OK &&
	    PQntuples(res) == 1;
	if (ok) {
		g.outbox_backlog = db_int(res, 0, "outbox_backlog");
		g.outbox_oldest_seconds = db_int(res, 0, "outbox_oldest_seconds");
		g.refunds_pending = db_int(res, 0, "refunds_pending");
		g.refunds_overdue = db_int(res, 0, "refunds_overdue");
		g.subscriptions_due = db_int(res, 0, "subscriptions_due");
	}
	PQclear(res);
	metrics_gauges_store(&g, ok, now);
}

enum pf_error
handle_metrics(struct handler_ctx *ctx)
{
	const char *methods[METRICS_ROUTES_MAX], *patterns[METRICS_ROUTES_MAX];
	size_t i;
	char *text;

	if (!metrics_enabled())
		return http_fail(ctx->res, PF_ERR_NOT_FOUND, "No such resource.");
	refresh_gauges(ctx->db);
	for (i = 0; i < API_ROUTE_COUNT && i < METRICS_ROUTES_MAX; i++) {
		methods[i] = api_routes[i].method;
		patterns[i] = api_routes[i].pattern;
	}
	text = metrics_render(methods, patterns, API_ROUTE_COUNT);
	if (text == NULL)
		return http_fail(ctx->res, PF_ERR_INTERNAL, "The metrics could not be rendered.");
	ctx->res->status = 200;
	ctx->res->raw_body = text;
	ctx->res->raw_content_type = "text/plain; version=0.0.4; charset=utf-8";
	return PF_OK;
}

enum pf_error
handle_readyz(struct handler_ctx *ctx)
{
	PGresult *res = NULL;
	const char *version;
	enum pf_error err;

	err = db_exec(ctx->db, &sql_metrics_catalog, SQL_SCHEMA_VERSION, NULL, &res);
	if (err != PF_OK)
		return err;
	version = db_text(res, 0, "version");
	if (version == NULL || strcmp(version, SCHEMA_VERSION_EXPECTED) != 0) {
		/* answered here, not as a failure to retry: the 503 says why */
		http_fail(ctx->res, PF_ERR_UNAVAILABLE, "The database schema is %s; this build needs %s.",
		    version ? version : "empty", SCHEMA_VERSION_EXPECTED);
		PQclear(res);
		return PF_OK;
	}
	PQclear(res);
	return http_ok(ctx->res, 200, json_pack("{s:s, s:s}", "status", "ready",
	    "schema", SCHEMA_VERSION_EXPECTED));
}
