"""More than one app host: two pf-account instances, each on its own TCP
port (PF_LISTEN) with its own processes and database connections, behind
one nginx upstream built from the shipped nginx/personaforge.conf
(scripts/stack start-nginx with PF_APP_SERVERS), against the suite's one
PostgreSQL. They serve as one; two billing-cycle runners at once renew
each period once; a rolling restart (SIGTERM, then a start, one instance
after the other) under a keyed write load fails no request; a killed
instance leaves the other serving, and a client retrying its keyed POST
sees its effect once."""

ORDER = 1  # disturbs the stack: after the tests that need it quiet (run.py)
import os, signal, socket, subprocess, tempfile, threading, time
from harness import *
from app_instance import APP, AppInstance, free_ports
from test_billing_cycle import add_months, command, parse_summary
from test_fastcgi_hop import fastcgi_request, read_answer

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
TOGGLES = ("subscription.cancel_scheduled", "subscription.resumed")


def instance(workdir, name, **overrides):
    """pf-account with the stack's configuration, listening on TCP (four
    threads); not started."""
    return AppInstance({"PF_THREADS": "4", **overrides}, tcp=True, workdir=workdir, name=name)


class Cluster:
    """Two instances and an nginx whose upstream lists both."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="pf-instances-")
        os.chmod(self.dir, 0o755)
        self.instances = [instance(self.dir, "a"), instance(self.dir, "b")]
        for i in self.instances:
            i.start(timeout=15)
        self.public_port, self.internal_port = free_ports(2)
        servers = " ".join(f"server 127.0.0.1:{i.port} max_fails=1 fail_timeout=1s;" for i in self.instances)
        self.env = {**os.environ, "PF_STACK_DIR": self.dir, "PF_PUBLIC_PORT": str(self.public_port),
                    "PF_INTERNAL_PORT": str(self.internal_port), "PF_APP_SERVERS": servers}
        subprocess.run([os.path.join(SRC, "scripts", "stack"), "start-nginx"], env=self.env,
                       check=True, capture_output=True, timeout=30)
        self.base = f"http://127.0.0.1:{self.public_port}"
        return self

    def __exit__(self, *exc):
        subprocess.run([os.path.join(SRC, "scripts", "stack"), "stop-nginx"], env=self.env,
                       capture_output=True, timeout=30)
        for i in self.instances:
            i.stop(signal.SIGKILL)

    def connections_to(self, app):
        """Established TCP connections to the instance's port (/proc/net/tcp)."""
        count = 0
        for line in open("/proc/net/tcp").read().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            if local_port == app.port and fields[3] == "01":
                count += 1
        return count


class KeyedToggles(LoadThreads):
    """Clients toggling cancel/resume through the cluster's nginx, each
    operation with a fresh Idempotency-Key, retried with the same key after
    any answer but 200; and readers of the account. Counts every attempt."""

    JOIN_SECONDS = 60

    def __init__(self, base, users, writers=4, readers=2):
        self.base = base
        self.users = users
        super().__init__()
        self.lock = threading.Lock()
        self.sent = self.failed = self.reads = self.read_failures = 0
        self.failures = []
        self.confirmed = {u: 0 for u in users}
        self.threads = [threading.Thread(target=self.write, args=(u,)) for u in users[:writers]]
        self.threads += [threading.Thread(target=self.read) for _ in range(readers)]

    def attempt(self, method, path, tok, key=None):
        headers = {"Idempotency-Key": key} if key else None
        try:
            r = request(method, path, tok, headers=headers, base=self.base)
            return r.status, r
        except OSError as e:
            return "conn", e

    def write(self, uid):
        tok = token(uid)
        n = 0
        while not self.stop.is_set():
            path = "/api/v1/subscription/cancel" if n % 2 == 0 else "/api/v1/subscription/resume"
            key = new_id("k")
            for _ in range(50):
                status, r = self.attempt("POST", path, tok, key)
                with self.lock:
                    self.sent += 1
                    if status != 200:
                        self.failed += 1
                        self.failures.append((status, repr(r)[:200]))
                if status == 200:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"{path} for {uid} never succeeded")
            with self.lock:
                self.confirmed[uid] += 1
            n += 1

    def read(self):
        while not self.stop.is_set():
            uid = self.users[self.reads % len(self.users)]
            status, r = self.attempt("GET", "/api/v1/account", token(uid))
            with self.lock:
                self.reads += 1
                if status != 200:
                    self.read_failures += 1
                    self.failures.append((status, repr(r)[:200]))


    def check_effects(self):
        """Each confirmed operation happened once: a user's audit trail holds
        exactly its confirmed toggles, and the final state is their parity."""
        for uid, confirmed in self.confirmed.items():
            changes = int(sql_value("SELECT count(*) FROM audit_log WHERE user_id = :'p1' "
                                    f"AND action IN ('{TOGGLES[0]}', '{TOGGLES[1]}')", uid))
            assert changes == confirmed, (uid, changes, confirmed)
            sub = get("/api/v1/account", token(uid)).json["subscription"]
            assert sub["cancel_at_period_end"] == (confirmed % 2 == 1), (uid, confirmed, sub)
        assert check_consistency() == []


def test_two_instances_and_two_billing_runners_serve_as_one():
    # started 20 days ago: the cycle runs at the end of their first period
    anchor = int(time.time()) - 20 * 86400
    due = [subscribe(plan="pro", started_at=anchor)[0] for _ in range(6)]
    period_end = add_months(anchor, 1)
    busy = [subscribe(plan="pro")[0] for _ in range(4)]
    with Cluster() as cluster, KeyedToggles(cluster.base, busy) as load:
        time.sleep(0.5)
        args = command(period_end, users=due)
        runners = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for _ in range(2)]
        outputs = [r.communicate(timeout=60) for r in runners]
        time.sleep(1)
        both = [cluster.connections_to(i) for i in cluster.instances]
    assert all(r.returncode == 0 for r in runners), outputs
    summaries = [parse_summary(out) for out, _ in outputs]
    # between them the two runners renewed each due user once
    assert sum(s["renewed"] for s in summaries) == len(due), summaries
    assert sum(s["errors"] for s in summaries) == 0, summaries
    for uid in due:
        renewals = int(sql_value("SELECT count(*) FROM audit_log WHERE user_id = :'p1' "
                                 "AND action = 'subscription.renewed'", uid))
        assert renewals == 1, (uid, renewals)
    assert load.failed == 0 and load.read_failures == 0, load.failures[:5]
    assert all(n > 0 for n in both), f"nginx did not use both instances: {both}"
    load.check_effects()


def test_rolling_restart_fails_no_request():
    users = [subscribe(plan="pro")[0] for _ in range(4)]
    with Cluster() as cluster, KeyedToggles(cluster.base, users) as load:
        for i in cluster.instances:
            time.sleep(1)
            assert i.stop(signal.SIGTERM, 15), f"{i.name} did not stop within 15 s: {i.output(2000)}"
            assert log_events(i.log_path, "stopped"), i.output(2000)
            i.start(timeout=15)
            # nginx tries a server it marked failed again after fail_timeout
            time.sleep(1.5)
        time.sleep(1)
    print(f"rolling restart: {load.sent} keyed writes sent, {load.reads} reads, "
          f"{load.failed + load.read_failures} failed, "
          f"{sum(load.confirmed.values())} effects confirmed")
    assert load.failed == 0 and load.read_failures == 0, load.failures[:5]
    assert sum(load.confirmed.values()) > 20
    load.check_effects()


def test_a_killed_instance_leaves_the_other_serving():
    users = [subscribe(plan="pro")[0] for _ in range(4)]
    with Cluster() as cluster, KeyedToggles(cluster.base, users) as load:
        time.sleep(1)
        victim = cluster.instances[0]
        victim.stop(signal.SIGKILL)
        time.sleep(2)
    print(f"instance killed: {load.sent} keyed writes sent, {load.failed} failed and retried "
          f"with their keys, {load.reads} reads, {load.read_failures} failed")
    # reads are retried by nginx on the other instance; a write in flight on
    # the killed one may fail, and its retry with the same key applies once
    # (a retry that comes while PostgreSQL has not yet seen the dead
    # connection's transaction end finds the key held: 409
    # idempotency_key_in_use, "retry shortly", and the next retry applies it)
    assert load.read_failures == 0, load.failures[:5]
    assert all(s in (502, 503, "conn") or (s == 409 and "idempotency_key_in_use" in r)
               for s, r in load.failures), load.failures[:5]
    assert sum(load.confirmed.values()) > 10
    load.check_effects()


def test_tcp_peers_outside_the_allow_list_are_refused():
    workdir = tempfile.mkdtemp(prefix="pf-allow-")
    app = instance(workdir, "allow", PF_FASTCGI_ALLOW="127.0.0.2/32, ::1")
    # not start()'s wait: its /healthz comes from 127.0.0.1, which is refused
    app.start(wait=False)
    try:
        def ask(source):
            s = socket.socket()
            s.bind((source, 0))
            s.settimeout(3)
            try:
                s.connect(("127.0.0.1", app.port))
                s.sendall(fastcgi_request("GET", "/healthz"))
                return read_answer(s, timeout=3)[0]
            except (OSError, AssertionError):
                return None
            finally:
                s.close()

        assert wait_until(lambda: ask("127.0.0.2") is not None, 15), app.output(2000)
        assert ask("127.0.0.2").startswith(b"Status: 200")
        assert ask("127.0.0.1") is None         # closed unanswered
        assert wait_until(lambda: any(e["refused_outside_allow_list"] > 0 for e in log_events(
            app.log_path, "fastcgi_connections_closed")), 3), app.output(2000)
    finally:
        app.stop(signal.SIGKILL)


def test_bad_listen_settings_stop_the_start():
    workdir = tempfile.mkdtemp(prefix="pf-listen-")
    for key, value, says in [
            ("PF_LISTEN", "localhost:9000", "PF_LISTEN must be a numeric address"),
            ("PF_LISTEN", "127.0.0.1:0", "PF_LISTEN must be a numeric address"),
            ("PF_LISTEN", "127.0.0.1", "PF_LISTEN must be a numeric address"),
            ("PF_LISTEN", "[::1]:99999", "PF_LISTEN must be a numeric address"),
            ("PF_FASTCGI_ALLOW", "nginx.internal", "PF_FASTCGI_ALLOW: an entry is not a numeric"),
            ("PF_FASTCGI_ALLOW", "10.0.0.0/33", "PF_FASTCGI_ALLOW: a prefix length is out of range"),
            ("PF_FASTCGI_ALLOW", " , ", "PF_LISTEN needs PF_FASTCGI_ALLOW")]:
        # run here, not start()ed: what it says on stderr alone is checked
        app = instance(workdir, "bad", **{key: value})
        p = subprocess.run([APP], env=app.env, capture_output=True, text=True, timeout=10)
        assert p.returncode == 2 and says in p.stderr, (key, value, p.returncode, p.stderr)
