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
from test_billing_cycle import add_months, command, parse_summary
from test_fastcgi_hop import fastcgi_request, read_answer

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BUILD = os.environ.get("PF_BUILD_DIR", SRC)
APP = os.path.join(BUILD, "pf-account")
STACK_DIR = os.environ.get("PF_STACK_DIR", "/tmp/personaforge-stack")
TOGGLES = ("subscription.cancel_scheduled", "subscription.resumed")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Instance:
    """pf-account with the stack's configuration, listening on TCP."""

    def __init__(self, workdir, name, **overrides):
        self.name = name
        self.port = free_port()
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.config = os.path.join(workdir, f"{name}.conf")
        settings = {"PF_LISTEN": f"127.0.0.1:{self.port}", "PF_FASTCGI_ALLOW": "127.0.0.1",
                    "PF_PROCESSES": "1", "PF_THREADS": "4", "PF_SOCKET": f"{workdir}/{name}.unused.sock"}
        settings.update(overrides)
        lines = [l.rstrip("\n") for l in open(os.path.join(STACK_DIR, "pf-account.conf"))
                 if l.split("=", 1)[0] not in settings]
        lines += [f"{k}={v}" for k, v in settings.items()]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.config, 0o600)
        self.proc = None

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PF_")}
        env["PF_CONFIG"] = self.config
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([APP], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        assert wait_until(self.serving, 15), f"{self.name} did not start: {self.log()}"

    def serving(self):
        if self.proc.poll() is not None:
            return False
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        except OSError:
            return False
        try:
            s.sendall(fastcgi_request("GET", "/healthz"))
            stdout, _ = read_answer(s, timeout=2)
            return stdout.startswith(b"Status: 200")
        except (OSError, AssertionError):
            return False
        finally:
            s.close()

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        self.proc.wait(timeout)

    def log(self):
        try:
            return open(self.log_path, errors="replace").read()[-2000:]
        except OSError:
            return ""


class Cluster:
    """Two instances and an nginx whose upstream lists both."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="pf-instances-")
        os.chmod(self.dir, 0o755)
        self.instances = [Instance(self.dir, "a"), Instance(self.dir, "b")]
        for i in self.instances:
            i.start()
        self.public_port, self.internal_port = free_port(), free_port()
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

    def connections_to(self, instance):
        """Established TCP connections to the instance's port (/proc/net/tcp)."""
        count = 0
        for line in open("/proc/net/tcp").read().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            if local_port == instance.port and fields[3] == "01":
                count += 1
        return count


class KeyedToggles:
    """Clients toggling cancel/resume through the cluster's nginx, each
    operation with a fresh Idempotency-Key, retried with the same key after
    any answer but 200; and readers of the account. Counts every attempt."""

    def __init__(self, base, users, writers=4, readers=2):
        self.base = base
        self.users = users
        self.stop = threading.Event()
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

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)

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
        for instance in cluster.instances:
            time.sleep(1)
            instance.stop(signal.SIGTERM)
            assert log_events(instance.log_path, "stopped"), instance.log()
            instance.start()
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
    instance = Instance(workdir, "allow", PF_FASTCGI_ALLOW="127.0.0.2/32, ::1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PF_")}
    env["PF_CONFIG"] = instance.config
    instance.proc = subprocess.Popen([APP], env=env, stdout=open(instance.log_path, "ab"),
                                     stderr=subprocess.STDOUT)
    try:
        def ask(source):
            s = socket.socket()
            s.bind((source, 0))
            s.settimeout(3)
            try:
                s.connect(("127.0.0.1", instance.port))
                s.sendall(fastcgi_request("GET", "/healthz"))
                return read_answer(s, timeout=3)[0]
            except (OSError, AssertionError):
                return None
            finally:
                s.close()

        assert wait_until(lambda: ask("127.0.0.2") is not None, 15), instance.log()
        assert ask("127.0.0.2").startswith(b"Status: 200")
        assert ask("127.0.0.1") is None         # closed unanswered
        assert wait_until(lambda: any(e["refused_outside_allow_list"] > 0 for e in log_events(
            instance.log_path, "fastcgi_connections_closed")), 3), instance.log()
    finally:
        instance.stop(signal.SIGKILL)


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
        instance = Instance(workdir, "bad", **{key: value})
        env = {k: v for k, v in os.environ.items() if not k.startswith("PF_")}
        env["PF_CONFIG"] = instance.config
        p = subprocess.run([APP], env=env, capture_output=True, text=True, timeout=10)
        assert p.returncode == 2 and says in p.stderr, (key, value, p.returncode, p.stderr)
