"""RS256 and ES256 configured for real. A second pf-account, on its own
socket, reads the stack's configuration with PF_JWT_ALG and PF_JWT_KEY_FILE
set to a PEM public key (the test-only keys of tests/unit/fixtures). It
parses the key once at start (lib/auth_pubkey.c) and keeps verifying with
it request after request; it refuses tokens signed otherwise, and refuses
to start with a key that does not fit the algorithm."""
import json, os, subprocess
from harness import *
from app_instance import AppInstance
from test_auth import FIXTURES, rs256_token, with_keys


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


def keyed_app(alg, key_file):
    """pf-account with the stack's configuration and another key."""
    return AppInstance({"PF_JWT_ALG": alg, "PF_JWT_KEY_FILE": key_file, "PF_THREADS": "2"},
                       suite_env=True, prefix="pf-keys-").start(wait=False)


def account(app, tok):
    """(status, body) of GET /api/v1/account with tok."""
    status, _, body = app.ask("GET", "/api/v1/account", {"HTTP_AUTHORIZATION": "Bearer " + tok})
    return status, json.loads(body)


def check_configured(alg, key_file, sign, other_sign):
    app = keyed_app(alg, key_file)
    try:
        app.wait_ready()
        uid = new_id()
        # the key parsed at start serves request after request
        for _ in range(3):
            status, body = account(app, sign(claims_for(uid)))
            assert status == 200, body
            assert body["user"]["id"] == uid, body
        status, body = account(app, other_sign(claims_for(uid)))
        assert status == 401 and body["code"] == "invalid_token", body
        status, body = account(app, token(uid))      # the stack's HS256 secret
        assert status == 401 and body["code"] == "invalid_token", body
        forged = sign(claims_for(uid))
        forged = forged[:-6] + ("A" if forged[-6] != "A" else "B") + forged[-5:]
        status, body = account(app, forged)
        assert status == 401 and body["code"] == "invalid_token", body
        # a claim twice: jansson would keep the last one, here another user
        other = new_id()
        status, body = account(app, sign(with_keys(claims_for(uid))))
        assert status == 200 and body["user"]["id"] == uid, body
        status, body = account(app, sign(with_keys(claims_for(uid), after=f'"sub":"{other}"')))
        assert status == 401 and body["code"] == "invalid_token", body
        status, body = account(app, sign(with_keys(claims_for(uid), after='"role":"user","role":"service"')))
        assert status == 401 and body["code"] == "invalid_token", body
    finally:
        app.close()


def test_rs256_configured_verifies_with_the_public_key():
    check_configured("RS256", os.path.join(FIXTURES, "rsa_public.pem"), rs256_token, es256_token)


def test_es256_configured_verifies_with_the_public_key():
    check_configured("ES256", os.path.join(FIXTURES, "ec_public.pem"), es256_token, rs256_token)


def test_a_key_that_does_not_fit_the_algorithm_stops_the_start():
    for alg, key in (("RS256", "ec_public.pem"), ("ES256", "rsa_public.pem"),
                     ("ES256", "ec384_public.pem"), ("RS256", "rsa_private.pem")):
        app = keyed_app(alg, os.path.join(FIXTURES, key))
        try:
            code = app.proc.wait(10)
            assert code != 0, (alg, key)
            assert not os.path.exists(app.socket), (alg, key)
            assert "unusable PF_JWT key" in app.output(), (alg, key)
        finally:
            app.close()
