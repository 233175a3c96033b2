"""Faults, run last: PostgreSQL stopped under load, the app killed with
SIGKILL (master and a single worker), SIGTERM draining, slow clients, and a
hostile FastCGI record written straight to the app's socket. Each scenario
restores the stack and checks the database's invariants afterwards."""

ORDER = 1  # disturbs the stack: after the tests that need it quiet (run.py)
import os, signal, socket, struct, subprocess, threading, time
from harness import *

STACK = [os.path.join(os.environ.get("PF_SRC_DIR", os.path.join(os.path.dirname(__file__), "..", "..")), "scripts", "stack")]
STACK_DIR = os.environ.get("PF_STACK_DIR", "/tmp/personaforge-stack")


def stack(cmd):
    subprocess.run(STACK + [cmd], check=True, capture_output=True, timeout=120)


def app_pid():
    return int(open(os.path.join(STACK_DIR, "app.pid")).read())


def worker_pids():
    return child_pids(app_pid())


def healthy():
    try:
        return get("/healthz").status == 200
    except OSError:
        return False


class Load(LoadThreads):
    """Background clients toggling cancel/resume, each request with a fresh
    Idempotency-Key, each client pausing `pause` seconds between requests
    (0: none); remembers every answer as (status, seconds, Retry-After,
    user, path, key), status "conn" when the connection failed. Shared
    with test_db_faults.py."""

    def __init__(self, users, threads=4, pause=0):
        self.users = users
        self.pause = pause
        super().__init__()
        self.answers = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def run(self, i):
        n = 0
        while not self.stop.is_set():
            uid = self.users[(i + n) % len(self.users)]
            path = "/api/v1/subscription/cancel" if n % 2 == 0 else "/api/v1/subscription/resume"
            key = new_id("k")
            started = time.time()
            try:
                r = post(path, token(uid), headers={"Idempotency-Key": key})
                status = r.status
                retry_after = r.headers.get("retry-after")
            except OSError:
                status, retry_after = "conn", None
            with self.lock:
                self.answers.append((status, time.time() - started, retry_after, uid, path, key))
            n += 1
            if self.pause:
                self.stop.wait(self.pause)

    def retry_failed(self):
        """A client retrying each failed call (502, 503, no connection) with
        the same key gets one answer per key: 200, or 409 when the toggle
        it asked for no longer applies."""
        for status, _, _, uid, path, key in self.answers:
            if status in (502, 503, "conn"):
                r = post(path, token(uid), headers={"Idempotency-Key": key})
                assert r.status in (200, 409), r

    def check_toggles(self):
        """Each effect applied at most once: every user's audit trail
        explains its final state (an odd number of toggles leaves it
        cancelled)."""
        for uid in self.users:
            sub = get("/api/v1/account", token(uid)).json["subscription"]
            changes = int(sql_value("""SELECT count(*) FROM audit_log WHERE user_id = :'p1'
                                       AND action IN ('subscription.cancel_scheduled', 'subscription.resumed')""", uid))
            assert sub["cancel_at_period_end"] == (changes % 2 == 1), (uid, changes, sub)



def test_postgres_stopped_under_load_answers_503_then_recovers():
    users = [subscribe(plan="pro")[0] for _ in range(4)]
    with Load(users) as load:
        time.sleep(0.5)
        stack("stop-postgres")
        time.sleep(2)
        during = list(load.answers)
        stack("start-postgres")
        assert wait_until(healthy, 15), "service did not come back after PostgreSQL restarted"
        time.sleep(0.5)
    unavailable = [a for a in load.answers if a[0] == 503]
    assert unavailable, "no request saw the database down"
    assert all(a[2] is not None for a in unavailable), "503 without Retry-After"
    assert max(a[1] for a in unavailable) < 5, "a 503 took too long"
    assert all(a[0] in (200, 409, 503) for a in load.answers), set(a[0] for a in load.answers)
    # after recovery every user answers again
    for uid in users:
        expect(get("/api/v1/account", token(uid)), 200)
    assert check_consistency() == []


def test_first_requests_after_a_database_restart_succeed():
    uid, _ = subscribe(plan="pro")
    # every worker holds a connection that the restart kills while idle
    for _ in range(10):
        expect(get("/healthz"), 200)
    stack("stop-postgres")
    stack("start-postgres")
    answers = [get("/healthz") for _ in range(12)]
    assert all(r.status == 200 for r in answers), answers
    answers = [post("/api/v1/subscription/cancel" if i % 2 == 0 else "/api/v1/subscription/resume", token(uid))
               for i in range(8)]
    assert all(r.status == 200 for r in answers), answers


def test_app_killed_with_sigkill_then_restarted_loses_nothing():
    users = [subscribe(plan="pro")[0] for _ in range(3)]
    with Load(users) as load:
        time.sleep(0.5)
        pid = app_pid()
        for w in worker_pids():
            os.kill(w, signal.SIGKILL)
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        r = get("/api/v1/account", token(users[0]))
        assert r.status == 502 and r.code == "unavailable" and r.headers.get("retry-after"), r
        stack("start-app")
        assert wait_until(healthy, 10)
        time.sleep(0.3)
    # a client retrying its failed calls with the same key gets one answer per
    # key and each effect at most once
    load.retry_failed()
    load.check_toggles()
    assert check_consistency() == []


def test_worker_killed_is_restarted_and_others_keep_serving():
    before = worker_pids()
    assert len(before) >= 2
    os.kill(before[0], signal.SIGKILL)
    # a connection the dying process had already accepted may fail; wait
    # until it is gone, then nothing else may
    assert wait_until(lambda: before[0] not in worker_pids(), 5)
    uid = new_id()
    answers = [get("/api/v1/account", token(uid)) for _ in range(20)]
    assert all(r.status == 200 for r in answers), answers
    assert wait_until(lambda: len(worker_pids()) == len(before) and before[0] not in worker_pids(), 5)


def test_slow_clients_do_not_pin_workers():
    host, port = PUBLIC.split("//")[1].split(":")
    slow = []
    for _ in range(40):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"POST /api/v1/subscription/cancel HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n{\"reason\":")
        slow.append(s)
    try:
        uid = new_id()
        started = time.time()
        for _ in range(10):
            expect(get("/api/v1/account", token(uid)), 200)
        assert time.time() - started < 3
    finally:
        for s in slow:
            s.close()


def test_sigterm_drains_in_flight_requests():
    uid, _ = subscribe(plan="pro")
    # a request that has to wait: another session holds the user's row lock
    holder = subprocess.Popen(["psql", "-X", "-q", DATABASE],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    holder.stdin.write(f"BEGIN; SELECT 1 FROM users WHERE id = '{uid}' FOR UPDATE; SELECT pg_sleep(1.5); COMMIT;\n")
    holder.stdin.flush()
    time.sleep(0.3)
    result = {}

    def call():
        result["r"] = post("/api/v1/subscription/cancel", token(uid))

    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.3)
    pid = app_pid()
    os.kill(pid, signal.SIGTERM)
    t.join(10)
    holder.stdin.close()
    holder.wait()
    try:
        assert result["r"].status == 200, result["r"]
        assert wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10), "app did not exit after SIGTERM"
        # the drain unlinked the socket file (the stack's wait for a new app
        # would otherwise see the old one)
        assert not os.path.exists(os.path.join(STACK_DIR, "run", "app.sock"))
        assert log_events(os.path.join(STACK_DIR, "app.log"), "stopped")
    finally:
        stack("start-app")
        assert wait_until(healthy, 10)
    assert get("/api/v1/account", token(uid)).json["subscription"]["cancel_at_period_end"] is True


def test_sigterm_with_stalled_peers_is_bounded_by_the_drain():
    # peers stopped part-way through their requests (fcgi/connection_set.c
    # never hands those to a thread), then SIGTERM: the drain ends once the
    # sweep has closed them (3 s), well before PF_DRAIN_SECONDS (10 s), when
    # the master would kill what is left
    from test_fastcgi_peers import stalled_peers
    peers = stalled_peers(24)
    pid = app_pid()
    started = time.time()
    try:
        os.kill(pid, signal.SIGTERM)
        assert wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10), "app did not exit after SIGTERM"
        assert time.time() - started < 8, time.time() - started
    finally:
        for s in peers:
            s.close()
        stack("start-app")
        assert wait_until(healthy, 10)
    assert all(get("/api/v1/account", token(new_id())).status == 200 for _ in range(3))
