"""mail.py: helpers for the mailer tests: the SMTP server (smtp_sink.py, a
real aiosmtpd in its own process), pf-mailer's configuration, runs and
daemons, and reading what the server received."""
import base64, email, email.policy, glob, json, os, shutil, signal, socket, subprocess
import tempfile, time
from harness import *

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("PF_BUILD_DIR", SRC)
MAILER = os.path.join(BUILD, "pf-mailer")
SUPPORT = "support-desk@personaforge.example"
FROM = "PersonaForge <no-reply@personaforge.xyz>"


def sink_python():
    """The interpreter that has aiosmtpd: Debian's python3-aiosmtpd installs
    for /usr/bin/python3, which may not be the python3 running the suite."""
    for exe in (os.environ.get("PF_SMTP_PYTHON"), "/usr/bin/python3", "python3"):
        if exe and subprocess.run([exe, "-c", "import aiosmtpd"], capture_output=True).returncode == 0:
            return exe
    raise AssertionError("no python3 with aiosmtpd (apt-get install python3-aiosmtpd)")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(pred, timeout=30, step=0.1, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        value = pred()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Received:
    """One message the server accepted."""

    def __init__(self, record):
        self.mail_from = record["mail_from"]
        self.rcpt_tos = record["rcpt_tos"]
        self.raw = base64.b64decode(record["data"])
        self.msg = email.message_from_bytes(self.raw, policy=email.policy.default)

    def __getitem__(self, name):
        return self.msg[name]

    @property
    def text(self):
        return self.msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")

    @property
    def outbox_id(self):
        """pf-outbox-<id>-<index>@domain -> (id, index)"""
        local = self.msg["Message-ID"].strip("<>").split("@")[0]
        _, _, oid, index = local.split("-")
        return int(oid), int(index)

    def headers_text(self):
        return self.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")

    def __repr__(self):
        return f"<mail to {self.rcpt_tos} {self.msg['Subject']!r} {self.msg['Message-ID']}>"


class SmtpSink:
    """The SMTP server on a fixed port, startable and stoppable."""

    def __init__(self, port=None, reject=None, tempfail=None, data_delay=0, auth=None,
                 reply_delay=0):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="pf-mail-")
        self.args = []
        if reject:
            self.args += ["--reject", reject]
        if tempfail:
            self.args += ["--tempfail", tempfail]
        if data_delay:
            self.args += ["--data-delay", str(data_delay)]
        if auth:
            self.args += ["--auth", auth]
        if reply_delay:
            self.args += ["--reply-delay", str(reply_delay)]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([sink_python(), os.path.join(HERE, "smtp_sink.py"),
                                      "--port", str(self.port), "--dir", self.dir] + self.args,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"the SMTP sink did not start: {line} {self.proc.stderr.read()}"
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def messages(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.dir, "[0-9]*.json"))):
            with open(path) as f:
                out.append(Received(json.load(f)))
        return out

    def to(self, address):
        return [m for m in self.messages() if address in m.rcpt_tos]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def config(port, **settings):
    """A PF_CONFIG file for the mailer against this stack; returns its path."""
    values = {
        "PF_DATABASE": DATABASE,
        "PF_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "PF_SMTP_STARTTLS": "no",
        "PF_MAIL_FROM": FROM,
        "PF_SUPPORT_EMAIL": SUPPORT,
        "PF_MAIL_TEMPLATES": os.path.join(SRC, "mail"),
        "PF_SMTP_TIMEOUT_SECONDS": "5",
        "PF_MAIL_BACKOFF_BASE_SECONDS": "1",
        "PF_MAIL_BACKOFF_MAX_SECONDS": "2",
        "PF_MAIL_SWEEP_SECONDS": "1",
    }
    values.update({k: str(v) for k, v in settings.items()})
    fd, path = tempfile.mkstemp(prefix="pf-mailer-", suffix=".conf")
    with os.fdopen(fd, "w") as f:
        for k, v in values.items():
            f.write(f"{k}={v}\n")
    return path


def mailer_env(conf):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PF_")}
    env["PF_CONFIG"] = conf
    return env


def run_once(conf, rc=None, timeout=120):
    p = subprocess.run([MAILER, "--once"], env=mailer_env(conf), capture_output=True, text=True,
                       timeout=timeout)
    if rc is not None:
        assert p.returncode == rc, f"exit {p.returncode}: {p.stderr[-3000:]}"
    return p


def start_daemon(conf):
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([MAILER], env=mailer_env(conf), stdout=log, stderr=subprocess.STDOUT,
                            text=True)
    proc.log = log
    return proc


def stop_daemon(proc, sig=signal.SIGTERM):
    """Stops it; returns (exit status, its log)."""
    if proc.poll() is None:
        proc.send_signal(sig)
    rc = proc.wait(30)
    proc.log.seek(0)
    return rc, proc.log.read()


def drain():
    """Sends whatever the rest of the suite left in the outbox, rows waiting
    out a backoff included (at most 2 s in these configurations), so that a
    test's runs see only its own rows (to a sink of its own)."""
    all_pending = lambda: int(sql_value(
        "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL"))
    with SmtpSink() as sink:
        conf = config(sink.port)
        try:
            run_once(conf, timeout=600)
            wait_until(lambda: run_once(conf) and all_pending() == 0, 30, step=0.5,
                       what="the outbox left by earlier tests to drain")
        finally:
            os.unlink(conf)


def outbox_rows(uid):
    """(id, event, delivered, failed, attempts, messages_sent, last_error) in id order."""
    rows = sql("SELECT id, event, delivered_at IS NOT NULL, failed_at IS NOT NULL, attempts,"
               " messages_sent, coalesce(last_error, '') FROM outbox WHERE user_id = :'p1'"
               " ORDER BY id", uid)
    return [(int(r[0]), r[1], r[2] == "t", r[3] == "t", int(r[4]), int(r[5]), r[6]) for r in rows]


def pending(uids):
    return int(sql_value("SELECT count(*) FROM outbox WHERE user_id = ANY (string_to_array(:'p1', ','))"
                         " AND delivered_at IS NULL AND failed_at IS NULL", ",".join(uids)))


def date_words(rfc3339):
    t = time.gmtime(parse_iso(rfc3339))
    return f"{t.tm_mday} {time.strftime('%B %Y', t)}"
