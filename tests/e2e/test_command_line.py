"""The programs' command lines and pf-account's configuration errors:
--version (configure's version), --help, --check-config (the effective
settings without a secret; 0 or 1), an unknown key in the PF_CONFIG file
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
