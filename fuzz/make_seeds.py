#!/usr/bin/env python3
"""make_seeds.py: writes the seed corpora in fuzz/corpus/<target>/.

The committed seeds are this script's output; run it again after changing
it (python3 fuzz/make_seeds.py). Tokens use the constants of fuzz_jwt.c and
tests/unit/test_auth_jwt.c (clock 2026-01-01T00:00:00Z); RS256 and ES256
tokens are signed with openssl and the test-only keys in tests/unit/fixtures.
Seed names say what each one is; regression seeds start with "regress-".
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures")

NOW = 1767225600
ISS = "https://auth.personaforge.test/"
AUD = "personaforge-billing"
SECRET = b"test-only-hs256-secret-0123456789abcdef"


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- json_body: raw request bodies ----

def json_body():
    seeds = {
        "valid-cancel": '{"reason":"too_expensive","comment":"Too pricey.\\nThanks"}',
        "valid-cancel-nulls": '{"reason":null,"comment":null}',
        "valid-downgrade": '{"plan":"basic"}',
        "valid-internal-subscription":
            '{"user_id":"u_123","email":"ann@example.com","plan":"pro",'
            '"provider_ref":"cs_1","started_at":"2026-01-01T00:00:00Z"}',
        "valid-refund-request":
            '{"charge_id":"ch_1","reason":"duplicate_charge",'
            '"description":"Charged twice \\u00e9\\ud83d\\ude00","email":"a@b.c"}',
        "valid-internal-charge":
            '{"user_id":"u_1","kind":"credit_pack","amount_cents":999,"currency":"EUR",'
            '"provider_ref":"pi_9","charged_at":"2025-12-31T23:59:59.999+05:30",'
            '"credits":100,"period_start":"2024-02-29T00:00:00z"}',
        "duplicate-keys": '{"plan":"basic","plan":"pro"}',
        "duplicate-keys-nested": '{"plan":"x","o":{"a":1,"a":2}}',
        "deep-16": '{"plan":' + "[" * 15 + "]" * 15 + "}",
        "deep-17": '{"plan":' + "[" * 16 + "]" * 16 + "}",
        "deep-brackets-in-string": '{"plan":"' + "[" * 40 + '"}',
        "deep-escaped-quote": '{"plan":"\\"[[[[[[[[[[[[[[[[[[[["}',
        "nul-escape-value": '{"plan":"a\\u0000b"}',
        "nul-escape-key": '{"pl\\u0000an":"x"}',
        "nul-raw": b'{"plan":"a\x00b"}',
        "big-integer": '{"user_id":"u","kind":"subscription","amount_cents":'
                       '99999999999999999999999,"currency":"USD","provider_ref":"p"}',
        "int64-min-max": '{"note":"ok","amount_cents":-9223372036854775808}',
        "int64-max": '{"amount_cents":9223372036854775807}',
        "valid-task": '{"user_id":"u_1","kind":"try_on","credits":1000000000}',
        "valid-deny": '{"note":"Not eligible:\tsee policy 5.\r\n"}',
        "valid-suspend": '{"note":"Terms of Service, section 3"}',
        "valid-task-fail": '{"cause":"platform"}',
        "valid-empty-object": '{}',
        "float-and-exp": '{"amount_cents":1e400,"credits":1.5,"note":-0}',
        "invalid-utf8": b'{"plan":"\xff\xfe"}',
        "overlong-utf8": b'{"plan":"\xc0\xaf"}',
        "lone-surrogate": '{"plan":"\\ud800"}',
        "control-chars": '{"plan":"a\\u001fb","comment":"tab\\there\\r\\n"}',
        "raw-control": b'{"comment":"a\x01b"}',
        "del-char": '{"plan":"a\\u007fb"}',
        # An unknown field name cut at 64 bytes in the middle of a character.
        "regress-unknown-field-cut-utf8": '{"a' + "\u00e9" * 40 + '":1}',
        # jansson's "invalid escape near '...'" quotes one byte of a two-byte
        # character: the detail was invalid UTF-8 and the 400 had no body.
        "regress-invalid-escape-utf8": b'{"plan":"\\\xde\xa4"}',
        "unknown-field": '{"plan":"x","role":"support"}',
        "error-text-utf8": '{"plan":' + "\u00e9" * 100 + '}',
        "not-object-array": "[1,2,3]",
        "not-object-string": '"hello"',
        "not-object-number": "42",
        "whitespace": " \n\t ",
        "trailing-garbage": '{"plan":"x"} {}',
        "bad-time": '{"user_id":"u","email":"a@b","plan":"p","provider_ref":"r",'
                    '"started_at":"2023-02-29T24:00:60Z"}',
        "wrong-types": '{"reason":1,"comment":[],"plan":{}}',
        "enum-unknown": '{"reason":"TOO_EXPENSIVE"}',
        "long-comment": '{"comment":"' + "x" * 2001 + '"}',
    }
    for name, body in seeds.items():
        write("json_body", name, body)


# ---- jwt: mode byte ('0' HS256, '1' RS256, '2' ES256) + header ----

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segments(head, claims):
    return b64url(json.dumps(head, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")).encode())


def sign_hmac(head, claims, key=SECRET, digest=hashlib.sha256):
    signing = segments(head, claims)
    return signing + "." + b64url(hmac.new(key, signing.encode(), digest).digest())


def openssl_sign(key_file, data):
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_file],
                          input=data, capture_output=True, check=True).stdout


def der_to_raw(der, size=32):
    """ECDSA-Sig-Value (DER SEQUENCE of two INTEGERs) -> r || s."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7f)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        out += der[i + 2:i + 2 + n].lstrip(b"\0").rjust(size, b"\0")
        i += 2 + n
    return out


def sign_pem(alg, key_file, claims):
    signing = segments({"alg": alg, "typ": "JWT"}, claims)
    sig = openssl_sign(key_file, signing.encode())
    if alg == "ES256":
        sig = der_to_raw(sig)
    return signing + "." + b64url(sig)


def sign_text(alg, head, body, key=SECRET):
    """A token over the exact JSON texts head and body (json.dumps never
    writes a key twice): HS256 with key, or RS256/ES256 with the PEM file key."""
    signing = b64url(head.encode()) + "." + b64url(body.encode())
    if alg == "HS256":
        return signing + "." + b64url(hmac.new(key, signing.encode(), hashlib.sha256).digest())
    sig = openssl_sign(key, signing.encode())
    return signing + "." + b64url(der_to_raw(sig) if alg == "ES256" else sig)


def with_keys(c, before="", after=""):
    """The JSON text of claims c with raw '"key":value' text around its keys."""
    inner = json.dumps(c, separators=(",", ":"))[1:-1]
    return "{" + ",".join(x for x in (before, inner, after) if x) + "}"


def claims(**kw):
    c = {"iss": ISS, "aud": AUD, "sub": "user_42", "iat": NOW - 60, "exp": NOW + 3600}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


HS = {"alg": "HS256", "typ": "JWT"}


def jwt():
    def seed(name, mode, header):
        write("jwt", name, mode + header)

    valid = sign_hmac(HS, claims())
    seed("hs-valid-user", "0", "Bearer " + valid)
    seed("hs-valid-support-email-aud-array", "0", "Bearer " + sign_hmac(
        HS, claims(role="support", email="ann@example.com", aud=["other", AUD])))
    seed("hs-valid-service-nbf", "0", "Bearer " + sign_hmac(
        {"alg": "HS256"}, claims(role="service", nbf=NOW - 10, sub="svc:runner")))
    seed("hs-expired", "0", "Bearer " + sign_hmac(HS, claims(exp=NOW - 31)))
    seed("hs-exp-string", "0", "Bearer " + sign_hmac(HS, claims(exp=str(NOW + 3600))))
    seed("hs-exp-huge", "0", "Bearer " + sign_hmac(HS, claims(exp=2**63 - 1, iat=-2**63)))
    seed("hs-nbf-future", "0", "Bearer " + sign_hmac(HS, claims(nbf=NOW + 3600)))
    seed("hs-wrong-issuer", "0", "Bearer " + sign_hmac(HS, claims(iss="https://evil/")))
    seed("hs-sub-bad-chars", "0", "Bearer " + sign_hmac(HS, claims(sub="a/b c")))
    seed("hs-email-c1-control", "0", "Bearer " + sign_hmac(HS, claims(email="a\u0085@b.c")))
    seed("hs-role-unknown", "0", "Bearer " + sign_hmac(HS, claims(role="admin")))
    seed("hs-typ-lower-crit", "0", "Bearer " + sign_hmac(
        {"alg": "HS256", "typ": "jwt", "crit": ["exp"]}, claims()))
    seed("hs-typ-lowercase", "0", "Bearer " + sign_hmac({"typ": "jwt", "alg": "HS256"}, claims()))
    seed("hs-alg-lowercase", "0", "Bearer " + sign_hmac({"alg": "hs256"}, claims()))
    seed("hs-alg-hs512", "0", "Bearer " + sign_hmac(
        {"alg": "HS512", "typ": "JWT"}, claims(), digest=hashlib.sha512))
    seed("hs-alg-none", "0", "Bearer " + segments({"alg": "none"}, claims()) + ".AAAA")
    head, payload, sig = valid.split(".")
    escalated = b64url(json.dumps(claims(role="service"), separators=(",", ":")).encode())
    seed("hs-role-escalation-unsigned-edit", "0", "Bearer " + head + "." + escalated + "." + sig)
    seed("hs-truncated", "0", "Bearer " + head + "." + payload)
    seed("hs-sig-cut", "0", "Bearer " + valid[:-5])
    seed("hs-scheme-case-spaces", "0", " \tbEaReR \t " + valid + " \t")
    seed("hs-four-segments", "0", "Bearer " + valid + ".AAAA")
    seed("hs-bad-base64", "0", "Bearer " + head + ".!!!!." + sig)
    seed("hs-segment-4k1", "0", "Bearer A.AAAAA.AAAAAAAAA")
    seed("hs-payload-not-json", "0", "Bearer " + head + "." + b64url(b"[1,2") + "." + sig)
    # validly signed, with a key twice: jansson alone keeps the last one
    head_text = json.dumps(HS, separators=(",", ":"))
    seed("hs-dup-role", "0", "Bearer " + sign_text(
        "HS256", head_text, with_keys(claims(), after='"role":"user","role":"support"')))
    seed("hs-dup-sub", "0", "Bearer " + sign_text(
        "HS256", head_text, with_keys(claims(sub="alice"), after='"sub":"bob"')))
    seed("hs-dup-exp-nested", "0", "Bearer " + sign_text(
        "HS256", head_text, with_keys(claims(), before=f'"exp":{NOW - 3600}', after='"x":{"a":1,"a":1}')))
    seed("hs-dup-alg", "0", "Bearer " + sign_text(
        "HS256", '{"alg":"none","typ":"JWT","alg":"HS256"}', with_keys(claims())))
    seed("basic-auth", "0", "Basic dXNlcjpwYXNz")
    seed("bearer-empty", "0", "Bearer ")
    seed("empty", "0", "")

    rsa = os.path.join(FIXTURES, "rsa_private.pem")
    rsa_pub = os.path.join(FIXTURES, "rsa_public.pem")
    ec = os.path.join(FIXTURES, "ec_private.pem")
    if os.path.exists(rsa) and os.path.exists(rsa_pub):
        rs = sign_pem("RS256", rsa, claims(role="support"))
        seed("rs-valid", "1", "Bearer " + rs)
        h, p, s = rs.split(".")
        seed("rs-tampered-payload", "1", "Bearer " + h + "." + b64url(
            json.dumps(claims(role="service"), separators=(",", ":")).encode()) + "." + s)
        with open(rsa_pub, "rb") as f:
            pub = f.read()
        seed("rs-alg-confusion-hs256-with-public-key", "1",
             "Bearer " + sign_hmac(HS, claims(role="service"), key=pub))
        seed("rs-hs-token", "1", "Bearer " + valid)
        seed("rs-dup-role", "1", "Bearer " + sign_text(
            "RS256", '{"alg":"RS256","typ":"JWT"}',
            with_keys(claims(), after='"role":"user","role":"service"'), key=rsa))
    else:
        print("make_seeds: no RSA fixtures, skipping RS256 seeds", file=sys.stderr)
    if os.path.exists(ec):
        # ECDSA signatures are randomised: keep the committed token, so that
        # running this script again changes nothing.
        kept = os.path.join(CORPUS, "jwt", "es-valid")
        if os.path.exists(kept):
            with open(kept) as f:
                es = f.read()[1:].split(" ", 1)[1]
        else:
            es = sign_pem("ES256", ec, claims(email="x@y.z"))
        seed("es-valid", "2", "Bearer " + es)
        h, p, s = es.split(".")
        seed("es-sig-short", "2", "Bearer " + h + "." + p + "." + s[:40])
        rs_for_es = sign_pem("RS256", rsa, claims()) if os.path.exists(rsa) else valid
        seed("es-rs-token", "2", "Bearer " + rs_for_es)
        kept = os.path.join(CORPUS, "jwt", "es-dup-sub")
        if os.path.exists(kept):
            with open(kept) as f:
                es_dup = f.read()[1:].split(" ", 1)[1]
        else:
            es_dup = sign_text("ES256", '{"alg":"ES256","typ":"JWT"}',
                               with_keys(claims(sub="alice"), after='"sub":"bob"'), key=ec)
        seed("es-dup-sub", "2", "Bearer " + es_dup)
    else:
        print("make_seeds: no EC fixtures, skipping ES256 seeds", file=sys.stderr)


# ---- router: "METHOD URI" ----

def router():
    seeds = {
        "healthz": "GET /healthz",
        "account": "GET /api/v1/account",
        "cancel": "POST /api/v1/subscription/cancel",
        "cancel-wrong-method": "PUT /api/v1/subscription/cancel",
        "scheduled-change-delete": "DELETE /api/v1/subscription/scheduled-change",
        "support-list-query": "GET /api/v1/support/refund-requests?status=pending&limit=10",
        "approve-id": "POST /api/v1/support/refund-requests/rr_123/approve",
        "approve-id-encoded-slash": "POST /api/v1/support/refund-requests/a%2Fb/approve",
        "approve-id-encoded-nul": "POST /api/v1/support/refund-requests/a%00b/approve",
        "approve-id-too-long": "POST /api/v1/support/refund-requests/" + "x" * 129 + "/approve",
        "approve-id-128": "POST /api/v1/support/refund-requests/" + "y" * 128 + "/approve",
        "task-fail-percent-id": "POST /api/v1/internal/tasks/t%41%62/fail",
        "traversal": "GET /api/v1/../../etc/passwd",
        "traversal-encoded": "GET /api/v1/account/%2e%2e/x",
        "traversal-trailing": "GET /api/v1/account/..",
        "dot-segment": "GET /api/v1/./account",
        "double-slash": "GET //api//v1/account",
        "bad-escape": "GET /healthz%zz",
        "truncated-escape": "GET /healthz%4",
        "query-plus-and-escapes": "GET /api/v1/charges?status=a%20b+c&status=x&a=%E2%82%AC",
        "query-bad-escape": "GET /api/v1/charges?status=%G1&limit=%",
        "query-control": "GET /api/v1/charges?status=%0d%0aSet-Cookie:%20x",
        "query-empty-names": "GET /healthz?&&=&status&=x&limit==5",
        "query-long-value": "GET /healthz?status=" + "z" * 100,
        "no-method": "/api/v1/account",
        "lowercase-method": "get /healthz",
        "empty-id": "POST /api/v1/internal/tasks//complete",
        "header-injection-path": "GET /healthz%0d%0aX-Injected:%201",
    }
    for name, line in seeds.items():
        write("router", name, line)


# ---- time: int64 t, int32 months, int32 n (little-endian), then a string ----

def time_seeds():
    def seed(name, t, months, n, s):
        write("time", name, struct.pack("<qii", t, months, n) + s.encode())

    seed("now-plus-1-month-5-days", NOW, 1, 5, "2026-01-01T00:00:00Z")
    seed("jan31-leap", 1706659200 + 3723, 1, 5, "2024-01-31T01:02:03Z")
    seed("jan31-plus-2", 1706659200, 2, 1, "2024-02-29T23:59:59z")
    seed("friday", 1767916800, 12, 5, "2026-01-09T12:00:00.123456+05:30")
    seed("saturday", 1768003200, 13, 5, "2026-01-10T00:00:00-23:59")
    seed("sunday", 1768089600, 0, 5, "2026-01-11t23:59:59Z")
    seed("pre-1970", -86400 * 365 - 1, 25, 7, "1969-12-31T23:59:59Z")
    seed("year-1", -62135596800, 1, 1, "0001-01-01T00:00:00Z")
    seed("year-0", -62135596800 - 366 * 86400, 1, 1, "0000-01-01T00:00:00+23:59")
    seed("year-9999", 253402300799, 1, 5, "9999-12-31T23:59:59-23:59")
    seed("int64-min", -2**63, -2**31, -2**31, "2023-02-29T00:00:00Z")
    seed("int64-max", 2**63 - 1, 2**31 - 1, 2**31 - 1, "2026-01-01T24:00:00Z")
    seed("leap-second", NOW, 1200, 60, "2016-12-31T23:59:60Z")
    seed("trailing-garbage", NOW, 3, 10, "2026-01-01T00:00:00Zx")
    seed("fraction-empty", NOW, 3, 10, "2026-01-01T00:00:00.Z")
    seed("offset-out-of-range", NOW, 3, 10, "2026-01-01T00:00:00+24:00")
    seed("short", NOW, 3, 10, "2026-01-01T00:0")


def main():
    json_body()
    jwt()
    router()
    time_seeds()


if __name__ == "__main__":
    main()
