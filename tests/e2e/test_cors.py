"""CORS (PF_CORS_ORIGINS). Unset, as the suite's stack runs: no CORS
header on any answer and OPTIONS is what it always was (405 with Allow on a
known path, 404 elsewhere). Set, on a second pf-account with the stack's
configuration plus PF_CORS_ORIGINS, asked over FastCGI as nginx asks it
(nginx forwards Origin and Access-Control-Request-* as HTTP_* parameters):
an allowed origin gets a 204 preflight with the path's methods and the
headers they take, and Access-Control-Allow-Origin on every answer; any
other origin gets none of it, and OPTIONS stays 405 for it."""
from harness import *
from app_instance import AppInstance

ALLOWED = "http://pages.example:8443"
OTHER = "https://app.personaforge.xyz.evil.example"


def cors_headers(headers):
    return {k: v for k, v in headers.items() if k.startswith("access-control-")}


def test_cors_unset_no_headers_and_options_as_before():
    uid = new_id()
    r = request("OPTIONS", "/api/v1/account", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET",
                                                         "Access-Control-Request-Headers": "authorization"})
    expect(r, 405, "method_not_allowed")
    assert r.headers.get("allow") == "GET", r.headers
    assert cors_headers(r.headers) == {} and "vary" not in r.headers, r.headers
    r = expect(get("/api/v1/account", token(uid), headers={"Origin": ALLOWED}), 200)
    assert cors_headers(r.headers) == {} and "vary" not in r.headers, r.headers
    r = request("OPTIONS", "/api/v1/nope", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"})
    expect(r, 404, "not_found")
    # the pages themselves are same-origin: nothing cross-origin there either
    r = get("/account/", headers={"Origin": ALLOWED})
    assert r.status == 200 and cors_headers(r.headers) == {}, r.headers


def cors_app(origins):
    """pf-account with the stack's configuration and PF_CORS_ORIGINS."""
    return AppInstance({"PF_THREADS": "2"}, env={"PF_CORS_ORIGINS": origins}, suite_env=True,
                       prefix="pf-cors-").start(wait=False)


def preflight(app, uri, origin, method):
    return app.ask("OPTIONS", uri, {"HTTP_ORIGIN": origin, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": method,
                                    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization,content-type"})


def test_cors_set_allowed_origin_only():
    app = cors_app(f"https://app.personaforge.xyz, {ALLOWED}")
    try:
        app.wait_ready()
        uid = new_id()
        auth = {"HTTP_AUTHORIZATION": "Bearer " + token(uid)}
        # preflight of a POST path: 204, its methods, the headers a POST takes
        status, h, body = preflight(app, "/api/v1/subscription/cancel", ALLOWED, "POST")
        assert status == 204 and body == b"", (status, h, body)
        assert h["access-control-allow-origin"] == ALLOWED, h
        assert h["access-control-allow-methods"] == "POST", h
        assert h["access-control-allow-headers"] == "Authorization, Content-Type, Idempotency-Key", h
        assert h["access-control-max-age"] == "600" and h["vary"] == "Origin", h
        assert "access-control-allow-credentials" not in h and "content-type" not in h, h
        # a path with GET and POST, and one with GET only
        status, h, _ = preflight(app, "/api/v1/refund-requests", ALLOWED, "POST")
        assert status == 204 and h["access-control-allow-methods"] == "GET, POST", h
        status, h, _ = preflight(app, "/api/v1/account", ALLOWED, "GET")
        assert status == 204 and h["access-control-allow-methods"] == "GET", h
        assert h["access-control-allow-headers"] == "Authorization", h
        status, h, _ = preflight(app, "/api/v1/subscription/scheduled-change", ALLOWED, "DELETE")
        assert status == 204 and h["access-control-allow-methods"] == "DELETE", h
        # the answers themselves, success and problem alike, name the origin
        status, h, body = app.ask("GET", "/api/v1/account", {"HTTP_ORIGIN": ALLOWED, **auth})
        assert status == 200 and h["access-control-allow-origin"] == ALLOWED and h["vary"] == "Origin", h
        assert "WWW-Authenticate" in h["access-control-expose-headers"], h
        status, h, body = app.ask("GET", "/api/v1/account", {"HTTP_ORIGIN": ALLOWED})
        assert status == 401 and h["access-control-allow-origin"] == ALLOWED, (status, h)
        # an unknown path stays 404, an OPTIONS without a requested method 405
        status, h, _ = preflight(app, "/api/v1/nope", ALLOWED, "GET")
        assert status == 404, (status, h)
        status, h, _ = app.ask("OPTIONS", "/api/v1/account", {"HTTP_ORIGIN": ALLOWED})
        assert status == 405 and h["allow"] == "GET", h
        # any other origin: no CORS header (the browser blocks it), OPTIONS as before
        for origin in (OTHER, "http://pages.example:8444", "HTTP://PAGES.EXAMPLE:8443", "null"):
            status, h, _ = preflight(app, "/api/v1/subscription/cancel", origin, "POST")
            assert status == 405 and h["allow"] == "POST", (origin, status, h)
            assert cors_headers(h) == {} and h["vary"] == "Origin", (origin, h)
            status, h, _ = app.ask("GET", "/api/v1/account", {"HTTP_ORIGIN": origin, **auth})
            assert status == 200 and cors_headers(h) == {} and h["vary"] == "Origin", (origin, h)
        # no Origin at all (a same-origin GET, curl): the answer still varies by it
        status, h, _ = app.ask("GET", "/api/v1/account", auth)
        assert status == 200 and cors_headers(h) == {} and h["vary"] == "Origin", h
    finally:
        app.close()


def test_cors_bad_origins_refused_at_start():
    for bad in ("*", "https://app.personaforge.xyz/", "https://*.personaforge.xyz", "app.personaforge.xyz"):
        app = cors_app(bad)
        try:
            assert app.proc.wait(10) != 0, bad
            out = app.output()
            assert "PF_CORS_ORIGINS" in out, out
        finally:
            app.close()
