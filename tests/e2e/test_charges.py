"""GET /api/v1/charges and POST /api/v1/internal/charges: the billing
history, credit packs, subscription charges, periods and webhook retries."""
from billing import *


def test_history_newest_first_with_shape():
    uid, tok = user(plan="pro")
    now = int(time.time())
    old = pack(uid, credits=100, amount=500, charged_at=now - 3 * DAY)
    new = pack(uid, credits=200, amount=900)
    listed = charges(tok)
    assert [c["id"] for c in listed][0] == new["id"]
    assert [c["id"] for c in listed][-1] == old["id"]
    sub = next(c for c in listed if c["kind"] == "subscription")
    for key in ["id", "kind", "description", "amount_cents", "currency", "charged_at", "period_start",
                "period_end", "status", "refunded_cents", "refundable_until"]:
        assert key in sub, key
    assert sub["amount_cents"] == 2900 and sub["currency"] == "USD" and sub["status"] == "paid"
    assert sub["refunded_cents"] == 0
    assert parse_iso(sub["refundable_until"]) == parse_iso(sub["charged_at"]) + WINDOW
    assert old["period_start"] is None and old["period_end"] is None and old["kind"] == "credit_pack"
    assert old["charged_at"] == iso(now - 3 * DAY)


def test_credit_pack_adds_purchased_credits():
    uid, tok = user()
    r = expect(record_charge(uid, kind="credit_pack", amount=1500, credits=500), 201).json["charge"]
    assert r["kind"] == "credit_pack" and r["credits"] == 500 and r["status"] == "paid"
    assert balances(uid) == (50, 500)
    assert sql_value("SELECT delta FROM credit_ledger WHERE user_id = :'p1' AND cause = 'pack'", uid) == "500"
    assert audit_count(uid, "charge.recorded") == 1


def test_webhook_retry_records_once():
    uid, tok = user()
    ref = new_id("ref")
    body = {"user_id": uid, "kind": "credit_pack", "amount_cents": 1500, "currency": "USD",
            "provider_ref": ref, "credits": 500}
    first = expect(post("/api/v1/internal/charges", service_token(), body), 201)
    for _ in range(9):
        again = expect(post("/api/v1/internal/charges", service_token(), body), 200)
        assert again.json == first.json
    # the same JSON value with another key order and spacing is the same body
    raw = ('{ "credits": 500, "provider_ref": "%s", "currency": "USD", "amount_cents": 1500, '
           '"kind": "credit_pack", "user_id": "%s" }' % (ref, uid)).encode()
    expect(post("/api/v1/internal/charges", service_token(), raw=raw), 200)
    assert sql_value("SELECT count(*) FROM charges WHERE user_id = :'p1'", uid) == "1"
    assert balances(uid) == (50, 500)
    changed = dict(body, amount_cents=1600)
    expect(post("/api/v1/internal/charges", service_token(), changed), 409, "provider_ref_reused")
    # checked before every other rule, user_not_found included
    expect(post("/api/v1/internal/charges", service_token(), dict(body, user_id="u_unknown_x")),
           409, "provider_ref_reused")
    assert balances(uid) == (50, 500)


def test_provider_ref_namespace_shared_with_subscriptions():
    uid, sub = subscribe(plan="pro")
    ref = sql_value("SELECT provider_ref FROM subscriptions WHERE user_id = :'p1'", uid)
    expect(record_charge(uid, ref=ref), 409, "provider_ref_reused")
    assert len(charges(token(uid))) == 1


def test_subscription_charge_periods():
    start = int(time.time()) - 40 * DAY
    uid, _ = subscribe(plan="pro", started_at=start)
    tok = token(uid)
    acct = get("/api/v1/account", tok).json["subscription"]
    current = expect(record_charge(uid), 201).json["charge"]
    assert current["period_start"] == acct["current_period_start"]
    assert current["period_end"] == acct["current_period_end"]
    assert current["description"].startswith("Pro plan")
    first = expect(record_charge(uid, period_start=iso(start)), 201).json["charge"]
    assert first["period_start"] == iso(start)
    assert parse_iso(first["period_end"]) == parse_iso(acct["current_period_start"])
    expect(record_charge(uid, period_start=iso(start + 1)), 422, "invalid_period")
    expect(record_charge(uid, period_start=acct["current_period_end"]), 422, "invalid_period")
    expect(record_charge(uid, period_start=iso(start - 31 * DAY)), 422, "invalid_period")


def test_subscription_charge_needs_a_subscription():
    uid, tok = user()
    expect(record_charge(uid), 409, "no_active_subscription")
    assert charges(tok) == []


def test_request_errors():
    uid, tok = user(plan="pro")
    expect(record_charge("u_never_seen_1"), 404, "user_not_found")
    expect(record_charge(uid, credits=10), 400, "invalid_request")                    # credits on a subscription charge
    expect(record_charge(uid, kind="credit_pack"), 400, "invalid_request")            # pack without credits
    expect(record_charge(uid, kind="credit_pack", credits=0), 400, "invalid_request")
    expect(record_charge(uid, kind="credit_pack", credits=5, period_start=iso(int(time.time()))), 400, "invalid_request")
    expect(record_charge(uid, kind="refund"), 400, "invalid_request")
    expect(record_charge(uid, currency="usd"), 400, "invalid_request")
    expect(record_charge(uid, amount=0), 400, "invalid_request")
    expect(record_charge(uid, charged_at=int(time.time()) + 3600), 400, "invalid_request")
    expect(record_charge(uid, surprise=1), 400, "invalid_request")
    expect(post("/api/v1/internal/charges", tok, {"user_id": uid}), 403, "forbidden")
    assert len(charges(tok)) == 1


def test_charge_recorded_for_a_suspended_account_stays_frozen():
    uid, tok = user()
    expect(suspend(uid), 200)
    expect(record_charge(uid, kind="credit_pack", amount=1500, credits=400), 201)
    assert balances(uid) == (50, 400)
    expect(start_task(uid, 10), 403, "account_suspended")
    assert balances(uid) == (50, 400)


def test_subscription_charge_after_suspension_is_recorded_against_the_ended_subscription():
    uid, tok = user(plan="studio")
    first = first_charge(tok)
    expect(suspend(uid), 200)
    r = expect(record_charge(uid, kind="subscription", amount=7900, period_start=first["period_start"]), 201)
    c = r.json["charge"]
    assert (c["kind"], c["amount_cents"], c["status"]) == ("subscription", 7900, "paid")
    assert (c["period_start"], c["period_end"]) == (first["period_start"], first["period_end"])
    # the customer can see it and ask for it back (a duplicate: reviewed by support, policy 4)
    assert any(x["id"] == c["id"] for x in charges(tok))
    rr = expect(refund(tok, charge_id=c["id"], reason="duplicate_charge"), 201).json
    assert rr["status"] == "pending"


def test_subscription_charge_for_a_user_who_never_subscribed_is_409():
    uid, _ = user()
    expect(suspend(uid), 200)
    expect(record_charge(uid, kind="subscription", amount=2900), 409, "no_active_subscription")


def test_times_before_1970_are_refused():
    uid, tok = user()
    for when in ["0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z"]:
        r = expect(record_charge(uid, kind="credit_pack", amount=100, credits=1, charged_at=when), 400, "invalid_request")
        assert "charged_at" in r.json["detail"]
    assert charges(tok) == []
