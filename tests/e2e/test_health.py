"""GET /healthz and the routing basics every endpoint relies on."""
from harness import *


def test_healthz_ok_without_auth():
    r = expect(get("/healthz"), 200)
    assert r.json == {"status": "ok"}
    assert r.headers["content-type"] == "application/json"


def test_unknown_path_is_404_before_auth():
    expect(get("/api/v1/nope"), 404, "not_found")
    expect(get("/nothing-here"), 404, "not_found")


def test_wrong_method_is_405_with_allow_before_auth():
    r = expect(request("PUT", "/api/v1/account"), 405, "method_not_allowed")
    assert r.headers["allow"] == "GET"
    r = expect(get("/api/v1/subscription/cancel"), 405, "method_not_allowed")
    assert r.headers["allow"] == "POST"


def test_internal_paths_refused_on_public_listener():
    r = post("/api/v1/internal/subscriptions", service_token(), {}, base=PUBLIC)
    expect(r, 404, "not_found")
