"""CORS (PF_CORS_ORIGINS). Unset, as the suite's stack runs: no CORS
header on any answer and OPTIONS is what it always was (405 with Allow on a
known path, 404 elsewhere). Set, on a second pf-account with the stack's
configuration plus PF_CORS_ORIGINS, asked over FastCGI as nginx asks it
(nginx forwards Origin and Access-Control-Request-* as HTTP_* parameters):
an allowed origin gets a 204 preflight with the path's methods and the
headers they take, and Access-Control-Allow-Origin on every answer; any
other origin gets none of it, and OPTIONS stays 405 for it."""
import os, shutil, socket, subprocess, tempfile, time
from harness import *
from test_fastcgi_hop import fastcgi_request, read_answer

STACK_DIR = os.environ.get("PF_STACK_DIR", "/tmp/personaforge-stack")
APP = os.path.join(os.environ.get("PF_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                   "pf-account")
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


class CorsApp:
    """pf-account with the stack's configuration and PF_CORS_ORIGINS."""

    def __init__(self, origins):
        self.dir = tempfile.mkdtemp(prefix="pf-cors-")
        self.socket = os.path.join(self.dir, "app.sock")
        lines = [line.rstrip("\n") for line in open(os.path.join(STACK_DIR, "pf-account.conf"))
                 if line.split("=", 1)[0] not in ("PF_SOCKET", "PF_PROCESSES", "PF_THREADS")]
        lines += [f"PF_SOCKET={self.socket}", "PF_PROCESSES=1", "PF_THREADS=2"]
        config = os.path.join(self.dir, "pf-account.conf")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(config, 0o600)
        self.proc = subprocess.Popen([APP], env={**os.environ, "PF_CONFIG": config, "PF_CORS_ORIGINS": origins},
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def wait_listening(self):
        deadline = time.time() + 10
        while not os.path.exists(self.socket):
            assert self.proc.poll() is None, self.output()
            assert time.time() < deadline, "the app did not start"
            time.sleep(0.05)

    def ask(self, method, uri, headers=None, body=b""):
        """(status, {header: value}, body) of one request."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.socket)
        try:
            s.sendall(fastcgi_request(method, uri, body=body, headers=headers or {}))
            stdout, _ = read_answer(s)
        finally:
            s.close()
        head, _, payload = stdout.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        hdrs = {}
        for line in lines:
            name, _, value = line.partition(": ")
            hdrs[name.lower()] = value
        return int(hdrs["status"][:3]), hdrs, payload

    def output(self):
        self.stop()
        return self.proc.stdout.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def preflight(app, uri, origin, method):
    return app.ask("OPTIONS", uri, {"HTTP_ORIGIN": origin, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": method,
                                    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization,content-type"})


def test_cors_set_allowed_origin_only():
    app = CorsApp(f"https://app.personaforge.xyz, {ALLOWED}")
    try:
        app.wait_listening()
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
        app.stop()


def test_cors_bad_origins_refused_at_start():
    for bad in ("*", "https://app.personaforge.xyz/", "https://*.personaforge.xyz", "app.personaforge.xyz"):
        app = CorsApp(bad)
        try:
            assert app.proc.wait(10) != 0, bad
            out = app.proc.stdout.read().decode()
            assert "PF_CORS_ORIGINS" in out, out
        finally:
            app.stop()
