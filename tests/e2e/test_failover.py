"""Failover, run last: the loss of the PostgreSQL primary (docs/ha.md).

Each scenario builds its own pair of clusters in a temp dir, on free
loopback ports (never the suite's database): a primary and a streaming
standby made with `pg_basebackup -R -X stream`, synchronous
(`synchronous_standby_names = '*'`) or asynchronous. A second pf-account
(its own config and socket) behind a second nginx built from the shipped
nginx/personaforge.conf, and pf-billing-cycle, reach them through a libpq
multi-host conninfo with target_session_attrs=read-write. Eight users
toggle cancel and resume, one client thread each, every operation with a
fresh Idempotency-Key retried with the same key after any non-200 answer.
The replication connection runs through a relay (Link) that holds back
what the primary sends for the last 0.5 s before the crash: the standby
falls behind, as over a slow or broken link. Then the primary is stopped
with `pg_ctl -m immediate`, and a second later the standby is promoted
(its inherited synchronous_standby_names cleared first: it has no standby
of its own left).

Both: the client saw nothing but 200 (409 only after an asynchronous
loss) and 503 with Retry-After; the 503s end, and every user is served
again, under 2 s after the promotion; /healthz answers 503 while no
read-write primary is reachable; pf-billing-cycle exits 3 then, and
afterwards renews each due period exactly once; every kept operation has
its stored answer, audit and outbox rows. Synchronous: nothing the client
saw confirmed is lost, and nothing is confirmed while the standby cannot
have it; the old primary is then re-attached with pg_rewind as the new
primary's synchronous standby. Asynchronous: what is lost is measured and
bounded: every operation sent during the partition, only operations
confirmed within the replication lag before the crash, only each user's
last ones, and all of them commits the old primary had made (it is
started alone afterwards to look). Each scenario prints its counts."""

ORDER = 1  # disturbs the stack: after the tests that need it quiet (run.py)
import os, re, select, shutil, socket, subprocess, tempfile, threading, time
from harness import *
from app_instance import free_ports, write_config
from test_billing_cycle import parse_summary

SRC = os.environ.get("PF_SRC_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
STACK = os.path.join(SRC, "scripts", "stack")
BUILD = os.environ.get("PF_BUILD_DIR", SRC)
ROOT = os.getuid() == 0
USERS = 8
BEFORE_KILL = 2.0        # seconds of load before the primary is stopped
BEFORE_PROMOTE = 1.0     # the primary is gone, nothing promoted yet
AFTER_PROMOTE = 2.0      # seconds of load on the new primary
UNAVAILABLE_MAX = 2.0    # the 503s end within this after the promotion
PARTITION = 0.5          # before the crash, the standby receives nothing for this long
MARGIN = 0.25            # for the relay to see the partition begin, and a crashed request to end
LAG_BOUND = 1.0          # asynchronous: a lost operation was confirmed at most this long before the partition
RETRY_PAUSE = 0.05       # the client retries at once (it does not wait the 2 s Retry-After says)
OP_DEADLINE = 30.0       # an operation not confirmed by then fails the test


def pg_bin(name):
    for d in sorted(os.listdir("/usr/lib/postgresql"), reverse=True) if os.path.isdir("/usr/lib/postgresql") else []:
        path = os.path.join("/usr/lib/postgresql", d, "bin", name)
        if os.access(path, os.X_OK):
            return path
    return shutil.which(name) or name


def as_pg(args):
    """PostgreSQL refuses to run as root: there it runs as postgres."""
    return (["runuser", "-u", "postgres", "--"] if ROOT else []) + args


def run(args, timeout=60, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    assert p.returncode == 0, f"{args[:6]}: exit {p.returncode}: {p.stdout[-2000:]} {p.stderr[-2000:]}"
    return p.stdout


def wait_until(pred, timeout, pause=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(pause)
    return False


class Cluster:
    """One PostgreSQL cluster: data dir and socket dir under base, a loopback port."""

    def __init__(self, base, name, port):
        self.name = name
        self.port = port
        self.data = os.path.join(base, name)
        self.sockets = os.path.join(base, name + "-socket")
        logs = os.path.join(base, name + "-log")
        for d in (self.sockets, logs):
            os.makedirs(d)
            if ROOT:
                shutil.chown(d, "postgres", "postgres")
        self.log = os.path.join(logs, "server.log")

    def tcp(self, dbname="personaforge"):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname} connect_timeout=2"

    def make_data_dir(self):
        os.makedirs(self.data, mode=0o700)
        if ROOT:
            shutil.chown(self.data, "postgres", "postgres")

    def initdb(self):
        self.make_data_dir()
        run(as_pg([pg_bin("initdb"), "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--locale=C.UTF-8"]))
        # what pg_rewind needs to re-attach a failed primary: hint-bit
        # changes in the WAL, and the WAL back to the last checkpoint the two
        # histories share (its own crash recovery of the stopped cluster
        # checkpoints and would recycle it); in the file, not on the command
        # line, because that crash recovery reads only the file (and
        # pg_basebackup copies it to the standby)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("wal_log_hints = on\nwal_keep_size = 256MB\n")

    def basebackup_from(self, port):
        """A streaming standby of the primary at port: standby.signal and
        primary_conninfo (to that port) written (-R)."""
        self.make_data_dir()
        run(as_pg([pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                   "-D", self.data, "-R", "-X", "stream", "-c", "fast"]))

    def start(self):
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=off"
        run(as_pg([pg_bin("pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", opts, "start"]))

    def stop(self, mode="fast"):
        subprocess.run(as_pg([pg_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"]),
                       capture_output=True, timeout=90)

    def running(self):
        return subprocess.run(as_pg([pg_bin("pg_ctl"), "-D", self.data, "status"]),
                              capture_output=True).returncode == 0

    def promote(self):
        run(as_pg([pg_bin("pg_ctl"), "-D", self.data, "-w", "-t", "60", "promote"]))

    def sql(self, query, dbname="personaforge"):
        out = run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", self.tcp(dbname)],
                  input=query)
        return [line.split("\t") for line in out.splitlines() if line != ""]

    def value(self, query, dbname="personaforge"):
        rows = self.sql(query, dbname)
        return rows[0][0] if rows else None


class Link:
    """A TCP relay for the replication connection (the standby's
    primary_conninfo points at it): pause() stops forwarding what the
    primary sends (a partition: the standby falls behind while the primary
    goes on), drop() closes the relayed connections, discarding what was
    held back. New connections are relayed as usual."""

    def __init__(self, target_port):
        self.target = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.paused = threading.Event()
        self.lock = threading.Lock()
        self.pairs = []
        self.closed = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=2)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            pair = [client, upstream]
            with self.lock:
                self.pairs.append(pair)
            threading.Thread(target=self.pump, args=(client, upstream, False, pair), daemon=True).start()
            threading.Thread(target=self.pump, args=(upstream, client, True, pair), daemon=True).start()

    def pump(self, src, dst, from_primary, pair):
        try:
            while pair[0] is not None:
                if from_primary and self.paused.is_set():
                    time.sleep(0.005)
                    continue
                ready, _, _ = select.select([src], [], [], 0.05)
                if not ready or (from_primary and self.paused.is_set()):
                    continue
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except (OSError, ValueError):
            pass
        self.close_pair(pair)

    def close_pair(self, pair):
        with self.lock:
            socks, pair[:] = list(pair), [None, None]
        for sock in socks:
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def pause(self):
        self.paused.set()

    def drop(self):
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            self.close_pair(pair)
        self.paused.clear()

    def close(self):
        self.listener.close()
        self.drop()


class App:
    """pf-account with its own config and socket, behind a second nginx from
    the shipped config, both started by scripts/stack in their own dir."""

    def __init__(self, base, conninfo):
        self.dir = os.path.join(base, "app")
        os.makedirs(self.dir)
        os.chmod(base, 0o755)
        os.chmod(self.dir, 0o755)
        public, internal = free_ports(2)
        self.public = f"http://127.0.0.1:{public}"
        self.internal = f"http://127.0.0.1:{internal}"
        # where scripts/stack start-app looks for it
        write_config(os.path.join(self.dir, "pf-account.conf"),
                     {"PF_DATABASE": conninfo, "PF_SOCKET": f"{self.dir}/run/app.sock",
                      "PF_PROCESSES": "1", "PF_THREADS": "4"})
        # the environment overrides the config file: the suite's PF_DATABASE
        # (its main stack) must not reach this app
        self.env = {**os.environ, "PF_STACK_DIR": self.dir, "PF_PUBLIC_PORT": str(public),
                    "PF_INTERNAL_PORT": str(internal), "PF_BUILD_DIR": BUILD, "PF_APP_WRAPPER": "",
                    "PF_DATABASE": conninfo, "PF_SOCKET": f"{self.dir}/run/app.sock",
                    "PF_PROCESSES": "1", "PF_THREADS": "4"}
        self.started = []
        self.final_log = ""

    def stack(self, cmd):
        run([STACK, cmd], env=self.env, timeout=60)

    def start(self):
        self.stack("start-app")
        self.started.append("app")
        self.stack("start-nginx")
        self.started.append("nginx")

    def stop(self):
        for part in reversed(self.started):
            subprocess.run([STACK, "stop-" + part], env=self.env, capture_output=True, timeout=60)
        self.started = []
        try:
            self.final_log = open(os.path.join(self.dir, "app.log")).read()
        except OSError:
            pass

    def check_memory_errors(self):
        """What run-all.sh checks in the main stack's log, for this app's
        (the sanitizer builds of CI run it too)."""
        found = re.findall(r"ERROR: (?:Address|Leak)Sanitizer.*|runtime error:.*", self.final_log)
        assert not found, found[:5]

    def health(self):
        try:
            return get("/healthz", base=self.public)
        except OSError:
            return None

    def log(self):
        try:
            return open(os.path.join(self.dir, "app.log")).read()[-3000:]
        except OSError:
            return ""


class Load(LoadThreads):
    """One client thread per user toggling cancel and resume: each operation
    has a fresh Idempotency-Key and is retried with the same key after any
    answer but 200 or 409, until one of those comes (or OP_DEADLINE)."""

    JOIN_SECONDS = OP_DEADLINE + 10

    def __init__(self, app, users):
        self.app = app
        self.users = users
        super().__init__()
        self.lock = threading.Lock()
        self.attempts = []   # (started, answered, status, retry_after, uid, key)
        self.confirmed = []  # (answered, uid, path, key, status, sent), per user in order
        self.unconfirmed = []
        self.threads = [threading.Thread(target=self.run, args=(uid,)) for uid in users]

    def run(self, uid):
        tok = token(uid)
        cancelled = False
        while not self.stop.is_set():
            path = "/api/v1/subscription/resume" if cancelled else "/api/v1/subscription/cancel"
            key = new_id("k")
            deadline = time.time() + OP_DEADLINE
            while True:
                started = time.time()
                try:
                    r = post(path, tok, headers={"Idempotency-Key": key}, base=self.app.public)
                    status, retry_after = r.status, r.headers.get("retry-after")
                except OSError as e:
                    status, retry_after = f"connection: {e}", None
                answered = time.time()
                with self.lock:
                    self.attempts.append((started, answered, status, retry_after, uid, key))
                if status in (200, 409):
                    with self.lock:
                        self.confirmed.append((answered, uid, path, key, status, started))
                    # 409: resume of a subscription not scheduled to cancel (an
                    # asynchronous failover lost the cancel): toggle on anyway
                    cancelled = not cancelled
                    break
                if time.time() > deadline:
                    with self.lock:
                        self.unconfirmed.append((uid, path, key))
                    return
                time.sleep(RETRY_PAUSE)



def billing_cycle(conninfo, now, users, timeout=60):
    args = [os.path.join(BUILD, "pf-billing-cycle"), "--database", conninfo, "--now", iso(now)]
    for u in users:
        args += ["--user", u]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def expected_effects(ops):
    """What a user's operations (in order) do to a fresh subscription: the
    answer each gets and how many change it (one audit and one outbox row
    each). A cancel when already cancelled is a 200 that changes nothing."""
    cancelled, changes, answers = False, 0, []
    for path in ops:
        if path.endswith("/cancel"):
            answers.append(200)
            if not cancelled:
                cancelled, changes = True, changes + 1
        elif cancelled:
            answers.append(200)
            cancelled, changes = False, changes + 1
        else:
            answers.append(409)
    return answers, changes, cancelled


def check_kept(cluster, users, load):
    """Every operation of users that cluster holds is stored with the answer
    the client got, that answer is what its place in the user's history
    gives, and the history's changes each have their audit and outbox row.
    Returns the confirmed operations it does not hold, and who is cancelled."""
    user_list = "ARRAY[" + ",".join(f"'{u}'" for u in users) + "]"
    stored = {(r[0], r[1]): int(r[2]) for r in cluster.sql(
        f"SELECT actor_id, key, response_status FROM idempotency_keys"
        f" WHERE actor_role = 'user' AND actor_id = ANY({user_list})")}
    audit = dict((r[0], int(r[1])) for r in cluster.sql(
        f"SELECT user_id, count(*) FROM audit_log WHERE user_id = ANY({user_list})"
        " AND action IN ('subscription.cancel_scheduled', 'subscription.resumed') GROUP BY 1"))
    outbox = dict((r[0], int(r[1])) for r in cluster.sql(
        f"SELECT user_id, count(*) FROM outbox WHERE user_id = ANY({user_list})"
        " AND event IN ('subscription_cancel_scheduled', 'subscription_resumed') GROUP BY 1"))
    cancelled_now = dict((r[0], r[1] == "t") for r in cluster.sql(
        f"SELECT user_id, cancel_at_period_end FROM subscriptions WHERE user_id = ANY({user_list})"))
    lost = [c for c in load.confirmed if (c[1], c[3]) not in stored]
    for uid in users:
        kept = [c for c in load.confirmed if c[1] == uid and (uid, c[3]) in stored]
        answers, changes, cancelled = expected_effects([c[2] for c in kept])
        assert [stored[(uid, c[3])] for c in kept] == [c[4] for c in kept] == answers, \
            (uid, [c[2:5] for c in kept], answers)
        assert audit.get(uid, 0) == changes and outbox.get(uid, 0) == changes, \
            (uid, audit.get(uid), outbox.get(uid), changes)
        assert cancelled_now[uid] == cancelled, (uid, cancelled_now[uid], cancelled)
    return lost, cancelled_now


def subscribe_users(app, n):
    users = []
    for _ in range(n):
        uid = new_id("fo")
        r = post("/api/v1/internal/subscriptions", service_token(),
                 {"user_id": uid, "email": f"{uid}@example.com", "plan": "pro", "provider_ref": new_id("ref")},
                 base=app.internal)
        assert r.status == 201, r
        users.append(uid)
    return users


def only_503s(load):
    """The failed attempts; anything but 503 with Retry-After fails the test."""
    failures = [a for a in load.attempts if a[2] not in (200, 409)]
    others = [a for a in failures if a[2] != 503 or not a[3]]
    assert not others, f"answers other than 503 with Retry-After: {others[:5]}"
    return failures


def failover_scenario(synchronous):
    label = "synchronous" if synchronous else "asynchronous"
    base = tempfile.mkdtemp(prefix="pf-failover-")
    os.chmod(base, 0o755)
    p1, p2 = free_ports(2)
    primary, standby = Cluster(base, "primary", p1), Cluster(base, "standby", p2)
    link = Link(p1)
    app = None
    try:
        # -- the pair --------------------------------------------------------
        primary.initdb()
        primary.start()
        primary.sql("CREATE DATABASE personaforge", dbname="postgres")
        run([os.path.join(SRC, "sql", "migrate.sh"), primary.tcp()])
        if synchronous:
            # in postgresql.auto.conf: pg_basebackup copies it to the standby
            primary.sql("ALTER SYSTEM SET synchronous_standby_names = '*'", dbname="postgres")
            primary.sql("SELECT pg_reload_conf()", dbname="postgres")
        standby.basebackup_from(link.port)
        standby.start()
        want = "sync" if synchronous else "async"
        assert wait_until(lambda: primary.value("SELECT sync_state FROM pg_stat_replication", "postgres") == want,
                          20), primary.sql("SELECT * FROM pg_stat_replication", "postgres")

        multi_socket = (f"host={primary.sockets},{standby.sockets} port={p1},{p2} user=postgres"
                        " dbname=personaforge connect_timeout=2 target_session_attrs=read-write")
        multi_tcp = (f"host=127.0.0.1,127.0.0.1 port={p1},{p2} user=postgres dbname=personaforge"
                     " connect_timeout=2 target_session_attrs=read-write")
        app = App(base, multi_socket)
        app.start()
        assert wait_until(lambda: (app.health() or Response(0, {}, b"")).status == 200, 10), app.log()
        users = subscribe_users(app, USERS)
        user_list = "ARRAY[" + ",".join(f"'{u}'" for u in users) + "]"

        # -- load, partition, crash, promotion ---------------------------------
        with Load(app, users) as load:
            time.sleep(BEFORE_KILL - PARTITION)
            partitioned = time.time()
            link.pause()
            time.sleep(PARTITION)
            killed = time.time()
            primary.stop("immediate")
            stopped = time.time()
            link.drop()  # what the partition held back never reaches the standby
            # nothing read-write is reachable: not ready, and the billing
            # cycle says so (exit 3) instead of waiting
            health = app.health()
            assert health is not None and health.status == 503 and health.headers.get("retry-after"), health
            started = time.time()
            cycle = billing_cycle(multi_tcp, time.time() + 40 * 86400, users, timeout=30)
            cycle_unavailable_s = time.time() - started
            assert cycle.returncode == 3, (cycle.returncode, cycle.stdout, cycle.stderr)
            assert "cannot reach the database" in cycle.stderr, cycle.stderr
            steps = [("cycle", time.time())]
            inherited = standby.value("SHOW synchronous_standby_names", "postgres")
            # the promoted standby has no standby of its own: with the
            # inherited '*' its commits would wait for one forever. Cleared
            # well before the promotion: a promotion requested just after a
            # reload was seen to wait out the standby's 5 s WAL retry
            standby.sql("ALTER SYSTEM SET synchronous_standby_names = ''", dbname="postgres")
            standby.sql("SELECT pg_reload_conf()", dbname="postgres")
            steps.append(("clear", time.time()))
            time.sleep(max(0.0, killed + BEFORE_PROMOTE - time.time()))
            steps.append(("sleep", time.time()))
            health = app.health()
            assert health is not None and health.status == 503, health
            steps.append(("health", time.time()))
            standby.promote()
            promoted = time.time()
            steps.append(("promote", promoted))
            time.sleep(AFTER_PROMOTE)
        assert not load.unconfirmed, f"operations never confirmed: {load.unconfirmed[:5]}; {app.log()}"
        if synchronous:
            assert inherited == "*", inherited

        # -- what the client saw ---------------------------------------------
        failures = only_503s(load)
        assert failures, "no request saw the primary gone"
        # nothing failed before the partition (requests sent during it wait
        # for the standby when it is synchronous, then fail with the crash)
        assert all(partitioned - MARGIN <= a[0] for a in failures), \
            [a for a in failures if a[0] < partitioned - MARGIN][:3]
        unavailable = max(a[1] for a in failures) - min(a[0] for a in failures)
        after_promotion = max(0.0, max(a[1] for a in failures) - promoted)
        assert after_promotion < UNAVAILABLE_MAX, f"503s went on {after_promotion:.2f} s after the promotion"
        # every user is served again soon after the promotion
        recovered = max(min(c[0] for c in load.confirmed if c[1] == uid and c[0] > promoted) - promoted
                        for uid in users)
        assert recovered < UNAVAILABLE_MAX, f"a user waited {recovered:.2f} s after the promotion"
        answered = sorted(c[0] for c in load.confirmed)
        no_confirmation = max(b - a for a, b in zip(answered, answered[1:]))
        health = app.health()
        assert health is not None and health.status == 200, health

        # -- what the new primary holds ----------------------------------------
        lost, cancelled_now = check_kept(standby, users, load)
        retried = sum(1 for a in load.attempts if a[2] == 503)
        # what the old primary confirmed: answered before it was stopped (an
        # answer may still be on its way then), long before the promotion
        by_old = stopped + MARGIN
        assert by_old < promoted
        # operations sent after the partition began and confirmed by the old
        # primary: their commits cannot have reached the standby
        held_back = [c for c in load.confirmed if c[5] > partitioned + MARGIN and c[0] < by_old]
        if synchronous:
            assert not lost, f"{len(lost)} confirmed operations lost: {lost[:5]}"
            assert all(c[4] == 200 for c in load.confirmed), [c for c in load.confirmed if c[4] != 200][:5]
            # a synchronous commit waits for the standby: none is confirmed
            # while the standby cannot have it
            assert not held_back, held_back[:5]
        else:
            # the bound: what is lost is what was acknowledged within the
            # replication lag before the crash (here the partition), and
            # only that: each user's last operations before it
            assert held_back, "no operation confirmed during the partition"
            assert all(c in lost for c in held_back), [c for c in held_back if c not in lost][:5]
            for c in lost:
                assert partitioned - LAG_BOUND <= c[0] < by_old, (c, partitioned, by_old)
                later = [d for d in load.confirmed if d[1] == c[1] and c[0] < d[0] < by_old]
                assert all(d in lost for d in later), (c, later)

        # -- the billing cycle on the new primary: each period once ------------
        due = time.time() + 40 * 86400
        cycle = billing_cycle(multi_tcp, due, users)
        assert cycle.returncode == 0, (cycle.returncode, cycle.stdout, cycle.stderr)
        summary = parse_summary(cycle.stdout)
        ended = sum(1 for u in users if cancelled_now[u])
        assert (summary["examined"], summary["renewed"], summary["ended"], summary["errors"]) == \
            (USERS, USERS - ended, ended, 0), summary
        again = parse_summary(billing_cycle(multi_tcp, due, users).stdout)
        assert again["examined"] == 0 and again["renewed"] == 0, again
        renewals = standby.sql(f"SELECT count(*), count(DISTINCT (subscription_id, period_start)) FROM charges"
                               f" WHERE user_id = ANY({user_list}) AND origin = 'renewal'")[0]
        assert renewals == [str(USERS - ended)] * 2, renewals

        before_partition = [c for c in load.confirmed if c[0] < partitioned]
        lost_before = [c for c in lost if c[0] < partitioned]
        during = [c for c in load.confirmed if partitioned <= c[0] < by_old]
        print(f"failover ({label} standby): {len(load.confirmed)} operations confirmed"
              f" ({len(during)} of them during the {PARTITION} s partition and the crash,"
              f" {sum(1 for c in during if c in lost)} of those lost,"
              f" {len(held_back)} sent more than {MARGIN} s into it),"
              f" {len(lost)} confirmed operations lost ({len(lost_before)} of the {len(before_partition)}"
              f" confirmed before the partition began),"
              f" {retried} answers 503 (all with Retry-After) retried with the same key;"
              f" 503s for {unavailable:.2f} s, ending {after_promotion:.2f} s after the promotion"
              f" ({promoted - killed:.2f} s after the crash began, {stopped - killed:.2f} s to stop),"
              f" every user served again {recovered:.2f} s after it;"
              f" longest time without a confirmation {no_confirmation:.2f} s;"
              f" pf-billing-cycle exited 3 in {cycle_unavailable_s:.2f} s with no primary,"
              f" then renewed {summary['renewed']} and ended {summary['ended']}, once"
              f" (steps after the crash: {', '.join(f'{n} {t - killed:.2f} s' for n, t in steps)})", flush=True)
        return primary, standby, app, link, users, lost, load
    except BaseException:
        print_logs(primary, standby, app)
        teardown(base, primary, standby, app, link)
        raise


def print_logs(primary, standby, app):
    if app is not None:
        print(app.log())
    for c in (primary, standby):
        try:
            print(c.name, open(c.log).read()[-2000:])
        except OSError:
            pass


def teardown(base, primary, standby, app, link):
    if app is not None:
        app.stop()
    link.close()
    for c in (primary, standby):
        c.stop("immediate")
    shutil.rmtree(base, ignore_errors=True)


def test_failover_to_a_synchronous_standby_loses_nothing():
    primary, standby, app, link, users, lost, load = failover_scenario(synchronous=True)
    base = os.path.dirname(primary.data)
    try:
        # re-attach the old primary as the new one's synchronous standby:
        # pg_rewind takes it back to where the histories forked (it runs the
        # crash recovery an immediate stop left to do first); -R makes it a
        # standby of the source
        standby.sql("CHECKPOINT", dbname="postgres")  # its control file then names the new timeline
        rewind = subprocess.run(as_pg([pg_bin("pg_rewind"), "--target-pgdata", primary.data,
                                       "--source-server", standby.tcp("postgres"), "-R"]),
                                capture_output=True, text=True, timeout=120)
        assert rewind.returncode == 0, (rewind.stdout[-1500:], rewind.stderr[-1500:])
        primary.start()
        assert wait_until(lambda: standby.value("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
                                                "postgres") == "1", 20)
        standby.sql("ALTER SYSTEM SET synchronous_standby_names = '*'", dbname="postgres")
        standby.sql("SELECT pg_reload_conf()", dbname="postgres")
        assert wait_until(lambda: standby.value("SELECT sync_state FROM pg_stat_replication", "postgres") == "sync", 20)
        assert primary.value("SELECT pg_is_in_recovery()") == "t"
        uid = new_id("fo")
        r = post("/api/v1/internal/subscriptions", service_token(),
                 {"user_id": uid, "email": f"{uid}@example.com", "plan": "pro", "provider_ref": new_id("ref")},
                 base=app.internal)
        assert r.status == 201, r
        # acknowledged once the re-attached standby has it
        assert wait_until(lambda: primary.value(f"SELECT count(*) FROM subscriptions WHERE user_id = '{uid}'") == "1", 5)

        # a planned switchover back, under load: the current primary is
        # fenced (default_transaction_read_only: its open sessions can no
        # longer write), the standby catches up and is promoted. The app
        # answers 503 meanwhile, not 500, reports not ready, and then
        # writes to the promoted server: lib/db.c drops a connection whose
        # writes are refused as read-only and connects again
        users = subscribe_users(app, 4)
        with Load(app, users) as load:
            time.sleep(1.0)
            fenced = time.time()
            standby.sql("ALTER SYSTEM SET default_transaction_read_only = on", dbname="postgres")
            standby.sql("SELECT pg_reload_conf()", dbname="postgres")
            assert wait_until(lambda: (app.health() or Response(0, {}, b"")).status == 503, 5), app.health()
            end = standby.value("SELECT pg_current_wal_lsn()", "postgres")
            assert wait_until(lambda: primary.value(
                f"SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '{end}') >= 0", "postgres") == "t", 10)
            primary.promote()
            switched = time.time()
            time.sleep(1.5)
        assert not load.unconfirmed, load.unconfirmed[:5]
        failures = only_503s(load)
        assert failures and all(a[0] >= fenced - MARGIN for a in failures), failures[:3]
        after_switch = max(0.0, max(a[1] for a in failures) - switched)
        assert after_switch < UNAVAILABLE_MAX, f"503s went on {after_switch:.2f} s after the switchover"
        assert any(a[0] > switched and a[2] == 200 for a in load.attempts)
        assert (app.health() or Response(0, {}, b"")).status == 200
        lost, _ = check_kept(primary, users, load)
        assert not lost, lost[:5]
        print(f"switchover (fenced primary, standby promoted): {len(load.confirmed)} operations confirmed,"
              f" {len(failures)} answers 503 for {max(a[1] for a in failures) - fenced:.2f} s from the fence,"
              f" ending {after_switch:.2f} s after the promotion, 0 lost", flush=True)
    except BaseException:
        print_logs(primary, standby, app)
        raise
    finally:
        teardown(base, primary, standby, app, link)
    app.check_memory_errors()


def test_failover_to_an_asynchronous_standby_loses_at_most_the_lag():
    primary, standby, app, link, users, lost, load = failover_scenario(synchronous=False)
    base = os.path.dirname(primary.data)
    try:
        # the old primary alone (the app stopped first: it must never reach
        # two read-write servers) holds every lost operation: they were
        # acknowledged commits, not answers made up
        app.stop()
        primary.start()
        keys = set((r[0], r[1]) for r in primary.sql("SELECT actor_id, key FROM idempotency_keys WHERE actor_role = 'user'"))
        missing = [c for c in lost if (c[1], c[3]) not in keys]
        assert not missing, missing[:5]
    except BaseException:
        print_logs(primary, standby, app)
        raise
    finally:
        teardown(base, primary, standby, app, link)
    app.check_memory_errors()
