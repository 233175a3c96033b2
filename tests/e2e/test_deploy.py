"""make install: what it lays out under DESTDIR works where it lands.

`make install DESTDIR=<tmp>` once (the module's first test to need it runs
it), then: the package's data (migrations, mail templates, reference pages)
is all under $(datadir)/personaforge, where the mailer and the nginx site
look for it; every systemd unit passes `systemd-analyze verify`; the nginx
site and snippet pass `nginx -t` beside Debian's default site, in a copy of
the stock /etc/nginx; the installed migrate.sh brings an empty database (a
fresh one in the suite's PostgreSQL) to the schema the suite runs on, and a
second run changes nothing; the manual pages pass `mandoc -Tlint`; `make uninstall` leaves no file
behind.

The installed files name their final paths (/usr/local/bin/pf-account, ...),
which do not exist on this host: the checks run on copies with those paths
moved under DESTDIR. systemd 252's `verify --root=DESTDIR` does not do: it
looks for sysinit.target and the rest of systemd's own units in that root."""
import atexit, os, re, shutil, subprocess, tempfile, uuid
from harness import *

BUILD = os.environ.get("PF_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_state = {}


def install_dirs():
    out = subprocess.run(["make", "-s", "-C", BUILD, "--no-print-directory", "print-install-dirs"],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def installed():
    """DESTDIR and the configured paths, installing once."""
    if "destdir" not in _state:
        destdir = tempfile.mkdtemp(prefix="pf-destdir-")
        atexit.register(shutil.rmtree, destdir, True)
        r = subprocess.run(["make", "-s", "-C", BUILD, "install", "DESTDIR=" + destdir],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        _state["destdir"] = destdir
        _state.update(install_dirs())
    return _state


def under(path):
    return installed()["destdir"] + path


def test_install_lays_out_everything():
    s = installed()
    expected = [s["bindir"] + "/" + p for p in ("pf-account", "pf-billing-cycle", "pf-mailer")]
    expected += [s["systemdsystemunitdir"] + "/" + u for u in
                 ("pf-account.service", "pf-billing-cycle.service", "pf-billing-cycle.timer",
                  "pf-mailer.service")]
    expected += [s["sysusersdir"] + "/personaforge.conf", s["tmpfilesdir"] + "/personaforge.conf",
                 s["sysconfdir"] + "/nginx/sites-available/personaforge",
                 s["sysconfdir"] + "/nginx/snippets/fastcgi-personaforge.conf",
                 s["sysconfdir"] + "/personaforge/pf-account.conf.example",
                 s["pfdatadir"] + "/migrate.sh"]
    expected += [s["pfdatadir"] + "/migrations/" + f
                 for f in os.listdir(os.path.join(SRC, "sql", "migrations"))
                 if re.match(r"^\d{3}_.*\.sql$", f)]
    expected += [s["pfdatadir"] + "/personaforge.json"]
    # the mail templates and the reference pages beside the migrations
    expected += [s["pfdatadir"] + "/mail/" + f for f in os.listdir(os.path.join(SRC, "mail"))
                 if f.endswith((".txt", ".html"))]
    expected += [s["pfdatadir"] + "/web/" + d + "/" + f for d in ("account", "support", "shared")
                 for f in os.listdir(os.path.join(SRC, "web", d))]
    expected += [s["mandir"] + "/man8/" + m for m in ("pf-account.8", "pf-billing-cycle.8", "pf-mailer.8")]
    expected += [s["mandir"] + "/man5/pf-account.conf.5"]
    missing = [p for p in expected if not os.path.isfile(under(p))]
    assert not missing, missing
    mode = os.stat(under(s["sysconfdir"] + "/personaforge/pf-account.conf.example")).st_mode & 0o777
    assert mode == 0o640, oct(mode)
    # no placeholder is left in anything installed as text
    for root, _, files in os.walk(s["destdir"]):
        for f in files:
            data = open(os.path.join(root, f), "rb").read()
            if b"\0" in data:
                continue
            for line in data.decode().splitlines():
                if not line.lstrip().startswith("#"):
                    assert not re.search(r"@[A-Za-z_]+@", line), (f, line)
    unit = open(under(s["systemdsystemunitdir"] + "/pf-account.service")).read()
    assert "ExecStart=" + s["bindir"] + "/pf-account\n" in unit, unit


def test_data_under_one_directory():
    """The package's data is all under pfdatadir ($(datadir)/personaforge):
    nothing under the package-named $(pkgdatadir) or elsewhere in datadir
    but the manual pages, and what names the data finds it there."""
    s = installed()
    assert s["pkgdatadir"] != s["pfdatadir"], s
    assert not os.path.exists(under(s["pkgdatadir"])), s["pkgdatadir"]
    stray = [os.path.join(root, f)[len(s["destdir"]):]
             for root, _, files in os.walk(under(s["datadir"])) for f in files]
    stray = [p for p in stray if not p.startswith((s["pfdatadir"] + "/", s["mandir"] + "/"))]
    assert not stray, stray
    # the nginx site serves the pages from there
    site = open(under(s["sysconfdir"] + "/nginx/sites-available/personaforge")).read()
    roots = re.findall(r"(?m)^\s*root\s+(\S+);", site)
    assert roots == [s["pfdatadir"] + "/web"], roots
    for d in ("account", "support"):
        assert os.path.isfile(under(roots[0] + "/" + d + "/index.html")), d
    # pf-mailer's default PF_MAIL_TEMPLATES is the installed mail/
    mailer = open(under(s["bindir"] + "/pf-mailer"), "rb").read()
    assert (s["pfdatadir"] + "/mail\0").encode() in mailer
    assert b"personaforge-account/mail" not in mailer


def test_man_pages_pass_mandoc_lint():
    s = installed()
    pages = [os.path.join(root, f) for root, _, files in os.walk(under(s["mandir"])) for f in files]
    assert len(pages) == 4, pages
    # -Wwarning: warnings and worse; style notes (mandoc.db) are the host's
    r = subprocess.run(["mandoc", "-Tlint", "-Wwarning"] + sorted(pages), capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr


def exposure(unit_file):
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", unit_file],
                       capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    return float(m.group(1))


def test_app_unit_sandboxed_as_the_billing_cycle():
    s = installed()
    unitdir = under(s["systemdsystemunitdir"])
    app = os.path.join(unitdir, "pf-account.service")
    settings = set(l.strip() for l in open(app) if not l.startswith("#"))
    for line in ("ProtectSystem=strict", "PrivateDevices=yes", "ProtectKernelTunables=yes",
                 "ProtectKernelModules=yes", "ProtectKernelLogs=yes", "ProtectControlGroups=yes",
                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "CapabilityBoundingSet=",
                 "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes",
                 "LockPersonality=yes", "RestrictNamespaces=yes", "NoNewPrivileges=yes",
                 # the master drains its workers: SIGTERM to it alone
                 "KillMode=mixed"):
        assert line in settings, line
    scores = {u: exposure(os.path.join(unitdir, u))
              for u in ("pf-account.service", "pf-billing-cycle.service", "pf-mailer.service")}
    print("systemd-analyze security:", scores)
    assert scores["pf-account.service"] <= scores["pf-billing-cycle.service"], scores


def test_units_pass_systemd_analyze_verify():
    s = installed()
    unitdir = under(s["systemdsystemunitdir"])
    with tempfile.TemporaryDirectory() as tmp:
        for name in os.listdir(unitdir):
            text = open(os.path.join(unitdir, name)).read()
            # the programs as installed under DESTDIR: verify checks they exist
            text = text.replace("=" + s["bindir"] + "/", "=" + under(s["bindir"]) + "/")
            open(os.path.join(tmp, name), "w").write(text)
        r = subprocess.run(["systemd-analyze", "verify"] + sorted(
            os.path.join(tmp, n) for n in os.listdir(tmp)), capture_output=True, text=True)
        # verify exits 0 on unknown keys and the like: any message is a failure
        assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr


def test_nginx_site_beside_debian_default():
    s = installed()
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "nginx")
        shutil.copytree("/etc/nginx", conf, symlinks=True)
        text = open(os.path.join(conf, "nginx.conf")).read()
        text = text.replace("/etc/nginx/", conf + "/")
        text = re.sub(r"(?m)^pid .*$", f"pid {tmp}/nginx.pid;", text)
        text = re.sub(r"(?m)^(\s*)(error|access)_log .*$", rf"\1\2_log {tmp}/\2.log;", text)
        open(os.path.join(conf, "nginx.conf"), "w").write(text)
        enabled = os.path.join(conf, "sites-enabled")
        # Debian's default site stays enabled (a copy: the stock symlink is absolute)
        default = os.path.join(enabled, "default")
        if os.path.islink(default):
            target = os.path.realpath(default)
            os.unlink(default)
            shutil.copy(target, default)
        assert os.path.isfile(default), "no default site in /etc/nginx/sites-enabled"
        site = open(under(s["sysconfdir"] + "/nginx/sites-available/personaforge")).read()
        site = site.replace(s["sysconfdir"] + "/nginx/", under(s["sysconfdir"]) + "/nginx/")
        open(os.path.join(enabled, "personaforge"), "w").write(site)
        r = subprocess.run(["nginx", "-t", "-c", os.path.join(conf, "nginx.conf"), "-p", tmp,
                            "-e", os.path.join(tmp, "error.log")], capture_output=True, text=True)
        out = r.stdout + r.stderr
        assert r.returncode == 0, out
        # a clash with the default site (same listen, same name) is only a warning
        assert "[warn]" not in out and "[emerg]" not in out, out
        assert "personaforge" in subprocess.run(
            ["nginx", "-T", "-c", os.path.join(conf, "nginx.conf"), "-p", tmp,
             "-e", os.path.join(tmp, "error.log")], capture_output=True, text=True).stdout


def schema(database):
    """Tables, columns, constraints, indexes, functions and triggers of public."""
    query = """
SELECT 'col', table_name, column_name, data_type, is_nullable, coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL SELECT 'con', conrelid::regclass::text, conname, pg_get_constraintdef(oid), '', ''
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL SELECT 'idx', tablename, indexname, indexdef, '', ''
  FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'fn', proname, md5(prosrc), '', '', ''
  FROM pg_proc WHERE pronamespace = 'public'::regnamespace
UNION ALL SELECT 'trg', tgrelid::regclass::text, tgname, '', '', ''
  FROM pg_trigger WHERE NOT tgisinternal
UNION ALL SELECT 'mig', version, '', '', '', '' FROM schema_migrations
ORDER BY 1, 2, 3, 4"""
    return subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", database],
                          input=query, capture_output=True, text=True, check=True).stdout


def test_installed_migrate_script_from_empty_and_again():
    s = installed()
    name = "pf_deploy_" + uuid.uuid4().hex[:8]
    fresh = re.sub(r"dbname=\S+", "dbname=" + name, DATABASE)
    sql(f"CREATE DATABASE {name}")
    try:
        script = under(s["pfdatadir"] + "/migrate.sh")
        first = subprocess.run([script, fresh], capture_output=True, text=True)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "applied 001_schema" in first.stdout, first.stdout
        migrated = schema(fresh)
        assert migrated == schema(DATABASE), "the installed migrations differ from the suite's schema"
        again = subprocess.run([script, fresh], capture_output=True, text=True)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "applied" not in again.stdout, again.stdout
        assert schema(fresh) == migrated
    finally:
        sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_zz_uninstall_leaves_nothing():
    s = installed()
    r = subprocess.run(["make", "-s", "-C", BUILD, "uninstall", "DESTDIR=" + s["destdir"]],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    left = [os.path.join(root, f) for root, _, files in os.walk(s["destdir"]) for f in files]
    # the next test of this module (if any) installs afresh
    del _state["destdir"]
    assert not left, left
