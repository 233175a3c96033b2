"""app_instance.py: a second pf-account beside the suite's stack, for the
tests that need the app configured otherwise (another key, CORS origins,
PostgreSQL through a proxy or a pool, TCP listeners): the stack's
configuration file with some settings replaced, in a directory of its own,
on its own unix socket or TCP port, with its output in a log file; started,
waited for, asked over FastCGI as nginx asks it, and stopped. One copy of
what test_cors, test_auth_public_keys, test_db_faults, test_instances and
test_pgbouncer each did by hand; test_failover, whose app runs under
scripts/stack, writes its configuration with write_config."""
import os, shutil, signal, socket, subprocess, tempfile, time
from test_fastcgi_hop import fastcgi_request, read_answer

STACK_DIR = os.environ.get("PF_STACK_DIR", "/tmp/personaforge-stack")
APP = os.path.join(os.environ.get("PF_BUILD_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")),
                   "pf-account")


def free_ports(n):
    """n distinct free loopback ports (bound together, so none twice)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def write_config(path, settings, drop=()):
    """Writes at path the stack's pf-account.conf with settings (name:
    value) in place of its lines for those names, and the names in drop
    left out. Mode 0600: the file holds the stack's secrets, and the app
    warns about a file others can read."""
    lines = [line.rstrip("\n") for line in open(os.path.join(STACK_DIR, "pf-account.conf"))
             if line.split("=", 1)[0] not in settings and line.split("=", 1)[0] not in drop]
    lines += [f"{k}={v}" for k, v in settings.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)


def clean_env():
    """The environment without the suite's PF_ variables: the environment
    overrides the configuration file, and the suite's PF_DATABASE,
    PF_PROCESSES and PF_THREADS (run-all.sh, scripts/stack env) would
    replace what the file says."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PF_")}


class AppInstance:
    """pf-account with the stack's configuration and settings in place of
    some of it; PF_PROCESSES=1 unless settings say otherwise. On its own unix
    socket (self.socket), or with tcp on a free loopback port (self.port:
    PF_LISTEN, PF_FASTCGI_ALLOW=127.0.0.1 unless settings say otherwise).
    drop: configuration lines left out with no replacement. env: variables
    added to its environment; suite_env: the suite's PF_ variables stay in
    it, overriding the file (what the CORS and key tests have always run
    with), else they are left out. workdir: where its files go (kept);
    without it, a temporary directory that close() removes. Its stdout and
    stderr go to self.log_path, appended across restarts."""

    def __init__(self, settings, drop=(), env=None, suite_env=False, tcp=False, workdir=None,
                 name="app", prefix="pf-app-"):
        self.name = name
        self.own_dir = workdir is None
        self.dir = tempfile.mkdtemp(prefix=prefix) if workdir is None else workdir
        self.log_path = os.path.join(self.dir, f"{name}.log")
        self.config = os.path.join(self.dir, f"{name}.conf")
        self.port = free_ports(1)[0] if tcp else None
        if tcp:
            # PF_SOCKET is not used with PF_LISTEN; it names a file of this instance all the same
            defaults = {"PF_LISTEN": f"127.0.0.1:{self.port}", "PF_FASTCGI_ALLOW": "127.0.0.1",
                        "PF_SOCKET": os.path.join(self.dir, f"{name}.unused.sock")}
        else:
            defaults = {"PF_SOCKET": os.path.join(self.dir, f"{name}.sock")}
        defaults["PF_PROCESSES"] = "1"
        settings = {**defaults, **settings}
        self.socket = settings["PF_SOCKET"]
        write_config(self.config, settings, drop)
        self.env = {**(os.environ if suite_env else clean_env()), **(env or {}), "PF_CONFIG": self.config}
        self.proc = None

    def start(self, wait=True, timeout=10):
        """Starts the app; with wait, returns once it answers (ready())."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([APP], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready(timeout)
        return self

    def ready(self):
        """On a unix socket: the socket file is there (the app made it
        listening); on TCP, where nothing shows the listener: /healthz
        answers 200."""
        return self.serving() if self.port else os.path.exists(self.socket)

    def wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        while not self.ready():
            assert self.proc.poll() is None, f"{self.name} ended: {self.output()}"
            assert time.time() < deadline, f"{self.name} did not start: {self.output()}"
            time.sleep(0.05)

    def serving(self):
        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            return self.exchange("GET", "/healthz", timeout=2).startswith(b"Status: 200")
        except (OSError, AssertionError):
            return False

    def exchange(self, method, uri, headers=None, body=b"", timeout=5):
        """The FastCGI stdout of one request (nginx's HTTP_* parameters in
        headers); no answer within timeout seconds fails the test."""
        if self.port:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        else:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if not self.port:
                s.connect(self.socket)
            s.sendall(fastcgi_request(method, uri, body=body, headers=headers or {}))
            try:
                stdout, _ = read_answer(s, timeout=timeout)
            except socket.timeout:
                raise AssertionError(f"no answer within {timeout} s")
        finally:
            s.close()
        return stdout

    def ask(self, method, uri, headers=None, body=b"", timeout=5):
        """(status, {lowercase header: value}, body) of one request."""
        head, _, payload = self.exchange(method, uri, headers, body, timeout).partition(b"\r\n\r\n")
        hdrs = {}
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            hdrs[name.strip().lower()] = value.strip()
        return int(hdrs["status"][:3]), hdrs, payload

    def output(self, tail=None):
        """What the app wrote (its last tail characters)."""
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return text[-tail:] if tail else text

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig and waits for the app to end; kills it if it has not
        within timeout. Returns whether it ended by itself (True when it was
        not running)."""
        if self.proc is None or self.proc.poll() is not None:
            return True
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return False

    def close(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
