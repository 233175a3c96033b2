"""The programs' command lines and pf-account's configuration errors:
--version (configure's version), --help, --check-config (the effective
settings without a secret, a line for every key fcgi/app_config.c's
app_keys[] lists, each showing the value set; 0 or 1), pf-account.conf(5)
naming the same keys as the programs accept, an unknown key in the PF_CONFIG file
refused with its file and line, blanks around '=' trimmed, a file others
can read warned about. Needs no stack: each run has its own files and an
environment without the suite's PF_ variables."""
import os, re, subprocess, tempfile
from harness import *

BUILD = os.environ.get("PF_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
APP = os.path.join(BUILD, "pf-account")
SECRET_TEXT = "k" * 40
DB_PASSWORD = "pw-" + "x" * 12


def version():
    text = open(os.path.join(SRC, "configure.ac")).read()
    return re.search(r"AC_INIT\(\[[^]]*\], \[([^]]*)\]", text).group(1)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PF_")}
    env.update(extra)
    return env


def run(args, config_text=None, mode=0o600):
    with tempfile.TemporaryDirectory() as tmp:
        env = clean_env()
        if config_text is not None:
            path = os.path.join(tmp, "pf-account.conf")
            with open(path, "w") as f:
                f.write(config_text)
            os.chmod(path, mode)
            env["PF_CONFIG"] = path
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=30)
        return r, env.get("PF_CONFIG")


GOOD = f"""# comment
PF_DATABASE = host=/run/postgresql dbname=personaforge password={DB_PASSWORD}
  PF_JWT_ALG=HS256
PF_JWT_KEY =  {SECRET_TEXT}
PF_JWT_ISSUER=https://auth.example.com
PF_JWT_AUDIENCE=personaforge-account
PF_THREADS = 3
PF_SMTP_URL=smtp://localhost:25
"""


def test_versions():
    for program in ("pf-account", "pf-billing-cycle", "pf-mailer"):
        r = subprocess.run([os.path.join(BUILD, program), "--version"], capture_output=True,
                           text=True, env=clean_env(), timeout=30)
        assert r.returncode == 0 and r.stdout == f"{program} {version()}\n", (program, r)


def test_help_and_bad_argument():
    r, _ = run([APP, "--help"])
    assert r.returncode == 0 and "--check-config" in r.stdout, r
    r, _ = run([APP, "--no-such-option"])
    assert r.returncode == 2 and "--no-such-option" in r.stderr, r


def test_check_config_good_prints_settings_without_secrets():
    r, path = run([APP, "--check-config"], GOOD)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    # blanks around '=' and around the line are not part of keys or values
    assert "PF_THREADS=3" in lines, r.stdout
    assert "PF_JWT_ALG=HS256" in lines, r.stdout
    assert "PF_JWT_AUDIENCE=personaforge-account" in lines, r.stdout
    assert f"PF_JWT_KEY=(hidden, {len(SECRET_TEXT)} bytes)" in lines, r.stdout
    assert any(l.startswith("PF_DATABASE=") and "dbname=personaforge" in l and "password=(hidden)" in l
               for l in lines), r.stdout
    assert SECRET_TEXT not in r.stdout + r.stderr and DB_PASSWORD not in r.stdout + r.stderr
    assert "readable by every user" not in r.stderr, r.stderr


def config_keys(table):
    """The keys of one of fcgi/app_config.c's tables (app_keys: pf-account's,
    mailer_keys: pf-mailer's), the list the file check accepts."""
    text = open(os.path.join(SRC, "fcgi", "app_config.c")).read()
    m = re.search(r"\b" + table + r"\[\] = \{(.*?)\};", text, re.S)
    assert m, f"no {table}[] in fcgi/app_config.c"
    keys = re.findall(r'"(PF_[A-Z0-9_]+)"', m.group(1))
    assert len(keys) >= 10, keys
    return keys


def shown_settings(stdout):
    """--check-config's KEY=VALUE lines (comments left out)."""
    return dict(l.split("=", 1) for l in stdout.splitlines() if "=" in l and not l.startswith("#"))


# what --check-config must show for each of pf-account's keys but the
# secret and the conninfo, when set to something other than its default:
# key -> (the value in the file, the line's value)
NON_DEFAULT = {
    "PF_DATABASE_POOLING": ("transaction", "transaction"),
    "PF_STATEMENT_TIMEOUT_MS": ("1234", "1234"),
    "PF_JWT_ALG": ("HS256", "HS256"),
    "PF_JWT_KEY_FILE": (None, None),   # a file of the test's: its path
    "PF_JWT_ISSUER": ("https://issuer.example", "https://issuer.example"),
    "PF_JWT_AUDIENCE": ("aud-check", "aud-check"),
    "PF_JWT_LEEWAY": ("5", "5"),
    "PF_SOCKET": ("/tmp/pf-check.sock", "/tmp/pf-check.sock"),
    "PF_SOCKET_MODE": ("0600", "0600"),
    "PF_SOCKET_GROUP": ("www-data", "www-data"),
    "PF_LISTEN": ("127.0.0.1:9000", "127.0.0.1:9000"),
    "PF_FASTCGI_ALLOW": ("10.1.2.0/24 ::1,192.0.2.7", "10.1.2.0/24, ::1, 192.0.2.7"),
    "PF_PROCESSES": ("2", "2"),
    "PF_THREADS": ("3", "3"),
    "PF_DRAIN_SECONDS": ("7", "7"),
    "PF_LOG_LEVEL": ("warn", "warn"),
    "PF_LOG_REQUESTS": ("off", "off"),
    "PF_METRICS": ("off", "off"),
    "PF_METRICS_REFRESH_SECONDS": ("42", "42"),
    "PF_CORS_ORIGINS": ("https://a.example, https://b.example", "https://a.example https://b.example"),
}


def test_check_config_prints_every_key_of_the_app():
    r, _ = run([APP, "--check-config"], GOOD)
    assert r.returncode == 0, r
    shown = shown_settings(r.stdout)
    missing = [k for k in config_keys("app_keys") if k not in shown]
    assert not missing, (missing, r.stdout)
    # the defaults of the log and metrics settings
    assert shown["PF_LOG_LEVEL"] == "info" and shown["PF_LOG_REQUESTS"] == "on", r.stdout
    assert shown["PF_METRICS"] == "on" and shown["PF_METRICS_REFRESH_SECONDS"] == "15", r.stdout
    assert shown["PF_JWT_KEY_FILE"] == "", r.stdout


def test_check_config_shows_each_setting_as_set():
    # the table above covers every key: a new key needs its line and its case
    assert set(NON_DEFAULT) | {"PF_DATABASE", "PF_JWT_KEY"} == set(config_keys("app_keys"))
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "jwt.key")
        open(key, "w").write(SECRET_TEXT + "\n")
        os.chmod(key, 0o600)
        settings = dict(NON_DEFAULT, PF_JWT_KEY_FILE=(key, key))
        text = f"PF_DATABASE=host=/run/postgresql dbname=personaforge password={DB_PASSWORD}\n"
        text += "".join(f"{k}={v}\n" for k, (v, _) in settings.items())
        r, _ = run([APP, "--check-config"], text)
    assert r.returncode == 0, r
    shown = shown_settings(r.stdout)
    wrong = {k: shown.get(k) for k, (_, want) in settings.items() if shown.get(k) != want}
    assert not wrong, (wrong, r.stdout)
    # the key from the file, by its length only (the newline is not part of it)
    assert shown["PF_JWT_KEY"] == f"(hidden, {len(SECRET_TEXT)} bytes)", r.stdout
    assert "password=(hidden)" in shown["PF_DATABASE"], r.stdout
    assert SECRET_TEXT not in r.stdout + r.stderr and DB_PASSWORD not in r.stdout + r.stderr
    # over TCP, the socket's lines are there but said to be unused
    assert "# FastCGI over TCP (PF_LISTEN): the PF_SOCKET settings are not used" in r.stdout, r.stdout


def test_manual_page_names_every_key():
    """pf-account.conf(5) lists the same keys as the tables the programs
    accept, each under its program."""
    text = open(os.path.join(SRC, "man", "pf-account.conf.5")).read()
    service = text.split(".Ss The service", 1)[1].split(".Ss The mailer", 1)[0]
    mailer = text.split(".Ss The mailer", 1)[1].split(".Sh ", 1)[0]
    assert set(re.findall(r"Ev (PF_[A-Z0-9_]+)", service)) == set(config_keys("app_keys"))
    assert set(re.findall(r"Ev (PF_[A-Z0-9_]+)", mailer)) == set(config_keys("mailer_keys"))


def test_check_config_unknown_key_names_file_and_line():
    r, path = run([APP, "--check-config"], GOOD.replace("PF_JWT_AUDIENCE", "PF_JWT_AUDIENSE"))
    assert r.returncode == 1 and r.stdout == "", r
    assert f"{path}:6: unknown key PF_JWT_AUDIENSE" in r.stderr, r.stderr


def test_mailer_keys_are_known_to_the_app_and_app_keys_to_the_mailer():
    # the two programs share the file: each accepts the other's keys
    r, _ = run([APP, "--check-config"], GOOD + "PF_MAIL_FROM=PersonaForge <no-reply@example.com>\n")
    assert r.returncode == 0, r
    r, _ = run([os.path.join(BUILD, "pf-mailer"), "--once"],
               GOOD.replace("PF_DATABASE = host=/run/postgresql", "PF_DATABASE = host=/nonexistent")
               + "PF_MAIL_FROM=PersonaForge <no-reply@example.com>\nPF_CORS_ORIGINS=https://a.example\n")
    assert "unknown key" not in r.stderr, r.stderr


def test_value_errors_name_file_and_line():
    r, path = run([APP, "--check-config"], GOOD.replace("PF_THREADS = 3", "PF_THREADS = many"))
    assert r.returncode == 1, r
    assert f"{path}:7: PF_THREADS must be a number" in r.stderr, r.stderr
    r, path = run([APP, "--check-config"], GOOD + "not a setting\n")
    assert r.returncode == 1 and f"{path}:9: not KEY=VALUE" in r.stderr, r.stderr
    r, path = run([APP, "--check-config"], GOOD + "PF_THREADS=4\n")
    assert r.returncode == 1 and f"{path}:9: PF_THREADS set again (first on line 7)" in r.stderr, r.stderr


def test_environment_is_not_checked_for_unknown_keys():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "c.conf")
        open(path, "w").write(GOOD)
        os.chmod(path, 0o600)
        r = subprocess.run([APP, "--check-config"], env=clean_env(PF_CONFIG=path, PF_NO_SUCH_KEY="1"),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r


def test_world_readable_config_and_key_file_warned():
    r, path = run([APP, "--check-config"], GOOD, mode=0o644)
    assert r.returncode == 0, r
    assert f"{path}: the configuration file is readable by every user" in r.stderr, r.stderr
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "key")
        open(key, "w").write(SECRET_TEXT)
        os.chmod(key, 0o644)
        text = GOOD.replace(f"PF_JWT_KEY =  {SECRET_TEXT}", f"PF_JWT_KEY_FILE={key}")
        r, _ = run([APP, "--check-config"], text)
        assert r.returncode == 0, r
        assert f"{key}: PF_JWT_KEY_FILE is readable by every user" in r.stderr, r.stderr
