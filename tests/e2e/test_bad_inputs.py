"""A catalogue of hostile input through nginx: each gets a clear 4xx with a
problem+json body, and changes nothing."""
import socket
from billing import *


def footprint(uid):
    """Everything a request could have changed for uid."""
    return sql("""SELECT (SELECT count(*) FROM audit_log WHERE user_id = :'p1'),
                         (SELECT count(*) FROM charges WHERE user_id = :'p1'),
                         (SELECT count(*) FROM tasks WHERE user_id = :'p1'),
                         (SELECT count(*) FROM refund_requests WHERE user_id = :'p1'),
                         (SELECT count(*) FROM outbox WHERE user_id = :'p1'),
                         (SELECT included_remaining || '/' || purchased_remaining FROM users WHERE id = :'p1')""", uid)


def charge_body(uid, **over):
    body = {"user_id": uid, "kind": "credit_pack", "amount_cents": 990, "currency": "USD",
            "provider_ref": new_id("ref"), "credits": 100}
    body.update(over)
    return body


def raw_charge(uid, amount_text):
    text = ('{"user_id":"%s","kind":"credit_pack","amount_cents":%s,"currency":"USD",'
            '"provider_ref":"%s","credits":100}' % (uid, amount_text, new_id("ref")))
    return post("/api/v1/internal/charges", service_token(), raw=text.encode())


def test_numbers_that_are_not_integers_or_out_of_range():
    uid, _ = user()
    before = footprint(uid)
    for text in ["10.10", "1e3", "9223372036854775808", "-5", "0", "99999999999999999999", "\"990\"", "true", "null"]:
        r = raw_charge(uid, text)
        assert r.status == 400 and r.code in ("invalid_request", "invalid_json"), (text, r)
    for credits in [0, -1, 2 ** 62, "100", 1.5]:
        expect(post("/api/v1/internal/charges", service_token(), charge_body(uid, credits=credits)), 400)
    for credits in [0, -10, 2 ** 63 - 1]:
        r = start_task(uid, credits)
        assert r.status in (400, 402), (credits, r)
    assert footprint(uid) == before


def test_ids_with_traversal_or_encoded_slashes_are_not_found():
    tok = support_token()
    for path in ["/api/v1/support/refund-requests/..%2F..%2Faccount/approve",
                 "/api/v1/support/refund-requests/%2e%2e/approve",
                 "/api/v1/support/refund-requests/a%00b/approve",
                 "/api/v1/support/refund-requests/a%2Fb/approve",
                 "/api/v1/internal/tasks/..%2f/complete"]:
        r = post(path, service_token() if "internal" in path else tok, {"note": "x"})
        assert r.status in (400, 404) and r.json and r.json.get("code") in ("not_found", "invalid_request"), (path, r)


def test_header_injection_is_refused():
    uid, tok = user(plan="pro")
    before = footprint(uid)
    host, port = PUBLIC.split("//")[1].split(":")
    for evil in [b"Idempotency-Key: a\rX-Injected: 1", b"Idempotency-Key: k\x00k", b"Authorization: Bearer a\x7fb"]:
        s = socket.create_connection((host, int(port)))
        s.sendall(b"POST /api/v1/subscription/cancel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok.encode() +
                  b"\r\n" + evil + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        answer = s.recv(4096)
        s.close()
        status = int(answer.split(b" ")[1])
        assert 400 <= status < 500, answer[:200]
    assert footprint(uid) == before
    assert get("/api/v1/account", tok).json["subscription"]["cancel_at_period_end"] is False


def test_role_escalation_by_editing_the_payload_is_refused():
    uid, tok = user()
    head, body, sig = tok.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["role"] = "support"
    forged = head + "." + b64url(json.dumps(claims).encode()) + "." + sig
    expect(get("/api/v1/support/refund-requests", forged), 401, "invalid_token")


def test_a_token_of_another_user_sees_only_its_own_records():
    a, tok_a = user(plan="pro")
    b, tok_b = user(plan="pro")
    charge_a = first_charge(tok_a)
    before = footprint(a)
    expect(refund(tok_b, charge_id=charge_a["id"]), 404, "charge_not_found")
    assert all(c["id"] != charge_a["id"] for c in charges(tok_b))
    assert footprint(a) == before


def test_oversized_header_is_a_problem_response():
    uid, tok = user()
    r = get("/api/v1/account", tok, headers={"X-Big": "a" * 20000})
    expect(r, 400, "invalid_request")


def test_suspended_account_cannot_start_a_subscription():
    uid, _ = user()
    expect(suspend(uid), 200)
    before = footprint(uid)
    r = post("/api/v1/internal/subscriptions", service_token(),
             {"user_id": uid, "email": f"{uid}@example.com", "plan": "pro", "provider_ref": new_id("ref")})
    expect(r, 403, "account_suspended")
    assert footprint(uid) == before
