"""Idempotency-Key on POSTs: replay byte for byte, reuse and in-use
conflicts, scope per caller, what is stored and what is not, expiry."""
import subprocess, threading, time
from harness import *


def audit_count(uid, action):
    return int(sql_value("SELECT count(*) FROM audit_log WHERE user_id = :'p1' AND action = :'p2'", uid, action))


def test_retry_replays_first_answer_without_repeating_effect():
    uid, _ = subscribe(plan="studio")
    tok = token(uid)
    key = {"Idempotency-Key": new_id("k")}
    first = expect(post("/api/v1/subscription/downgrade", tok, {"plan": "pro"}, headers=key), 200)
    # the state moves on, but the retry still answers what the first call did
    expect(delete("/api/v1/subscription/scheduled-change", tok), 200)
    again = expect(post("/api/v1/subscription/downgrade", tok, {"plan": "pro"}, headers=key), 200)
    assert again.raw == first.raw
    assert audit_count(uid, "subscription.downgrade_scheduled") == 1
    assert get("/api/v1/account", tok).json["subscription"]["scheduled_change"] is None


def test_same_body_in_other_key_order_is_the_same_request():
    uid, _ = subscribe(plan="pro")
    key = {"Idempotency-Key": new_id("k")}
    first = post("/api/v1/subscription/cancel", token(uid), raw=b'{"reason":"other","comment":"x"}', headers=key)
    again = post("/api/v1/subscription/cancel", token(uid), raw=b'{ "comment" : "x", "reason" : "other" }', headers=key)
    assert first.status == again.status == 200 and first.raw == again.raw
    assert sql_value("SELECT count(*) FROM cancellation_feedback WHERE user_id = :'p1'", uid) == "1"


def test_same_key_other_body_or_path_is_reused():
    uid, _ = subscribe(plan="studio")
    tok = token(uid)
    key = {"Idempotency-Key": new_id("k")}
    expect(post("/api/v1/subscription/downgrade", tok, {"plan": "pro"}, headers=key), 200)
    expect(post("/api/v1/subscription/downgrade", tok, {"plan": "studio"}, headers=key), 409, "idempotency_key_reused")
    expect(post("/api/v1/subscription/cancel", tok, headers=key), 409, "idempotency_key_reused")
    assert get("/api/v1/account", tok).json["subscription"]["cancel_at_period_end"] is False


def test_keys_are_scoped_to_the_caller():
    a, _ = subscribe(plan="pro")
    b, _ = subscribe(plan="pro")
    key = {"Idempotency-Key": "shared-key-1"}
    expect(post("/api/v1/subscription/cancel", token(a), headers=key), 200)
    r = expect(post("/api/v1/subscription/cancel", token(b), headers=key), 200)
    assert r.json["subscription"]["cancel_at_period_end"] is True
    assert audit_count(b, "subscription.cancel_scheduled") == 1


def test_rule_refusal_is_stored_and_replayed():
    uid = new_id()
    tok = token(uid)
    key = {"Idempotency-Key": new_id("k")}
    first = expect(post("/api/v1/subscription/cancel", tok, headers=key), 409, "no_active_subscription")
    subscribe(user_id=uid, plan="pro")
    again = expect(post("/api/v1/subscription/cancel", tok, headers=key), 409, "no_active_subscription")
    assert again.raw == first.raw
    assert get("/api/v1/account", tok).json["subscription"]["cancel_at_period_end"] is False


def test_parse_errors_are_not_stored():
    uid, _ = subscribe(plan="studio")
    tok = token(uid)
    key = {"Idempotency-Key": new_id("k")}
    expect(post("/api/v1/subscription/downgrade", tok, {"plan": 5}, headers=key), 400, "invalid_request")
    expect(post("/api/v1/subscription/downgrade", tok, raw=b"{", headers=key), 400, "invalid_json")
    expect(post("/api/v1/subscription/downgrade", tok, {"plan": "pro"}, headers=key), 200)


def test_invalid_keys_are_400():
    uid, _ = subscribe(plan="pro")
    for bad in ["x" * 256, "caf\u00e9".encode().decode("latin-1"), "tab\there"]:
        r = post("/api/v1/subscription/cancel", token(uid), headers={"Idempotency-Key": bad})
        expect(r, 400, "invalid_request")
    assert get("/api/v1/account", token(uid)).json["subscription"]["cancel_at_period_end"] is False
    expect(post("/api/v1/subscription/cancel", token(uid), headers={"Idempotency-Key": "k" * 255}), 200)


def test_key_in_use_while_first_request_runs():
    uid, _ = subscribe(plan="pro")
    key = new_id("k")
    # hold the key's lock from another session, as a first request still running would
    holder = subprocess.Popen(
        ["psql", "-X", "-q", DATABASE, "-c",
         f"SELECT pg_advisory_lock(hashtextextended('user:{uid}:{key}', 7002)), pg_sleep(3);"
         f" SELECT pg_advisory_unlock(hashtextextended('user:{uid}:{key}', 7002))"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        r = post("/api/v1/subscription/cancel", token(uid), headers={"Idempotency-Key": key})
        expect(r, 409, "idempotency_key_in_use")
        assert get("/api/v1/account", token(uid)).json["subscription"]["cancel_at_period_end"] is False
    finally:
        holder.wait()
    expect(post("/api/v1/subscription/cancel", token(uid), headers={"Idempotency-Key": key}), 200)


def test_parallel_double_click_runs_once():
    uid, _ = subscribe(plan="studio")
    key = {"Idempotency-Key": new_id("k")}
    results = []

    def click():
        results.append(post("/api/v1/subscription/downgrade", token(uid), {"plan": "pro"}, headers=key))

    threads = [threading.Thread(target=click) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r.status == 200]
    assert ok and all(r.raw == ok[0].raw for r in ok)
    assert all(r.status == 200 or r.code == "idempotency_key_in_use" for r in results), results
    assert audit_count(uid, "subscription.downgrade_scheduled") == 1


def test_expired_key_runs_afresh():
    uid, _ = subscribe(plan="studio")
    tok = token(uid)
    key = new_id("k")
    expect(post("/api/v1/subscription/downgrade", tok, {"plan": "pro"}, headers={"Idempotency-Key": key}), 200)
    # age the stored key past its 24 hours (the only write a test makes directly)
    sql("UPDATE idempotency_keys SET created_at = created_at - interval '24 hours 1 second' WHERE key = :'p1'", key)
    r = expect(post("/api/v1/subscription/cancel", tok, headers={"Idempotency-Key": key}), 200)
    assert r.json["subscription"]["cancel_at_period_end"] is True


def test_billing_cycle_purges_expired_keys():
    import os
    uid, _ = subscribe(plan="pro")
    old, fresh = new_id("k"), new_id("k")
    expect(post("/api/v1/subscription/cancel", token(uid), headers={"Idempotency-Key": old}), 200)
    expect(post("/api/v1/subscription/resume", token(uid), headers={"Idempotency-Key": fresh}), 200)
    sql("UPDATE idempotency_keys SET created_at = created_at - interval '25 hours' WHERE key = :'p1'", old)
    out = subprocess.run([os.path.join(os.environ.get("PF_BUILD_DIR", "."), "pf-billing-cycle"),
                          "--database", DATABASE], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "expired idempotency keys" in out.stdout
    assert sql_value("SELECT count(*) FROM idempotency_keys WHERE key = :'p1'", old) == "0"
    assert sql_value("SELECT count(*) FROM idempotency_keys WHERE key = :'p1'", fresh) == "1"


def raw_post(path, tok, header_line, body=b""):
    """A POST written byte for byte, so that the Idempotency-Key line is sent
    exactly as given (b"Idempotency-Key:" with no value at all, too)."""
    import socket
    host, port = PUBLIC.split("//", 1)[1].split(":")
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Authorization: Bearer {tok}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head + header_line + b"\r\n\r\n" + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        out = b""
        while payload:
            size, _, rest = payload.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            out += rest[:n]
            payload = rest[n + 2:]
        payload = out
    return Response(int(lines[0].split()[1]), headers, payload)


EMPTY_KEYS = [b"Idempotency-Key:", b"Idempotency-Key: ", b"Idempotency-Key:      "]


def test_present_but_empty_key_is_400_and_applies_nothing():
    # nginx trims the value, so all three reach it as an empty header; it
    # must not pass for a missing one (which would apply the change)
    uid, _ = subscribe(plan="studio")
    tok = token(uid)
    for line in EMPTY_KEYS:
        expect(raw_post("/api/v1/subscription/cancel", tok, line), 400, "invalid_request")
        expect(raw_post("/api/v1/subscription/downgrade", tok, line, b'{"plan":"pro"}'), 400, "invalid_request")
    sub = get("/api/v1/account", tok).json["subscription"]
    assert sub["cancel_at_period_end"] is False and sub["scheduled_change"] is None, sub
    assert audit_count(uid, "subscription.cancel_scheduled") == 0
    assert audit_count(uid, "subscription.downgrade_scheduled") == 0
    assert sql_value("SELECT count(*) FROM idempotency_keys WHERE actor_id = :'p1'", uid) == "0"


def test_missing_key_still_applies():
    uid, _ = subscribe(plan="studio")
    tok = token(uid)
    r = expect(raw_post("/api/v1/subscription/downgrade", tok, b"X-Other: 1", b'{"plan":"pro"}'), 200)
    assert r.json["subscription"]["scheduled_change"]["plan"] == "pro", r
    assert audit_count(uid, "subscription.downgrade_scheduled") == 1


def test_key_with_surrounding_spaces_is_the_trimmed_key():
    uid, _ = subscribe(plan="pro")
    tok = token(uid)
    key = new_id("k")
    first = expect(raw_post("/api/v1/subscription/cancel", tok, f"Idempotency-Key:   {key}  ".encode()), 200)
    again = expect(post("/api/v1/subscription/cancel", tok, headers={"Idempotency-Key": key}), 200)
    assert again.raw == first.raw
    assert audit_count(uid, "subscription.cancel_scheduled") == 1
