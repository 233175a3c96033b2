"""Prometheus metrics (GET /metrics on the internal listener, 404 on the
public one) and the readiness check (GET /readyz), read with a real
exposition-format parser (Debian's python3-prometheus-client). The counters
are shared by the suite's two worker processes (fcgi/metrics.c), so the
deltas below hold only if every process adds to the same numbers. Also:
X-Request-Id from end to end."""
import os, re, time
from prometheus_client.parser import text_string_to_metric_families
from harness import *
from billing import refund, user

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def scrape():
    r = get("/metrics", base=INTERNAL)
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers
    samples = {}
    for family in text_string_to_metric_families(r.raw.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def requests_of(samples, route, status, method="GET"):
    return value(samples, "pf_http_requests_total", method=method, route=route, status=str(status))


def test_counters_move_as_the_requests_predict():
    uid, tok = user()
    before = scrape()
    for _ in range(3):
        expect(get("/api/v1/account", tok), 200)
    expect(get("/api/v1/account"), 401)
    for _ in range(2):
        expect(get("/api/v1/no-such-thing", tok), 404)
    key = new_id("k")
    expect(post("/api/v1/subscription/cancel", tok, headers={"Idempotency-Key": key}), 409)
    expect(post("/api/v1/subscription/cancel", tok, headers={"Idempotency-Key": key}), 409)
    after = scrape()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert requests_of(after, "/api/v1/account", 200) - requests_of(before, "/api/v1/account", 200) == 3
    assert requests_of(after, "/api/v1/account", 401) - requests_of(before, "/api/v1/account", 401) == 1
    assert delta("pf_http_requests_total", method="", route="unmatched", status="404") == 2
    assert (requests_of(after, "/api/v1/subscription/cancel", 409, "POST") -
            requests_of(before, "/api/v1/subscription/cancel", 409, "POST")) == 2
    # the first scrape counts once its answer is written
    assert requests_of(after, "/metrics", 200) - requests_of(before, "/metrics", 200) == 1
    assert delta("pf_http_request_duration_seconds_count", method="GET", route="/api/v1/account") == 4
    assert delta("pf_http_request_duration_seconds_bucket", method="GET", route="/api/v1/account",
                 le="+Inf") == 4
    assert delta("pf_idempotent_replays_total") == 1
    # only the scrape itself is in flight
    assert value(after, "pf_http_requests_in_flight") == 1
    for name in ("pf_db_reconnects_total", "pf_db_statement_timeouts_total", "pf_worker_restarts_total"):
        assert (name, ()) in after, name


def test_business_gauges_follow_the_database():
    uid, tok = user(plan="pro")
    charge = [c for c in get("/api/v1/charges", tok).json["charges"]][0]
    time.sleep(1.1)                     # the suite reads the gauges at most once a second
    before = scrape()
    pending = int(sql_value("SELECT count(*) FROM refund_requests WHERE status = 'pending'"))
    assert value(before, "pf_refund_requests_pending") == pending
    expect(refund(tok, charge["id"]), 201)
    time.sleep(1.1)
    after = scrape()
    assert value(after, "pf_refund_requests_pending") == pending + 1
    backlog = int(sql_value("SELECT count(*) FROM outbox WHERE delivered_at IS NULL"))
    assert value(after, "pf_outbox_backlog") == backlog
    for name in ("pf_refund_requests_overdue", "pf_subscriptions_due", "pf_outbox_oldest_undelivered_seconds"):
        assert (name, ()) in after, name


def test_metrics_and_readiness_are_not_public():
    for path in ("/metrics", "/readyz"):
        r = get(path)
        assert r.status == 404 and r.code == "not_found", r


def test_readiness_names_the_newest_migration():
    newest = sorted(f[:-4] for f in os.listdir(os.path.join(SRC, "sql", "migrations")) if f.endswith(".sql"))[-1]
    r = get("/readyz", base=INTERNAL)
    assert r.status == 200 and r.json == {"status": "ready", "schema": newest}, r
    assert sql_value("SELECT max(version) FROM schema_migrations") == newest


def test_request_id_round_trip():
    uid, tok = user()
    r = get("/api/v1/account", tok, headers={"X-Request-Id": "trace-42.a_b"})
    assert r.status == 200 and r.headers["x-request-id"] == "trace-42.a_b", r.headers
    # a malformed one is replaced by nginx's own
    for bad in ("x" * 65, "has space", "semi;colon"):
        r = get("/api/v1/account", tok, headers={"X-Request-Id": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"]), r.headers
    # problems from the app and from nginx carry it in the body too
    r = get("/api/v1/account", headers={"X-Request-Id": "trace-43"})
    assert r.status == 401 and r.json["request_id"] == "trace-43" and r.headers["x-request-id"] == "trace-43"
    r = get("/nowhere", headers={"X-Request-Id": "trace-44"})
    assert r.status == 404 and r.json["request_id"] == "trace-44" and r.headers["x-request-id"] == "trace-44"
    r = post("/api/v1/refund-requests", tok, raw=b"x" * (70 * 1024), headers={"X-Request-Id": "trace-45"})
    assert r.status == 413 and r.json["request_id"] == "trace-45", r
    # and the app's log line of that request names it
    stack_dir = os.environ.get("PF_STACK_DIR", "/tmp/personaforge-stack")
    def lines():
        return [e for e in log_events(os.path.join(stack_dir, "app.log"), "request")
                if e.get("request_id") == "trace-43"]
    # a worker thread writes its lines out before it waits for more work
    assert wait_until(lambda: len(lines()) == 1, 3), lines()
    lines = lines()
    assert lines[0]["status"] == 401 and lines[0]["code"] == "unauthenticated", lines
    assert lines[0]["route"] == "/api/v1/account" and "duration_us" in lines[0]
