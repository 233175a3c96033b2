"""harness.py: what every end-to-end test uses: real HTTP to the stack's
nginx (public and internal listeners), tokens signed like the auth server's,
and read-only SQL for checking what the database holds afterwards."""
import base64, hashlib, hmac, http.client, json, os, subprocess, threading, time, uuid

PUBLIC = os.environ.get("PF_PUBLIC_URL", "http://127.0.0.1:8080")
INTERNAL = os.environ.get("PF_INTERNAL_URL", "http://127.0.0.1:8081")
ISSUER = os.environ.get("PF_JWT_ISSUER", "https://auth.personaforge.xyz")
AUDIENCE = os.environ.get("PF_JWT_AUDIENCE", "personaforge-account")
DATABASE = os.environ.get("PF_DATABASE", "host=127.0.0.1 port=54329 user=postgres dbname=personaforge")
_secret_file = os.environ.get("PF_JWT_SECRET_FILE", "/tmp/personaforge-stack/jwt-secret")
SECRET = open(_secret_file, "rb").read().strip()


# What the suite sent that no log may hold (tests/e2e/test_log_hygiene.py):
# every bearer token, and the customers' free text (refund descriptions,
# cancellation comments, support notes).
SENT_TOKENS = set()
SENT_FREE_TEXT = set()
FREE_TEXT_FIELDS = ("description", "comment", "note")


def remember_sent(headers, body):
    auth = headers.get("Authorization", "")
    if auth.startswith("Bearer ") and len(auth) > 7:
        SENT_TOKENS.add(auth[7:])
    if isinstance(body, dict):
        for key in FREE_TEXT_FIELDS:
            value = body.get(key)
            if isinstance(value, str) and len(value.strip()) >= 8:
                SENT_FREE_TEXT.add(value)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(claims, header=None, secret=None, alg="HS256"):
    header = header if header is not None else {"alg": alg, "typ": "JWT"}
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    digest = hashlib.sha512 if alg == "HS512" else hashlib.sha256
    sig = hmac.new(secret or SECRET, f"{head}.{body}".encode(), digest).digest()
    return f"{head}.{body}.{b64url(sig)}"


def claims_for(sub, role=None, email=None, **extra):
    now = int(time.time())
    c = {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
    if role is not None:
        c["role"] = role
    if email is not None:
        c["email"] = email
    c.update(extra)
    return c


def token(sub, role=None, email=None, **extra):
    return sign(claims_for(sub, role, email, **extra))


def new_id(prefix="u"):
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def code(self):
        return (self.json or {}).get("code")

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


# Every response request() receives is appended to this file (one JSON line:
# method, path, status, content_type, headers (those the document promises:
# Allow, Retry-After, WWW-Authenticate), body); test_openapi_responses.py,
# the suite's last test, validates each against openapi/personaforge.json.
RESPONSE_LOG = os.path.join(os.environ["PF_STACK_DIR"], "e2e-responses.jsonl") \
    if os.environ.get("PF_STACK_DIR") else None
_response_log_lock = threading.Lock()


def record_response(method, path, status, headers, body):
    if RESPONSE_LOG is None:
        return
    line = json.dumps({"method": method, "path": path, "status": status,
                       "content_type": headers.get("content-type"),
                       "headers": {h: headers[h] for h in ("allow", "retry-after", "www-authenticate", "x-request-id")
                                   if h in headers},
                       "body": body.decode("utf-8", "backslashreplace")}) + "\n"
    with _response_log_lock, open(RESPONSE_LOG, "a", encoding="utf-8") as f:
        f.write(line)


def request(method, path, tok=None, body=None, raw=None, headers=None, base=None,
            content_type="application/json"):
    base = base or (INTERNAL if path.startswith("/api/v1/internal/") else PUBLIC)
    host = base.split("//", 1)[1]
    conn = http.client.HTTPConnection(host, timeout=30)
    h = dict(headers or {})
    if tok is not None:
        h["Authorization"] = f"Bearer {tok}"
    data = raw
    remember_sent(h, body)
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None and content_type is not None and "Content-Type" not in h:
        h["Content-Type"] = content_type
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    payload = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    record_response(method, path, r.status, hdrs, payload)
    return Response(r.status, hdrs, payload)


def get(path, tok=None, **kw):
    return request("GET", path, tok, **kw)


def post(path, tok=None, body=None, **kw):
    return request("POST", path, tok, body=body, **kw)


def delete(path, tok=None, **kw):
    return request("DELETE", path, tok, **kw)


SERVICE = None


def service_token():
    return token("payment-relay", role="service")


def support_token(sub="agent_1"):
    return token(sub, role="support")


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def parse_iso(text):
    import calendar
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def subscribe(user_id=None, plan="pro", started_at=None, email=None):
    """Starts a paid subscription through the internal endpoint."""
    user_id = user_id or new_id()
    body = {"user_id": user_id, "email": email or f"{user_id}@example.com", "plan": plan,
            "provider_ref": new_id("ref")}
    if started_at is not None:
        body["started_at"] = started_at if isinstance(started_at, str) else iso(started_at)
    r = post("/api/v1/internal/subscriptions", service_token(), body)
    assert r.status == 201, r
    return user_id, r


def log_events(path, event=None):
    """The JSON lines of an app log (lib/log.c), parsed; those of one event
    if given. A line that is not JSON fails the test: the log is JSON only."""
    found = []
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                # other programs (valgrind, sanitizers) write here too
                if line.startswith(("==", "=")) or "Sanitizer" in line or "runtime error" in line:
                    continue
                raise AssertionError(f"not a JSON log line in {path}: {line[:200]!r}")
            if event is None or entry.get("event") == event:
                found.append(entry)
    return found


def wait_until(pred, timeout, step=0.05):
    """Polls pred until it is true (True) or timeout seconds pass (pred's
    last answer)."""
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


class LoadThreads:
    """A load of threads run as a context: started on entry, told to stop
    (self.stop) and joined on exit, each for at most JOIN_SECONDS (None: for
    as long as it takes). Subclasses fill self.threads."""

    JOIN_SECONDS = None

    def __init__(self):
        self.stop = threading.Event()
        self.threads = []

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(self.JOIN_SECONDS)


def child_pids(ppid):
    """PIDs of the processes whose parent is ppid (what `pgrep -P` prints),
    read from /proc, so that the tests need no procps."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:  # gone meanwhile
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses,
        # so the fields after it start after the last ')'
        if int(stat[stat.rindex(")") + 2:].split()[1]) == ppid:
            pids.append(int(name))
    return sorted(pids)


def sql(query, *params):
    """Runs a read query with psql; parameters are passed as psql variables
    and quoted by psql itself (:'p1', :'p2' ...)."""
    args = ["psql", "-X", "-q", "-A", "-t", "-F", "\t", DATABASE, "-v", "ON_ERROR_STOP=1"]
    for i, p in enumerate(params, 1):
        args += ["-v", f"p{i}={p}"]
    out = subprocess.run(args, input=query, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line != ""]


def sql_value(query, *params):
    rows = sql(query, *params)
    return rows[0][0] if rows else None


def expect(r, status, code=None):
    assert r.status == status, f"expected {status} {code or ''}, got {r!r}"
    if code is not None:
        assert r.code == code, f"expected code {code}, got {r!r}"
        assert r.headers.get("content-type", "").startswith("application/problem+json"), r.headers
        assert r.json.get("status") == status and r.json.get("detail"), r
    return r


def check_consistency():
    """The invariants a fault must never break; returns a list of violations."""
    problems = []
    rows = sql("""
        SELECT u.id, u.included_remaining, u.purchased_remaining,
               coalesce(sum(l.delta) FILTER (WHERE l.balance = 'included'), 0),
               coalesce(sum(l.delta) FILTER (WHERE l.balance = 'purchased'), 0)
        FROM users u LEFT JOIN credit_ledger l ON l.user_id = u.id
        GROUP BY u.id
        HAVING u.included_remaining <> coalesce(sum(l.delta) FILTER (WHERE l.balance = 'included'), 0)
            OR u.purchased_remaining <> coalesce(sum(l.delta) FILTER (WHERE l.balance = 'purchased'), 0)""")
    problems += [f"balance differs from its ledger: {r}" for r in rows]
    rows = sql("""SELECT subscription_id, period_start, count(*) FROM charges
                  WHERE origin IN ('checkout', 'renewal') GROUP BY 1, 2 HAVING count(*) > 1""")
    problems += [f"more than one renewal for a period: {r}" for r in rows]
    rows = sql("""SELECT s.id FROM subscriptions s WHERE NOT EXISTS (
                    SELECT 1 FROM audit_log a WHERE a.user_id = s.user_id AND a.action = 'subscription.started')""")
    problems += [f"subscription without its audit row: {r}" for r in rows]
    renewals = int(sql_value("SELECT count(*) FROM charges WHERE origin = 'renewal'"))
    audited = int(sql_value("""SELECT count(*) FROM audit_log
                               WHERE action IN ('subscription.renewed', 'subscription.plan_changed')"""))
    if renewals != audited:
        problems.append(f"{renewals} renewal charges but {audited} renewal audit rows")
    rows = sql("""SELECT user_id FROM subscriptions WHERE status = 'active'
                  GROUP BY user_id HAVING count(*) > 1""")
    problems += [f"two live subscriptions: {r}" for r in rows]
    return problems
