"""RS256 and ES256 configured for real. A second pf-account, on its own
socket, reads the stack's configuration with PF_JWT_ALG and PF_JWT_KEY_FILE
set to a PEM public key (the test-only keys of tests/unit/fixtures). It
parses the key once at start (lib/auth_pubkey.c) and keeps verifying with
it request after request; it refuses tokens signed otherwise, and refuses
to start with a key that does not fit the algorithm."""
import json, os, shutil, socket, subprocess, tempfile, time
from harness import *
from test_auth import FIXTURES, rs256_token, with_keys
from test_fastcgi_hop import fastcgi_request, read_answer

STACK_DIR = os.environ.get("PF_STACK_DIR", "/tmp/personaforge-stack")
APP = os.path.join(os.environ.get("PF_BUILD_DIR", os.path.join(FIXTURES, "..", "..", "..")),
                   "pf-account")


def es256_token(c):
    """Signs c with ES256 using the openssl CLI, the DER signature turned
    into JOSE's r || s (RFC 7518 3.4). c: claims, or the payload's exact
    JSON text."""
    head = b64url(json.dumps({"alg": "ES256", "typ": "JWT"}).encode())
    body = b64url((c if isinstance(c, str) else json.dumps(c)).encode())
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", os.path.join(FIXTURES, "ec_private.pem")],
                         input=f"{head}.{body}".encode(), capture_output=True, check=True).stdout
    assert der[0] == 0x30
    at = 2 if der[1] < 0x80 else 3
    numbers = []
    for _ in range(2):
        assert der[at] == 0x02
        n = der[at + 1]
        numbers.append(der[at + 2:at + 2 + n].lstrip(b"\0").rjust(32, b"\0"))
        at += 2 + n
    return f"{head}.{body}.{b64url(numbers[0] + numbers[1])}"


class KeyedApp:
    """pf-account with the stack's configuration and another key."""

    def __init__(self, alg, key_file):
        self.dir = tempfile.mkdtemp(prefix="pf-keys-")
        self.socket = os.path.join(self.dir, "app.sock")
        lines = []
        for line in open(os.path.join(STACK_DIR, "pf-account.conf")):
            name = line.split("=", 1)[0]
            if name not in ("PF_JWT_ALG", "PF_JWT_KEY_FILE", "PF_SOCKET", "PF_PROCESSES", "PF_THREADS"):
                lines.append(line.rstrip("\n"))
        lines += [f"PF_JWT_ALG={alg}", f"PF_JWT_KEY_FILE={key_file}", f"PF_SOCKET={self.socket}",
                  "PF_PROCESSES=1", "PF_THREADS=2"]
        config = os.path.join(self.dir, "pf-account.conf")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(config, 0o600)
        self.proc = subprocess.Popen([APP], env={**os.environ, "PF_CONFIG": config},
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def wait_listening(self):
        deadline = time.time() + 10
        while not os.path.exists(self.socket):
            assert self.proc.poll() is None, self.output()
            assert time.time() < deadline, "the app did not start"
            time.sleep(0.05)

    def output(self):
        self.stop()
        return self.proc.stdout.read().decode(errors="replace")

    def account(self, tok):
        """(status, body) of GET /api/v1/account with tok."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.socket)
        try:
            s.sendall(fastcgi_request("GET", "/api/v1/account",
                                      headers={"HTTP_AUTHORIZATION": "Bearer " + tok}))
            stdout, _ = read_answer(s)
        finally:
            s.close()
        head, _, body = stdout.partition(b"\r\n\r\n")
        status = int(head.split(b"Status: ", 1)[1][:3])
        return status, json.loads(body)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def check_configured(alg, key_file, sign, other_sign):
    app = KeyedApp(alg, key_file)
    try:
        app.wait_listening()
        uid = new_id()
        # the key parsed at start serves request after request
        for _ in range(3):
            status, body = app.account(sign(claims_for(uid)))
            assert status == 200, body
            assert body["user"]["id"] == uid, body
        status, body = app.account(other_sign(claims_for(uid)))
        assert status == 401 and body["code"] == "invalid_token", body
        status, body = app.account(token(uid))      # the stack's HS256 secret
        assert status == 401 and body["code"] == "invalid_token", body
        forged = sign(claims_for(uid))
        forged = forged[:-6] + ("A" if forged[-6] != "A" else "B") + forged[-5:]
        status, body = app.account(forged)
        assert status == 401 and body["code"] == "invalid_token", body
        # a claim twice: jansson would keep the last one, here another user
        other = new_id()
        status, body = app.account(sign(with_keys(claims_for(uid))))
        assert status == 200 and body["user"]["id"] == uid, body
        status, body = app.account(sign(with_keys(claims_for(uid), after=f'"sub":"{other}"')))
        assert status == 401 and body["code"] == "invalid_token", body
        status, body = app.account(sign(with_keys(claims_for(uid), after='"role":"user","role":"service"')))
        assert status == 401 and body["code"] == "invalid_token", body
    finally:
        app.stop()


def test_rs256_configured_verifies_with_the_public_key():
    check_configured("RS256", os.path.join(FIXTURES, "rsa_public.pem"), rs256_token, es256_token)


def test_es256_configured_verifies_with_the_public_key():
    check_configured("ES256", os.path.join(FIXTURES, "ec_public.pem"), es256_token, rs256_token)


def test_a_key_that_does_not_fit_the_algorithm_stops_the_start():
    for alg, key in (("RS256", "ec_public.pem"), ("ES256", "rsa_public.pem"),
                     ("ES256", "ec384_public.pem"), ("RS256", "rsa_private.pem")):
        app = KeyedApp(alg, os.path.join(FIXTURES, key))
        try:
            code = app.proc.wait(10)
            assert code != 0, (alg, key)
            assert not os.path.exists(app.socket), (alg, key)
            assert b"unusable PF_JWT key" in app.proc.stdout.read(), (alg, key)
        finally:
            app.stop()
