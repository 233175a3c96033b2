"""POST /api/v1/internal/subscriptions: checkout completed. The account
shape, webhook replays by provider_ref, each rule's code in order, and
catching up a subscription that started periods ago (month arithmetic from
the anchor)."""
import time
from harness import *
from test_billing_cycle import add_months, charges_of

PATH = "/api/v1/internal/subscriptions"


def body_for(uid=None, plan="pro", **extra):
    uid = uid or new_id()
    b = {"user_id": uid, "email": f"{uid}@example.com", "plan": plan, "provider_ref": new_id("ref")}
    b.update(extra)
    return b


def create(body):
    return post(PATH, service_token(), body)


def users_named(uid):
    return int(sql_value("SELECT count(*) FROM users WHERE id = :'p1'", uid))


def test_created_account_shape():
    b = body_for(plan="studio")
    before = int(time.time())
    r = expect(create(b), 201)
    after = int(time.time())
    assert r.headers["content-type"].startswith("application/json")
    assert set(r.json) == {"user", "subscription", "credits"}
    assert r.json["user"] == {"id": b["user_id"], "email": b["email"], "status": "active"}
    sub = r.json["subscription"]
    start = parse_iso(sub["current_period_start"])
    assert before <= start <= after                      # started_at defaults to now
    assert sub == {"plan": "studio", "status": "active", "current_period_start": iso(start),
                   "current_period_end": iso(add_months(start, 1)), "cancel_at_period_end": False,
                   "scheduled_change": None, "renews_at": iso(add_months(start, 1))}
    assert r.json["credits"] == {"included_remaining": 2500, "included_allowance": 2500,
                                 "included_resets_at": iso(add_months(start, 1)), "purchased_remaining": 0}
    assert charges_of(b["user_id"]) == [("checkout", 7900, start, start, add_months(start, 1))]
    assert sql("SELECT actor_role, actor_id FROM audit_log WHERE user_id = :'p1'"
               " AND action = 'subscription.started'", b["user_id"]) == [["service", "payment-relay"]]
    assert sql("SELECT event FROM outbox WHERE user_id = :'p1'", b["user_id"]) == [["subscription_started"]]
    # the user then sees the same account
    assert expect(get("/api/v1/account", token(b["user_id"])), 200).json == r.json


def test_started_at_with_offset_is_normalized_to_utc():
    r = expect(create(body_for(started_at="2026-11-01T09:30:00.75+02:00")), 201)
    start = parse_iso("2026-11-01T07:30:00Z")
    charges = charges_of(r.json["user"]["id"])
    assert (charges[0][2], charges[0][3]) == (start, start)
    assert r.json["subscription"]["current_period_end"] == iso(add_months(start, len(charges)))


def test_started_at_in_the_future_is_400_before_other_rules():
    b = body_for(started_at=iso(int(time.time()) + 3600))
    r = expect(create(b), 400, "invalid_request")
    assert "'started_at'" in r.json["detail"]
    expect(create(body_for(plan="platinum", started_at=iso(int(time.time()) + 3600))), 400, "invalid_request")
    assert users_named(b["user_id"]) == 0


def test_replay_same_body_returns_first_result_and_repeats_nothing():
    b = body_for(plan="pro")
    first = expect(create(b), 201)
    # the same JSON value: key order and white space do not matter
    reordered = "{ " + ", ".join(f'"{k}" : "{b[k]}"' for k in reversed(list(b))) + " }"
    for replay in (create(b), post(PATH, service_token(), raw=reordered.encode())):
        expect(replay, 200)
        assert replay.raw == first.raw
    uid = b["user_id"]
    assert len(charges_of(uid)) == 1
    assert sql_value("SELECT count(*) FROM subscriptions WHERE user_id = :'p1'", uid) == "1"
    assert sql_value("SELECT count(*) FROM audit_log WHERE user_id = :'p1' AND action = 'subscription.started'", uid) == "1"
    assert sql_value("SELECT count(*) FROM outbox WHERE user_id = :'p1'", uid) == "1"


def test_replay_after_a_change_still_returns_the_first_result():
    b = body_for(plan="studio")
    first = expect(create(b), 201)
    expect(post("/api/v1/subscription/cancel", token(b["user_id"])), 200)
    replay = expect(create(b), 200)
    assert replay.raw == first.raw
    assert len(charges_of(b["user_id"])) == 1


def test_provider_ref_with_different_body_is_409_before_other_rules():
    b = body_for(plan="pro")
    expect(create(b), 201)
    expect(create(dict(b, plan="studio")), 409, "provider_ref_reused")
    expect(create(dict(b, plan="platinum")), 409, "provider_ref_reused")   # before unknown_plan
    other = new_id()
    expect(create(dict(b, user_id=other, email=f"{other}@example.com")), 409, "provider_ref_reused")
    assert users_named(other) == 0
    assert len(charges_of(b["user_id"])) == 1


def test_subscription_exists_is_409():
    b = body_for(plan="pro")
    expect(create(b), 201)
    second = body_for(b["user_id"], plan="studio")
    expect(create(second), 409, "subscription_exists")
    expect(create(body_for(b["user_id"], plan="platinum")), 409, "subscription_exists")  # before unknown_plan
    assert sql("SELECT plan FROM subscriptions WHERE user_id = :'p1'", b["user_id"]) == [["pro"]]
    assert len(charges_of(b["user_id"])) == 1


def test_unknown_plan_is_422_and_creates_nothing():
    b = body_for(plan="platinum")
    expect(create(b), 422, "unknown_plan")
    assert users_named(b["user_id"]) == 0
    # the refusal is not remembered: the same provider_ref can succeed afterwards
    expect(create(dict(b, plan="pro")), 201)


def test_free_plan_is_422_not_a_paid_plan():
    b = body_for(plan="free")
    expect(create(b), 422, "not_a_paid_plan")
    assert users_named(b["user_id"]) == 0


def test_existing_free_user_subscribes_and_email_is_updated():
    uid = new_id()
    expect(get("/api/v1/account", token(uid, email="old@example.com")), 200)
    r = expect(create(body_for(uid, plan="pro", email="new@example.com")), 201)
    assert r.json["user"]["email"] == "new@example.com"
    assert r.json["credits"]["included_allowance"] == 800


def test_started_three_months_ago_is_caught_up():
    anchor = int(time.time()) - 100 * 86400           # periods 0..3 are over or running: k = 3 is current
    before = int(time.time())
    r = expect(create(body_for(plan="pro", started_at=iso(anchor))), 201)
    after = int(time.time())
    uid = r.json["user"]["id"]
    sub = r.json["subscription"]
    assert sub["current_period_start"] == iso(add_months(anchor, 3))
    assert sub["current_period_end"] == iso(add_months(anchor, 4))
    charges = charges_of(uid)
    assert [c[:2] for c in charges] == [("checkout", 2900)] + [("renewal", 2900)] * 3
    assert [(c[3], c[4]) for c in charges] == [(add_months(anchor, k), add_months(anchor, k + 1)) for k in range(4)]
    assert charges[0][2] == anchor                     # the checkout charge is dated started_at
    assert all(before <= c[2] <= after for c in charges[1:])   # renewals: when they were recorded
    assert r.json["credits"]["included_remaining"] == 800
    assert sql_value("SELECT period_index FROM subscriptions WHERE user_id = :'p1'", uid) == "3"


def period_starts(started_at):
    r = expect(create(body_for(plan="pro", started_at=started_at)), 201)
    return r, [iso(c[3]) for c in charges_of(r.json["user"]["id"])]


def test_month_end_anchor_clamps_without_drifting():
    r, starts = period_starts("2026-08-31T12:00:00Z")
    assert starts[:3] == ["2026-08-31T12:00:00Z", "2026-09-30T12:00:00Z", "2026-10-31T12:00:00Z"]
    anchor = parse_iso("2026-08-31T12:00:00Z")
    assert starts == [iso(add_months(anchor, k)) for k in range(len(starts))]
    assert r.json["subscription"]["current_period_end"] == iso(add_months(anchor, len(starts)))
    if len(starts) == 3:
        assert r.json["subscription"]["current_period_end"] == "2026-11-30T12:00:00Z"


def test_january_31st_anchor_through_a_leap_february():
    r, starts = period_starts("2024-01-31T00:00:00Z")
    assert starts[:6] == ["2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z",
                          "2024-04-30T00:00:00Z", "2024-05-31T00:00:00Z", "2024-06-30T00:00:00Z"]
    assert starts[12:14] == ["2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z"]
    assert len(set(starts)) == len(starts)


def test_started_at_more_than_three_years_ago_is_400():
    import time as _t
    uid = new_id()
    for started in ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", iso(int(_t.time()) - 3 * 366 * 86400)]:
        r = post("/api/v1/internal/subscriptions", service_token(),
                 {"user_id": uid, "email": f"{uid}@example.com", "plan": "pro",
                  "provider_ref": new_id("ref"), "started_at": started})
        expect(r, 400, "invalid_request")
        assert "started_at" in r.json["detail"]
    assert sql_value("SELECT count(*) FROM charges WHERE user_id = :'p1'", uid) == "0"
