"""The app through a real PgBouncer (Debian's pgbouncer 1.18) in transaction
mode, where consecutive transactions of one client may run on different
server connections: with PF_DATABASE_POOLING=transaction the app prepares
nothing and sets its timeouts per transaction (lib/db.c), so eight app
threads share two server connections and every rule still holds; without
it, the named statements prepared on one server connection are missing on
the others."""

ORDER = 1  # disturbs the stack: after the tests that need it quiet (run.py)
import os, signal, socket, subprocess, tempfile, threading, time, json, shutil
from harness import *
from app_instance import AppInstance, free_ports

POOL_SIZE = 2


class Bouncer:
    """pgbouncer in transaction mode in front of the suite's PostgreSQL, run
    as the postgres user (it refuses root)."""

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="pf-bouncer-")
        self.port = free_ports(1)[0]
        pg_port = dict(kv.split("=", 1) for kv in DATABASE.split())["port"]
        with open(os.path.join(self.dir, "users.txt"), "w") as f:
            f.write('"postgres" ""\n')
        with open(os.path.join(self.dir, "pgbouncer.ini"), "w") as f:
            f.write(f"""[databases]
personaforge = host=127.0.0.1 port={pg_port} dbname=personaforge user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.dir}/users.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = 200
server_reset_query =
logfile = {self.dir}/pgbouncer.log
pidfile = {self.dir}/pgbouncer.pid
""")
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
            for name in os.listdir(self.dir):
                shutil.chown(os.path.join(self.dir, name), "postgres")
            args = ["runuser", "-u", "postgres", "--", "pgbouncer", os.path.join(self.dir, "pgbouncer.ini")]
        else:
            args = ["pgbouncer", os.path.join(self.dir, "pgbouncer.ini")]
        # its own process group: runuser does not pass a signal on to
        # pgbouncer, so the whole group is stopped at the end
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        assert wait_until(self.listening, 10), self.log()
        self.conninfo = f"host=127.0.0.1 port={self.port} user=postgres dbname=personaforge connect_timeout=2"
        return self

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def server_connections(self):
        """Server connections the pool holds (SHOW POOLS: sv_active + sv_idle + sv_used)."""
        out = subprocess.run(["psql", "-X", "-A", "-F", "\t", f"host=127.0.0.1 port={self.port} "
                              "user=postgres dbname=pgbouncer", "-c", "SHOW POOLS"],
                             capture_output=True, text=True, timeout=10).stdout.splitlines()
        head = out[0].split("\t")
        for line in out[1:]:
            row = dict(zip(head, line.split("\t")))
            if row.get("database") == "personaforge":
                return sum(int(row[k]) for k in ("sv_active", "sv_idle", "sv_used"))
        return 0

    def log(self):
        try:
            return open(os.path.join(self.dir, "pgbouncer.log")).read()[-2000:]
        except OSError:
            return ""

    def __exit__(self, *exc):
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass
        # nothing of it may outlive the test
        assert wait_until(lambda: not self.listening(), 5), "pgbouncer still listening"


def fastcgi(instance, method, path, tok, body=None, key=None):
    """(status, parsed body) of one request straight to the instance."""
    headers = {"HTTP_AUTHORIZATION": "Bearer " + tok}
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    status, _, payload = instance.ask(method, path, headers, json.dumps(body).encode() if body else b"",
                                      timeout=10)
    return status, json.loads(payload) if payload else None


def toggles(instance, users, rounds):
    """Each user's thread cancels and resumes rounds times with fresh keys;
    returns every status seen."""
    statuses = []
    lock = threading.Lock()

    def run(uid):
        tok = token(uid)
        for n in range(rounds):
            path = "/api/v1/subscription/cancel" if n % 2 == 0 else "/api/v1/subscription/resume"
            status, _ = fastcgi(instance, "POST", path, tok, key=new_id("k"))
            read, _ = fastcgi(instance, "GET", "/api/v1/account", tok)
            with lock:
                statuses.extend([status, read])

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return statuses


def test_transaction_pooling_with_unnamed_statements_keeps_every_rule():
    users = [subscribe(plan="pro")[0] for _ in range(8)]
    workdir = tempfile.mkdtemp(prefix="pf-pooled-")
    with Bouncer() as bouncer:
        instance = AppInstance({"PF_DATABASE": bouncer.conninfo, "PF_DATABASE_POOLING": "transaction",
                                "PF_THREADS": "8", "PF_STATEMENT_TIMEOUT_MS": "1000"},
                               tcp=True, workdir=workdir, name="pooled")
        instance.start(timeout=15)
        try:
            statuses = toggles(instance, users, 10)
            assert statuses and all(s == 200 for s in statuses), sorted(set(statuses))
            # eight app connections, at most POOL_SIZE server connections
            assert 1 <= bouncer.server_connections() <= POOL_SIZE
            for uid in users:
                changes = int(sql_value("SELECT count(*) FROM audit_log WHERE user_id = :'p1' AND action IN "
                                        "('subscription.cancel_scheduled', 'subscription.resumed')", uid))
                assert changes == 10, (uid, changes)
                assert get("/api/v1/account", token(uid)).json["subscription"]["cancel_at_period_end"] is False
            # the per-transaction lock_timeout holds: a row lock held elsewhere
            # makes the request answer 503 after about a second, not hang
            holder = subprocess.Popen(["psql", "-X", "-q", DATABASE], stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
            holder.stdin.write(f"BEGIN; SELECT 1 FROM users WHERE id = '{users[0]}' FOR UPDATE; "
                               "SELECT pg_sleep(4); COMMIT;\n")
            holder.stdin.flush()
            time.sleep(0.5)
            started = time.time()
            status, body = fastcgi(instance, "POST", "/api/v1/subscription/cancel", token(users[0]))
            took = time.time() - started
            holder.stdin.close()
            holder.wait(10)
            assert status == 503 and body["code"] == "unavailable", (status, body)
            assert 0.8 < took < 3, took
        finally:
            instance.stop(signal.SIGTERM, 15)
    assert check_consistency() == []


def test_named_statements_break_under_transaction_pooling():
    # what PF_DATABASE_POOLING=transaction is for: without it, statements
    # prepared on one server connection are missing on the other
    users = [subscribe(plan="pro")[0] for _ in range(8)]
    workdir = tempfile.mkdtemp(prefix="pf-pooled-")
    with Bouncer() as bouncer:
        instance = AppInstance({"PF_DATABASE": bouncer.conninfo, "PF_THREADS": "8"},
                               tcp=True, workdir=workdir, name="named")
        # not start()'s wait for /healthz: the port listening is enough here
        instance.start(wait=False)
        try:
            assert wait_until(lambda: listening(instance.port), 15), instance.output(2000)
            statuses = toggles(instance, users, 4)
            assert any(s != 200 for s in statuses), "named statements worked through a transaction pool"
        finally:
            instance.stop(signal.SIGKILL)


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
