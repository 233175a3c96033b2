"""Authentication through nginx: the bearer token, each way it can be wrong
(each its own 401 code with WWW-Authenticate), the leeway, and the role
checks (403 forbidden)."""
import base64, hashlib, hmac, json, os, subprocess, tempfile, time
from harness import *

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "fixtures")
ACCOUNT = "/api/v1/account"


def unauthorized(r, code):
    expect(r, 401, code)
    www = r.headers.get("www-authenticate", "")
    assert www.startswith("Bearer "), r.headers
    if code != "unauthenticated":
        assert 'error="invalid_token"' in www, www
    return r


def bearer(tok):
    return get(ACCOUNT, headers={"Authorization": f"Bearer {tok}"})


def claims(**override):
    c = claims_for(new_id())
    c.update(override)
    return {k: v for k, v in c.items() if v is not None}


def test_missing_header_is_unauthenticated():
    unauthorized(get(ACCOUNT), "unauthenticated")


def test_other_scheme_or_empty_bearer_is_unauthenticated():
    unauthorized(get(ACCOUNT, headers={"Authorization": "Basic dXNlcjpwYXNz"}), "unauthenticated")
    unauthorized(get(ACCOUNT, headers={"Authorization": "Bearer"}), "unauthenticated")
    unauthorized(get(ACCOUNT, headers={"Authorization": "Bearer "}), "unauthenticated")


def test_garbage_and_malformed_tokens_are_invalid():
    for tok in ("garbage", "a.b.c", "a.b", token(new_id()) + ".x", "!!!.###.$$$"):
        unauthorized(bearer(tok), "invalid_token")


def test_bad_signature_is_invalid():
    unauthorized(bearer(sign(claims(), secret=b"x" * 48)), "invalid_token")
    good = token(new_id())
    head, body, sig = good.split(".")
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    unauthorized(bearer(f"{head}.{body}.{flipped}"), "invalid_token")


def test_tampered_claims_are_invalid():
    good = token(new_id())
    head, _, sig = good.split(".")
    forged = b64url(json.dumps(claims(role="support")).encode())
    unauthorized(bearer(f"{head}.{forged}.{sig}"), "invalid_token")


def test_alg_none_is_refused():
    c = claims()
    head = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = b64url(json.dumps(c).encode())
    unauthorized(bearer(f"{head}.{body}."), "invalid_token")
    unauthorized(bearer(f"{head}.{body}.{b64url(b'sig')}"), "invalid_token")
    # "none" spelled otherwise, still with a valid HS256 signature over it
    unauthorized(bearer(sign(c, header={"alg": "None", "typ": "JWT"})), "invalid_token")


def test_hs512_with_our_secret_is_refused():
    unauthorized(bearer(sign(claims(), alg="HS512")), "invalid_token")


def test_header_saying_hs256_over_hs512_signature_is_refused():
    c = claims()
    tok = sign(c, alg="HS512")
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    unauthorized(bearer(head + tok[tok.index("."):]), "invalid_token")


def sign_text(head, body, secret=None):
    """HS256 over the exact JSON texts given: a token can then hold what
    json.dumps never writes, such as a key twice."""
    signing = f"{b64url(head.encode())}.{b64url(body.encode())}"
    return f"{signing}.{b64url(hmac.new(secret or SECRET, signing.encode(), hashlib.sha256).digest())}"


def with_keys(c, before="", after=""):
    """The JSON text of claims c with raw `"key":value` text put before and
    after its own keys."""
    inner = json.dumps(c, separators=(",", ":"))[1:-1]
    return "{" + ",".join(x for x in (before, inner, after) if x) + "}"


HS_HEAD = '{"alg":"HS256","typ":"JWT"}'


def rs256_token(c):
    """Signs c (claims, or the payload's exact JSON text) with RS256 using the
    openssl CLI (no Python crypto package needed)."""
    head = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = b64url((c if isinstance(c, str) else json.dumps(c)).encode())
    key = os.path.join(FIXTURES, "rsa_private.pem")
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                         input=f"{head}.{body}".encode(), capture_output=True, check=True).stdout
    assert len(sig) >= 256
    return f"{head}.{body}.{b64url(sig)}"


def test_rs256_token_is_refused_when_hs256_is_configured():
    unauthorized(bearer(rs256_token(claims())), "invalid_token")


def test_expired_beyond_leeway_is_token_expired():
    now = int(time.time())
    unauthorized(bearer(sign(claims(iat=now - 600, exp=now - 120))), "token_expired")


def test_expired_within_leeway_is_accepted():
    now = int(time.time())
    expect(bearer(sign(claims(iat=now - 600, exp=now - 10))), 200)


def test_nbf_or_iat_in_future_beyond_leeway_is_invalid():
    now = int(time.time())
    unauthorized(bearer(sign(claims(nbf=now + 120))), "invalid_token")
    unauthorized(bearer(sign(claims(iat=now + 120))), "invalid_token")
    expect(bearer(sign(claims(nbf=now + 10, iat=now + 10))), 200)


def test_expired_and_not_yet_valid_is_invalid_not_expired():
    now = int(time.time())
    unauthorized(bearer(sign(claims(nbf=now + 600, exp=now - 600))), "invalid_token")


def test_missing_or_mistyped_time_claims_are_invalid():
    now = int(time.time())
    unauthorized(bearer(sign(claims(exp=None))), "invalid_token")
    unauthorized(bearer(sign(claims(exp=str(now + 600)))), "invalid_token")
    unauthorized(bearer(sign(claims(exp=now + 600.5))), "invalid_token")
    unauthorized(bearer(sign(claims(exp=True))), "invalid_token")
    unauthorized(bearer(sign(claims(nbf=str(now)))), "invalid_token")


def test_wrong_issuer_is_invalid():
    unauthorized(bearer(sign(claims(iss="https://evil.example"))), "invalid_token")
    unauthorized(bearer(sign(claims(iss=None))), "invalid_token")


def test_wrong_audience_is_invalid():
    unauthorized(bearer(sign(claims(aud="someone-else"))), "invalid_token")
    unauthorized(bearer(sign(claims(aud=["a", "b"]))), "invalid_token")
    unauthorized(bearer(sign(claims(aud=None))), "invalid_token")
    unauthorized(bearer(sign(claims(aud=[]))), "invalid_token")


def test_audience_array_containing_ours_is_accepted():
    uid = new_id()
    r = expect(bearer(sign(claims(sub=uid, aud=["other", AUDIENCE]))), 200)
    assert r.json["user"]["id"] == uid


def test_sub_syntax():
    unauthorized(bearer(sign(claims(sub="x" * 65))), "invalid_token")
    for bad in ("has space", "slash/", "semi;colon", "", "ünï", "quote'"):
        unauthorized(bearer(sign(claims(sub=bad))), "invalid_token")
    unauthorized(bearer(sign(claims(sub=None))), "invalid_token")
    unauthorized(bearer(sign(claims(sub=12345))), "invalid_token")
    longest = "a.b@c:d-e_" + "x" * 54
    r = expect(bearer(sign(claims(sub=longest))), 200)
    assert r.json["user"]["id"] == longest


def test_unknown_role_is_invalid():
    for role in ("admin", "User", "", 1):
        unauthorized(bearer(token(new_id(), role=role)), "invalid_token")


def test_support_and_service_tokens_on_user_endpoint_are_forbidden():
    expect(get(ACCOUNT, support_token()), 403, "forbidden")
    expect(get(ACCOUNT, service_token()), 403, "forbidden")
    expect(post("/api/v1/subscription/cancel", service_token()), 403, "forbidden")


def test_user_token_on_internal_endpoint_is_forbidden():
    uid = new_id()
    body = {"user_id": uid, "email": f"{uid}@example.com", "plan": "pro", "provider_ref": new_id("ref")}
    expect(post("/api/v1/internal/subscriptions", token(uid), body), 403, "forbidden")
    expect(post("/api/v1/internal/subscriptions", support_token(), body), 403, "forbidden")
    assert sql_value("SELECT count(*) FROM users WHERE id = :'p1'", uid) == "0"


def test_internal_endpoints_are_not_served_on_the_public_listener():
    body = {"user_id": new_id(), "email": "a@b.c", "plan": "pro", "provider_ref": new_id("ref")}
    expect(post("/api/v1/internal/subscriptions", service_token(), body, base=PUBLIC), 404, "not_found")


def test_token_over_4_kib_is_invalid():
    uid = new_id()
    base = claims(sub=uid)
    sized = {}
    for pad in range(2800, 3200):                   # the longest token of at most 4096 bytes and the next one
        tok = sign(dict(base, pad="p" * pad))
        sized.setdefault(len(tok) <= 4096, []).append(tok)
    at_limit = max(sized[True], key=len)
    over = min(sized[False], key=len)
    assert len(at_limit) >= 4093 and 4097 <= len(over) <= 4100, (len(at_limit), len(over))
    unauthorized(bearer(over), "invalid_token")
    unauthorized(bearer(sign(dict(base, pad="p" * 5000))), "invalid_token")
    expect(bearer(at_limit), 200)


def test_email_claim_must_be_a_string():
    unauthorized(bearer(token(new_id(), email=42)), "invalid_token")


def test_refused_token_provisions_nobody():
    uid = new_id()
    unauthorized(bearer(sign(claims(sub=uid, aud="someone-else"))), "invalid_token")
    unauthorized(bearer(sign(claims(sub=uid, role="admin"))), "invalid_token")
    assert sql_value("SELECT count(*) FROM users WHERE id = :'p1'", uid) == "0"


def test_duplicate_claims_are_invalid():
    """jansson keeps the last of two equal keys: a signed token with
    "role":"user" and then "role":"support" read the support queue, and one
    with "sub" twice acted as the second user. A key twice, anywhere in the
    token, is refused."""
    uid, other = new_id(), new_id()
    queue = "/api/v1/support/refund-requests"
    # the same texts without the repeated key are accepted: only the
    # duplicate is refused
    expect(get(queue, sign_text(HS_HEAD, with_keys(claims(sub=uid), after='"role":"support"'))), 200)
    expect(bearer(sign_text(HS_HEAD, with_keys(claims(sub=uid)))), 200)
    unauthorized(get(queue, sign_text(HS_HEAD, with_keys(
        claims(sub=uid), after='"role":"user","role":"support"'))), "invalid_token")
    unauthorized(get(queue, sign_text(HS_HEAD, with_keys(
        claims(sub=uid), after='"role":"user","r\\u006fle":"support"'))), "invalid_token")
    unauthorized(bearer(sign_text(HS_HEAD, with_keys(claims(sub=uid), after=f'"sub":"{other}"'))),
                 "invalid_token")
    now = int(time.time())
    for before, after in ((f'"exp":{now - 3600}', ""), ("", f'"exp":{now - 3600}'),
                          ('"aud":"someone-else"', ""), ('"iss":"https://evil.example"', ""),
                          ("", '"x":1,"x":1'), ("", '"ext":{"a":1,"a":2}')):
        unauthorized(bearer(sign_text(HS_HEAD, with_keys(claims(sub=uid), before, after))), "invalid_token")
    body = with_keys(claims(sub=uid))
    for head in ('{"alg":"HS256","alg":"HS256"}', '{"alg":"none","alg":"HS256"}',
                 '{"typ":"JOSE","alg":"HS256","typ":"JWT"}', '{"alg":"HS256","typ":"JWT","typ":"JWT"}'):
        unauthorized(bearer(sign_text(head, body)), "invalid_token")
    assert sql_value("SELECT count(*) FROM users WHERE id = :'p1'", other) == "0"
