"""Database faults, forced for real from a second PostgreSQL session:
serialization failures and deadlocks inside a request and at COMMIT (the
dispatcher's retry), the app's backend killed mid-transaction
(pg_terminate_backend, alone and under load), and, through a TCP proxy
between a second pf-account and PostgreSQL, latency past the statement
timeout, a stalled link and connection resets before, at and after COMMIT.
Every scenario checks that each effect is applied once (audit, outbox and
feedback rows, the idempotency answer) and restores what it changed."""

ORDER = 1  # disturbs the stack: after the tests that need it quiet (run.py)
import json, os, random, select, socket, struct, subprocess, threading, time
from harness import *
from app_instance import AppInstance
from test_faults import Load, healthy, wait_until

CANCEL = "/api/v1/subscription/cancel"
ATTEMPTS = 4  # fcgi/dispatch.c DISPATCH_ATTEMPTS: the first try and three retries


class Session:
    """A second PostgreSQL session: psql on a pipe, one statement list at a
    time, so a test can hold locks while the app works."""

    def __init__(self):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=0", DATABASE],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.buf = b""
        self.n = 0
        self.marker = None
        self.pid = int(self.run("SELECT pg_backend_pid()")[0])

    def send(self, query):
        self.n += 1
        self.marker = f"__pf_done_{self.n}__"
        self.proc.stdin.write(f"{query.rstrip().rstrip(';')};\n\\echo {self.marker}\n".encode())
        self.proc.stdin.flush()

    def wait(self, timeout=15):
        """The output lines of what send() sent, once psql has answered."""
        deadline = time.time() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            lines = self.buf.decode(errors="replace").split("\n")
            if self.marker in lines[:-1]:
                at = lines.index(self.marker)
                self.buf = "\n".join(lines[at + 1:]).encode()
                return [l for l in lines[:at] if l]
            left = deadline - time.time()
            assert left > 0, f"the second session did not answer: {self.buf!r}"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                assert chunk, f"the second session ended: {self.buf!r}"
                self.buf += chunk

    def run(self, query, timeout=15):
        self.send(query)
        return self.wait(timeout)

    def close(self):
        try:
            self.proc.stdin.write(b"ROLLBACK;\n\\q\n")
            self.proc.stdin.close()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


class Call(threading.Thread):
    """A request in flight on its own thread."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn = fn
        self.answer = self.error = None
        self.started = self.ended = None
        self.start()

    def run(self):
        self.started = time.time()
        try:
            self.answer = self.fn()
        except Exception as e:  # re-raised by result()
            self.error = e
        self.ended = time.time()

    def result(self, timeout=25):
        self.join(timeout)
        assert not self.is_alive(), "the request did not answer"
        if self.error is not None:
            raise self.error
        return self.answer


def measured(what, seconds):
    print(f"  measured: {what}: {seconds:.2f} s", flush=True)


def blocked_by(pid):
    """Backends waiting for a lock that backend pid holds."""
    return [int(r[0]) for r in sql("SELECT pid FROM pg_stat_activity WHERE :'p1'::int = ANY(pg_blocking_pids(pid))", pid)]


def wait_blocked(pid, timeout=8):
    found = []
    assert wait_until(lambda: found.extend(blocked_by(pid)) or found, timeout), "the request never waited"
    return found


def terminate(pid):
    assert sql_value("SELECT pg_terminate_backend(:'p1'::int)", pid) == "t"


def effects(uid):
    """What a cancellation leaves: audit rows, outbox events, feedback rows, and whether it is scheduled."""
    return {
        "audit": int(sql_value("SELECT count(*) FROM audit_log WHERE user_id = :'p1' AND action = 'subscription.cancel_scheduled'", uid)),
        "outbox": int(sql_value("SELECT count(*) FROM outbox WHERE user_id = :'p1' AND event = 'subscription_cancel_scheduled'", uid)),
        "feedback": int(sql_value("SELECT count(*) FROM cancellation_feedback WHERE user_id = :'p1'", uid)),
        "cancelled": sql_value("SELECT cancel_at_period_end FROM subscriptions WHERE user_id = :'p1' AND status = 'active'", uid) == "t",
    }


ONCE = {"audit": 1, "outbox": 1, "feedback": 1, "cancelled": True}
ONCE_NO_FEEDBACK = {"audit": 1, "outbox": 1, "feedback": 0, "cancelled": True}
NOTHING = {"audit": 0, "outbox": 0, "feedback": 0, "cancelled": False}


def stored_answer(uid, key):
    return sql_value("SELECT response_body FROM idempotency_keys WHERE actor_id = :'p1' AND key = :'p2'", uid, key)


def cancel(uid, key, reason="other"):
    return post(CANCEL, token(uid), {"reason": reason} if reason else None, headers={"Idempotency-Key": key})


class Fault:
    """A test-only trigger on table, for one user's rows: its first `times`
    firings raise sqlstate (or sleep `sleep` seconds); a sequence counts the
    firings, since the failed transactions roll everything else back.
    deferred: a DEFERRABLE INITIALLY DEFERRED constraint trigger, which
    fires at COMMIT."""

    def __init__(self, table, uid, times, sqlstate="serialization_failure", deferred=False, sleep=None):
        self.name = new_id("pf_fault").lower()
        action = f"PERFORM pg_sleep({sleep})" if sleep else \
            f"RAISE EXCEPTION 'injected by {self.name}' USING ERRCODE = '{sqlstate}'"
        kind = "CONSTRAINT TRIGGER" if deferred else "TRIGGER"
        timing = "DEFERRABLE INITIALLY DEFERRED" if deferred else ""
        sql(f"""CREATE SEQUENCE {self.name}_n;
CREATE FUNCTION {self.name}() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    IF nextval('{self.name}_n') <= {int(times)} THEN
        {action};
    END IF;
    RETURN NULL;
END $f$;
CREATE {kind} {self.name} AFTER INSERT ON {table} {timing}
    FOR EACH ROW WHEN (NEW.user_id = '{uid}') EXECUTE FUNCTION {self.name}();""")
        self.table = table

    def fired(self):
        last, called = sql("SELECT last_value, is_called FROM " + self.name + "_n")[0]
        return int(last) if called == "t" else 0

    def drop(self):
        sql(f"DROP TRIGGER IF EXISTS {self.name} ON {self.table}; DROP FUNCTION IF EXISTS {self.name}();"
            f" DROP SEQUENCE IF EXISTS {self.name}_n;")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.drop()


# --- 1. serialization failures and deadlocks: the retry path ---------------

def test_serialization_failure_inside_a_request_is_retried_and_applied_once():
    # the feedback INSERT runs on its own in the middle of the handler
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    with Fault("cancellation_feedback", uid, times=2) as fault:
        r = expect(cancel(uid, key), 200)
        assert r.json["subscription"]["cancel_at_period_end"] is True, r
        assert fault.fired() == 3, "expected two failed attempts, then the one that committed"
        replay = expect(cancel(uid, key), 200)
        assert replay.raw == r.raw and fault.fired() == 3, "a replay ran the handler again"
    assert effects(uid) == ONCE, effects(uid)
    assert check_consistency() == []


def test_serialization_failures_past_the_retries_answer_503_then_the_key_applies_once():
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    with Fault("cancellation_feedback", uid, times=ATTEMPTS) as fault:
        started = time.time()
        r = expect(cancel(uid, key), 503, "unavailable")
        assert r.headers.get("retry-after"), r.headers
        assert time.time() - started < 3, "the retries took too long"
        measured(f"503 after {ATTEMPTS} serialization failures", time.time() - started)
        assert fault.fired() == ATTEMPTS, f"{fault.fired()} attempts, not {ATTEMPTS}"
        assert effects(uid) == NOTHING, effects(uid)
        assert stored_answer(uid, key) is None, "a 503 was stored as the key's answer"
        r = expect(cancel(uid, key), 200)    # the fault is spent: the same key now applies
        assert fault.fired() == ATTEMPTS + 1
    assert effects(uid) == ONCE, effects(uid)
    assert check_consistency() == []


def test_serialization_failure_at_commit_is_retried_and_applied_once():
    # a deferred constraint trigger on the audit row fires at COMMIT itself
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    with Fault("audit_log", uid, times=2, deferred=True) as fault:
        r = expect(cancel(uid, key), 200)
        assert fault.fired() == 3, f"{fault.fired()} firings at COMMIT, expected 3"
        assert expect(cancel(uid, key), 200).raw == r.raw
    assert effects(uid) == ONCE, effects(uid)
    assert stored_answer(uid, key) == r.raw.decode()
    # the same at COMMIT past the retries: 503, nothing kept, not even the answer
    uid, _ = subscribe(plan="pro")
    with Fault("audit_log", uid, times=ATTEMPTS, deferred=True) as fault:
        r = expect(cancel(uid, key), 503, "unavailable")
        assert r.headers.get("retry-after") and fault.fired() == ATTEMPTS
        assert effects(uid) == NOTHING and stored_answer(uid, key) is None
        expect(cancel(uid, key), 200)
    assert effects(uid) == ONCE, effects(uid)
    assert check_consistency() == []


def deadlocks():
    return int(sql_value("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"))


def provoke_deadlock(uid, key, reason):
    """The second session locks the subscription row; the request locks the
    user's row and then waits for the subscription row (the feedback
    INSERT's foreign-key check inside the handler when there is a reason,
    else the deferred UPDATE that rides with COMMIT); the session then asks
    for the user's row: a cycle, which PostgreSQL breaks by aborting the
    request's transaction (its deadlock_timeout, 1 s, ran out first; the
    session's is 10 s). The app retries; the retry waits for the session,
    which then rolls back. The retry may also lock the user's row before
    the session, woken by the abort, gets to it (a row lock has no queue
    once its holder is gone): that is a second deadlock, and a third
    attempt. Returns (answer, deadlocks detected)."""
    before = deadlocks()
    holder = Session()
    try:
        holder.run("SET deadlock_timeout = '10s'")
        holder.run(f"BEGIN; SELECT 1 FROM subscriptions WHERE user_id = '{uid}' FOR UPDATE")
        call = Call(lambda: cancel(uid, key, reason))
        wait_blocked(holder.pid)
        holder.send(f"SELECT 'granted' FROM users WHERE id = '{uid}' FOR UPDATE")
        out = holder.wait(10)
        # granted while the request is still in flight: its transaction,
        # which held the user's row, was aborted
        assert out == ["granted"], out
        assert call.is_alive(), call.answer
        # and it is running again, now waiting for the user's row
        again = wait_blocked(holder.pid)
        assert again and call.is_alive()
        holder.run("ROLLBACK")
        r = call.result()
    finally:
        holder.close()
    # counted when the app's backend flushes its statistics, once idle
    assert wait_until(lambda: deadlocks() > before, 12), "no deadlock detected"
    cycles = deadlocks() - before
    measured(f"{cycles} deadlock(s) {'inside the request' if reason else 'at the COMMIT round trip'},"
             " then 200; the request took", call.ended - call.started)
    return r, cycles


def test_deadlock_inside_a_request_is_retried_and_applied_once():
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    r, cycles = provoke_deadlock(uid, key, "other")
    expect(r, 200)
    assert cycles < ATTEMPTS, cycles
    assert effects(uid) == ONCE, effects(uid)
    assert expect(cancel(uid, key), 200).raw == r.raw
    assert effects(uid) == ONCE
    assert check_consistency() == []


def test_deadlock_at_commit_is_retried_and_applied_once():
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    r, cycles = provoke_deadlock(uid, key, None)
    expect(r, 200)
    assert cycles < ATTEMPTS, cycles
    assert effects(uid) == ONCE_NO_FEEDBACK, effects(uid)
    assert expect(cancel(uid, key, None), 200).raw == r.raw
    assert effects(uid) == ONCE_NO_FEEDBACK
    assert check_consistency() == []


# --- 2. the app's backend killed mid-transaction ---------------------------

def kill_waiting_request(uid, key, kills):
    """The second session holds the user's row; a cancel with key waits for
    it and its backend is killed `kills` times (a new backend each time).
    Returns (answer, seconds from the last kill to the answer)."""
    holder = Session()
    try:
        holder.run(f"BEGIN; SELECT 1 FROM users WHERE id = '{uid}' FOR UPDATE")
        call = Call(lambda: cancel(uid, key))
        killed = []
        for _ in range(kills):
            pids = wait_blocked(holder.pid)
            assert not set(pids) & set(killed), "a killed backend still waits"
            killed_at = time.time()
            for pid in pids:
                terminate(pid)
            killed += pids
        if kills < 2:
            # one kill: the app ran the transaction again on a new connection
            assert call.is_alive() and wait_blocked(holder.pid)
            holder.run("ROLLBACK")
        r = call.result()
        return r, call.ended - killed_at
    finally:
        holder.close()


def kill_until_answered(uid, key):
    """kill_waiting_request for a busy stack, where the random kills may
    hit the request's backends too: kills whatever of it waits on the lock
    until it answers. Returns (answer, seconds from this function's last
    kill to the answer, kills)."""
    holder = Session()
    try:
        holder.run(f"BEGIN; SELECT 1 FROM users WHERE id = '{uid}' FOR UPDATE")
        call = Call(lambda: cancel(uid, key))
        kills, killed_at = 0, None
        deadline = time.time() + 15
        while call.is_alive() and time.time() < deadline:
            for pid in blocked_by(holder.pid):
                if sql_value("SELECT pg_terminate_backend(:'p1'::int)", pid) == "t":
                    kills, killed_at = kills + 1, time.time()
            time.sleep(0.05)
        r = call.result()
        assert kills >= 1, "the request never waited"
        return r, call.ended - killed_at, kills
    finally:
        holder.close()


def test_backend_killed_while_waiting_is_run_again_on_a_new_connection():
    # killed before COMMIT, nothing was applied: the dispatcher reconnects
    # and runs the request once more by itself (once per request)
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    r, _ = kill_waiting_request(uid, key, 1)
    expect(r, 200)
    assert effects(uid) == ONCE, effects(uid)
    assert check_consistency() == []


def test_backend_killed_twice_answers_503_then_the_key_applies_once():
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    r, latency = kill_waiting_request(uid, key, 2)
    expect(r, 503, "unavailable")
    assert r.headers.get("retry-after"), r.headers
    assert latency < 2, f"the 503 came {latency:.2f} s after the kill"
    measured("503 after the second kill", latency)
    assert effects(uid) == NOTHING, effects(uid)
    assert stored_answer(uid, key) is None
    first = expect(cancel(uid, key), 200)
    assert effects(uid) == ONCE, effects(uid)
    assert expect(cancel(uid, key), 200).raw == first.raw
    assert effects(uid) == ONCE
    assert check_consistency() == []


def test_backend_killed_at_commit_answers_503_and_is_not_run_again():
    # a deferred constraint trigger sleeps at COMMIT; the backend is killed
    # there. The app cannot know whether the COMMIT landed, so it does not
    # run the request again by itself: 503, and the client's retry with the
    # key decides
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    with Fault("audit_log", uid, times=1, deferred=True, sleep=5) as fault:
        call = Call(lambda: cancel(uid, key))
        pids = []
        assert wait_until(lambda: pids.extend(int(p[0]) for p in sql(
            "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query = 'COMMIT'")) or pids, 8)
        killed_at = time.time()
        terminate(pids[0])
        r = call.result()
        expect(r, 503, "unavailable")
        assert r.headers.get("retry-after")
        assert call.ended - killed_at < 2, f"the 503 came {call.ended - killed_at:.2f} s after the kill"
        measured("503 after a kill at COMMIT", call.ended - killed_at)
        assert fault.fired() == 1, "the app ran the request again after its COMMIT was lost"
        assert effects(uid) == NOTHING, effects(uid)
        first = expect(cancel(uid, key), 200)
    assert effects(uid) == ONCE, effects(uid)
    assert expect(cancel(uid, key), 200).raw == first.raw
    assert check_consistency() == []


def app_backends():
    """The stack app's connections, those inside a transaction first: it
    sets no application_name; the tests' psql sessions say psql, the
    proxied app pf-proxied."""
    return [int(r[0]) for r in sql("""SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                                        AND backend_type = 'client backend' AND application_name = ''
                                        AND pid <> pg_backend_pid()
                                      ORDER BY state IN ('active', 'idle in transaction') DESC""")]


def test_backends_killed_under_light_load_answer_503_or_succeed_and_apply_once():
    users = [subscribe(plan="pro")[0] for _ in range(3)]
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    kills = []
    stop = threading.Event()

    def killer():
        rng = random.Random(13)
        while not stop.is_set():
            pids = app_backends()
            if pids:
                pid = pids[0] if rng.random() < 0.7 else rng.choice(pids)
                if sql_value("SELECT pg_terminate_backend(:'p1'::int)", pid) == "t":
                    kills.append(pid)
            time.sleep(0.15)

    # paced: each client waits 20 ms between requests
    with Load(users, threads=3, pause=0.02) as load:
        k = threading.Thread(target=killer)
        k.start()
        try:
            time.sleep(0.5)
            # the targeted request: waits on a lock, killed until it answers
            r, latency, _ = kill_until_answered(uid, key)
            # a loaded machine runs the killer's psql slowly: the load lasts
            # until it has killed enough backends (bounded)
            wait_until(lambda: len(kills) >= 5, 20, step=0.1)
        finally:
            stop.set()
            k.join()
    expect(r, 503, "unavailable")
    assert latency < 3, latency
    measured(f"{len(kills)} kills, {len(load.answers)} requests, {sum(a[0] == 503 for a in load.answers)} 503s under load;"
             " 503 after the last kill", latency)
    assert len(kills) >= 5, f"only {len(kills)} backends killed"
    statuses = {a[0] for a in load.answers}
    assert len(load.answers) >= 10, f"only {len(load.answers)} requests under load"
    assert statuses <= {200, 409, 503}, statuses
    unavailable = [a for a in load.answers if a[0] == 503]
    assert all(a[2] for a in unavailable), "503 without Retry-After"
    assert max(a[1] for a in load.answers) < 5, "a request took too long"
    # clients retrying their 503s (the only failures, above) with the same
    # key see each effect once
    load.retry_failed()
    load.check_toggles()
    assert effects(uid) == NOTHING, effects(uid)
    expect(cancel(uid, key), 200)
    assert effects(uid) == ONCE, effects(uid)
    assert wait_until(healthy, 5)
    assert check_consistency() == []


# --- 3. latency, a stalled link and resets between the app and PostgreSQL --

class PgProxy:
    """A TCP proxy on loopback in front of PostgreSQL's port. It splits
    both directions into protocol messages, so it can delay them (delay
    seconds per batch and direction), hold them (stalled: a link that takes
    bytes and delivers nothing) or reset both connections (RST) when a
    chosen message passes, dropping that message and the rest."""

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.delay = 0.0
        self.stalled = False
        self.closed = False
        self.rules = []          # [direction, predicate, times left]
        self.lock = threading.Lock()
        self.connections = 0
        self.sessions = 0           # connections over which a client spoke
        self.resets = 0
        self.pairs = []
        self.after_ready = b""      # sent once, right behind a server's first ReadyForQuery
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while not self.closed:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(self.upstream, timeout=5)
                up.settimeout(None)
            except OSError:
                down.close()
                continue
            pair = [down, up]
            with self.lock:
                self.connections += 1
                self.pairs.append(pair)
            threading.Thread(target=self.pump, args=(down, up, "client", pair), daemon=True).start()
            threading.Thread(target=self.pump, args=(up, down, "server", pair), daemon=True).start()

    def reset_when(self, direction, predicate, times=1):
        with self.lock:
            self.rules.append([direction, predicate, times])

    def matches(self, direction, message):
        with self.lock:
            for rule in self.rules:
                if rule[0] == direction and rule[2] > 0 and rule[1](message):
                    rule[2] -= 1
                    self.resets += 1
                    return True
        return False

    @staticmethod
    def abort(pair):
        for s in pair:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.shutdown(socket.SHUT_RD)   # wakes the other pump's recv
            except OSError:
                pass
            s.close()

    def pump(self, src, dst, direction, pair):
        buf = b""
        startup = direction == "client"   # the client's first message has no type byte
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                buf += chunk
                messages = []
                while True:
                    head = 4 if startup else 5
                    if len(buf) < head:
                        break
                    size = struct.unpack(">I", buf[head - 4:head])[0] + head - 4
                    if len(buf) < size:
                        break
                    messages.append(buf[:size])
                    buf = buf[size:]
                    if startup:
                        # libpq's abandoned first attempt (lib/db.c,
                        # connect_with_notices_logged) connects but never says
                        # anything: a session begins with this message
                        with self.lock:
                            self.sessions += 1
                    startup = False
                while self.stalled and not self.closed:
                    time.sleep(0.02)
                if self.delay:
                    time.sleep(self.delay)
                out = b""
                for m in messages:
                    if self.matches(direction, m):
                        self.abort(pair)
                        return
                    out += m
                    if direction == "server" and m[:1] == b"Z" and self.after_ready:
                        with self.lock:
                            out, self.after_ready = out + self.after_ready, b""
                dst.sendall(out)
        except OSError:
            pass
        for s in pair:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.listener.close()
        with self.lock:
            pairs = list(self.pairs)
        for pair in pairs:
            self.abort(pair)


def client_binds(predicate):
    """A predicate on the app's Bind messages: (statement name, the rest)."""
    def match(m):
        if m[:1] != b"B":
            return False
        portal_end = m.index(b"\0", 5)
        name_end = m.index(b"\0", portal_end + 1)
        return predicate(m[portal_end + 1:name_end], m[name_end + 1:])
    return match


def server_completes(tag):
    return lambda m: m[:1] == b"C" and m[5:].rstrip(b"\0") == tag


class ProxiedApp(AppInstance):
    """A second pf-account (one process, one thread, so one connection)
    with the stack's configuration, PostgreSQL reached through a PgProxy
    and a short statement timeout; spoken to over FastCGI directly."""

    STATEMENT_TIMEOUT_MS = 500

    def __init__(self, after_ready=b""):
        self.proxy = PgProxy(int(DATABASE.split("port=")[1].split()[0]))
        self.proxy.after_ready = after_ready
        # no connect_timeout: the app's default (2 s) bounds the connect
        super().__init__({"PF_DATABASE": f"host=127.0.0.1 port={self.proxy.port} user=postgres dbname=personaforge"
                                         " sslmode=disable gssencmode=disable application_name=pf-proxied",
                          "PF_THREADS": "1", "PF_STATEMENT_TIMEOUT_MS": str(self.STATEMENT_TIMEOUT_MS)},
                         drop=("PF_SOCKET_GROUP",), name="pf-proxied", prefix="pf-proxied-")
        self.start()

    def request(self, method, path, tok, body=None, key=None, timeout=20):
        """(Response, seconds) of one request."""
        headers = {"HTTP_AUTHORIZATION": "Bearer " + tok}
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        data = json.dumps(body).encode() if body is not None else b""
        started = time.time()
        status, hdrs, payload = self.ask(method, path, headers, data, timeout)
        return Response(status, hdrs, payload), time.time() - started

    def cancel(self, uid, key, timeout=20):
        return self.request("POST", CANCEL, token(uid), {"reason": "other"}, key, timeout)

    def backends(self):
        return int(sql_value("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pf-proxied'"))

    def close(self):
        self.proxy.stalled = False
        self.proxy.close()
        super().close()


def settle(app):
    """Waits until no backend of the proxied app is left from a dropped
    connection (so nothing it sent can still commit)."""
    assert wait_until(lambda: app.backends() == 0, 10), "a dropped connection's backend lingers"


def test_db_latency_past_the_statement_timeout_answers_503_in_time_then_reconnects():
    # the statement timeout runs on the server: latency on the link does
    # not count against it, so the app bounds its own wait for an answer
    # (statement timeout + 1 s) and drops a connection that is past it
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    budget = ProxiedApp.STATEMENT_TIMEOUT_MS / 1000 + 1
    with ProxiedApp() as app:
        r, _ = app.request("GET", "/api/v1/account", token(uid))
        expect(r, 200)
        # latency within the budget is only slow: the bound is per answer,
        # so a request of many round trips may take longer than the budget
        slow, _ = subscribe(plan="pro")
        app.proxy.delay = 0.2            # each way: 0.4 s a round trip
        r, elapsed = app.cancel(slow, new_id("k"))
        expect(r, 200)
        assert elapsed > budget, f"{elapsed:.2f} s: fewer round trips than thought"
        measured("200 with 0.2 s latency each way", elapsed)
        assert effects(slow) == ONCE, effects(slow)
        app.proxy.delay = 1.5            # each way: 3 s a round trip, past the budget
        r, elapsed = app.cancel(uid, key)
        expect(r, 503, "unavailable")
        assert r.headers.get("retry-after"), r.headers
        assert budget - 0.3 < elapsed < budget + 1.2, f"503 after {elapsed:.2f} s (budget {budget} s)"
        measured("503 with 1.5 s latency each way", elapsed)
        # reconnecting through the slow link: the default connect_timeout (2 s)
        r, elapsed = app.cancel(uid, key)
        expect(r, 503, "unavailable")
        assert elapsed < 3.5, f"503 after {elapsed:.2f} s"
        measured("503 connecting through the slow link", elapsed)
        app.proxy.delay = 0
        settle(app)
        assert effects(uid) == NOTHING, effects(uid)
        r, elapsed = app.cancel(uid, key)
        expect(r, 200)
        assert elapsed < 2, elapsed
    assert effects(uid) == ONCE, effects(uid)
    assert check_consistency() == []


def test_db_link_stalled_answers_503_in_time_and_frees_the_worker():
    # a link that takes the bytes and delivers nothing (a partition behind
    # a proxy or a NAT): no error ever comes back, only silence
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    budget = ProxiedApp.STATEMENT_TIMEOUT_MS / 1000 + 1
    with ProxiedApp() as app:
        expect(app.request("GET", "/api/v1/account", token(uid))[0], 200)
        app.proxy.stalled = True
        r, elapsed = app.cancel(uid, key)
        expect(r, 503, "unavailable")
        assert r.headers.get("retry-after")
        assert elapsed < budget + 1.2, f"503 after {elapsed:.2f} s"
        measured("503 on a stalled link", elapsed)
        # the one worker thread is free again: the next request answers too
        r, elapsed = app.request("GET", "/api/v1/account", token(uid))
        expect(r, 503, "unavailable")
        assert elapsed < 3.5, f"503 after {elapsed:.2f} s"
        measured("503 connecting through the stalled link", elapsed)
        app.proxy.stalled = False
        settle(app)
        assert effects(uid) == NOTHING, effects(uid)
        expect(app.cancel(uid, key)[0], 200)
    assert effects(uid) == ONCE, effects(uid)
    assert check_consistency() == []


def test_db_connection_reset_before_commit_reconnects_or_answers_503_with_nothing_applied():
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    mentions_user = client_binds(lambda name, rest: uid.encode() in rest)
    with ProxiedApp() as app:
        expect(app.request("GET", "/api/v1/account", token(uid))[0], 200)
        # once: reset at the request's first statement naming the user; the
        # app runs the transaction again on a new connection
        before = app.proxy.sessions
        app.proxy.reset_when("client", mentions_user, times=1)
        r, elapsed = app.cancel(uid, key)
        expect(r, 200)
        assert app.proxy.resets == 1 and app.proxy.sessions == before + 1
        assert effects(uid) == ONCE, effects(uid)
        # twice in one request: 503 at once, nothing applied
        uid, _ = subscribe(plan="pro")
        mentions_user = client_binds(lambda name, rest: uid.encode() in rest)
        app.proxy.reset_when("client", mentions_user, times=2)
        r, elapsed = app.cancel(uid, key)
        expect(r, 503, "unavailable")
        assert r.headers.get("retry-after")
        assert app.proxy.resets == 3 and elapsed < 2, elapsed
        measured("503 after two resets in one request", elapsed)
        settle(app)
        assert effects(uid) == NOTHING, effects(uid)
        assert stored_answer(uid, key) is None
        # healthy again: the same key applies once
        first, _ = app.cancel(uid, key)
        expect(first, 200)
        assert effects(uid) == ONCE, effects(uid)
        assert app.cancel(uid, key)[0].raw == first.raw
    assert effects(uid) == ONCE, effects(uid)
    assert check_consistency() == []


def test_db_connection_reset_at_commit_answers_503_and_the_key_applies_once():
    key = new_id("k")
    with ProxiedApp() as app:
        # the COMMIT never reaches PostgreSQL: nothing applied
        uid, _ = subscribe(plan="pro")
        expect(app.request("GET", "/api/v1/account", token(uid))[0], 200)
        app.proxy.reset_when("client", client_binds(lambda name, rest: name == b"tx_commit"))
        r, elapsed = app.cancel(uid, key)
        expect(r, 503, "unavailable")
        assert r.headers.get("retry-after") and app.proxy.resets == 1 and elapsed < 2, (r, elapsed)
        measured("503 on a reset as COMMIT is sent", elapsed)
        settle(app)
        assert effects(uid) == NOTHING, effects(uid)
        first, _ = app.cancel(uid, key)
        expect(first, 200)
        assert effects(uid) == ONCE, effects(uid)
        # the COMMIT lands and its acknowledgement is lost: the app cannot
        # tell, answers 503 and does not run the request again; the client's
        # retry with the key gets the stored answer, not a second effect
        uid, _ = subscribe(plan="pro")
        app.proxy.reset_when("server", server_completes(b"COMMIT"))
        r, elapsed = app.cancel(uid, key)
        expect(r, 503, "unavailable")
        assert r.headers.get("retry-after") and app.proxy.resets == 2 and elapsed < 2, (r, elapsed)
        measured("503 on a reset of COMMIT's acknowledgement", elapsed)
        assert effects(uid) == ONCE, effects(uid)
        stored = stored_answer(uid, key)
        assert stored is not None, "the committed answer was not stored"
        replay, _ = app.cancel(uid, key)
        expect(replay, 200)
        assert replay.raw.decode() == stored
        assert effects(uid) == ONCE, effects(uid)
    assert check_consistency() == []


def error_response(severity, sqlstate, message):
    fields = b"".join(code + text.encode() + b"\0" for code, text in
                      ((b"S", severity), (b"V", severity), (b"C", sqlstate), (b"M", message)))
    return b"E" + struct.pack(">I", len(fields) + 5) + fields + b"\0"


def test_a_server_message_while_connecting_is_logged_as_json():
    # a backend terminated just after its ReadyForQuery: the FATAL arrives
    # in the same read as the connection's last message, and libpq parses it
    # inside the connect call, before PQconnectdbParams returns; its default
    # notice processor would print it as plain text on stderr (the JSON log)
    fatal = error_response("FATAL", "57P01", "terminating connection due to administrator command")
    uid, _ = subscribe(plan="pro")
    with ProxiedApp(after_ready=fatal) as app:
        expect(app.request("GET", "/api/v1/account", token(uid))[0], 200)
        assert app.proxy.after_ready == b"", "the proxy never saw a connection become ready"
        notices = [e for e in log_events(app.log_path, "db_notice")
                   if "administrator command" in e.get("message", "")]
        assert notices, app.output(3000)
