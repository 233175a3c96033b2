"""Cancel, resume, downgrade and withdraw (policy 1): each success shape and
error code, the audit and outbox rows each change writes, and that a user
only ever touches their own subscription."""
from harness import *

CANCEL = "/api/v1/subscription/cancel"
RESUME = "/api/v1/subscription/resume"
DOWNGRADE = "/api/v1/subscription/downgrade"
SCHEDULED = "/api/v1/subscription/scheduled-change"


def paid(plan="studio"):
    uid, r = subscribe(plan=plan)
    return uid, token(uid), r.json["subscription"]


def free_user():
    uid = new_id()
    tok = token(uid)
    expect(get("/api/v1/account", tok), 200)
    return uid, tok


def row(uid):
    return sql("SELECT plan, cancel_at_period_end, coalesce(scheduled_plan, '-') FROM subscriptions"
               " WHERE user_id = :'p1' AND status = 'active'", uid)


def audit_actions(uid):
    return [r[0] for r in sql("SELECT action FROM audit_log WHERE user_id = :'p1'"
                              " AND action LIKE 'subscription.%' ORDER BY id", uid)]


def outbox_events(uid):
    return [r[0] for r in sql("SELECT event FROM outbox WHERE user_id = :'p1' ORDER BY id", uid)]


def test_cancel_schedules_end_at_period_end():
    uid, tok, before = paid()
    r = expect(post(CANCEL, tok), 200)
    sub = r.json["subscription"]
    assert sub == dict(before, cancel_at_period_end=True, renews_at=None), sub
    assert sub["plan"] == "studio" and sub["status"] == "active"
    assert row(uid) == [["studio", "t", "-"]]
    assert expect(get("/api/v1/account", tok), 200).json["subscription"] == sub
    assert audit_actions(uid) == ["subscription.started", "subscription.cancel_scheduled"]
    assert outbox_events(uid) == ["subscription_started", "subscription_cancel_scheduled"]
    audit = sql("SELECT actor_role, actor_id, before->>'cancel_at_period_end', after->>'cancel_at_period_end'"
                " FROM audit_log WHERE user_id = :'p1' AND action = 'subscription.cancel_scheduled'", uid)
    assert audit == [["user", uid, "false", "true"]]


def test_cancel_is_idempotent():
    uid, tok, _ = paid()
    first = expect(post(CANCEL, tok, {"reason": "quality"}), 200)
    second = expect(post(CANCEL, tok, {"reason": "other", "comment": "again"}), 200)
    assert first.json == second.json
    assert row(uid) == [["studio", "t", "-"]]
    assert audit_actions(uid).count("subscription.cancel_scheduled") == 1
    assert outbox_events(uid).count("subscription_cancel_scheduled") == 1
    # a repeated click stores no second feedback
    assert sql("SELECT reason FROM cancellation_feedback WHERE user_id = :'p1'", uid) == [["quality"]]


def test_cancel_clears_a_scheduled_downgrade():
    uid, tok, _ = paid()
    expect(post(DOWNGRADE, tok, {"plan": "pro"}), 200)
    assert row(uid) == [["studio", "f", "pro"]]
    r = expect(post(CANCEL, tok), 200)
    assert r.json["subscription"]["scheduled_change"] is None
    assert r.json["subscription"]["cancel_at_period_end"] is True
    assert row(uid) == [["studio", "t", "-"]]


def test_cancel_feedback_is_stored():
    uid, tok, _ = paid()
    expect(post(CANCEL, tok, {"reason": "too_expensive", "comment": "Line one\nline two"}), 200)
    assert sql("SELECT f.reason, f.comment = E'Line one\\nline two', f.subscription_id = s.id"
               " FROM cancellation_feedback f JOIN subscriptions s ON s.user_id = f.user_id"
               " WHERE f.user_id = :'p1'", uid) == [["too_expensive", "t", "t"]]


def test_cancel_without_feedback_stores_none():
    uid, tok, _ = paid()
    expect(post(CANCEL, tok, {}), 200)
    assert sql_value("SELECT count(*) FROM cancellation_feedback WHERE user_id = :'p1'", uid) == "0"


def test_cancel_free_user_is_409():
    uid, tok = free_user()
    expect(post(CANCEL, tok), 409, "no_active_subscription")
    expect(post(CANCEL, tok, {"reason": "other"}), 409, "no_active_subscription")
    assert sql_value("SELECT count(*) FROM cancellation_feedback WHERE user_id = :'p1'", uid) == "0"


def test_cancel_bad_reason_is_400_and_changes_nothing():
    uid, tok, _ = paid()
    r = expect(post(CANCEL, tok, {"reason": "bored"}), 400, "invalid_request")
    assert "'reason'" in r.json["detail"]
    expect(post(CANCEL, tok, {"reason": "other", "comment": "x" * 2001}), 400, "invalid_request")
    assert row(uid) == [["studio", "f", "-"]]
    assert audit_actions(uid) == ["subscription.started"]


def test_resume_undoes_the_cancellation():
    uid, tok, before = paid()
    expect(post(CANCEL, tok), 200)
    r = expect(post(RESUME, tok), 200)
    assert r.json["subscription"] == before
    assert r.json["subscription"]["renews_at"] == r.json["subscription"]["current_period_end"]
    assert row(uid) == [["studio", "f", "-"]]
    assert audit_actions(uid)[-1] == "subscription.resumed"
    assert outbox_events(uid)[-1] == "subscription_resumed"


def test_resume_when_nothing_scheduled_is_409():
    uid, tok, _ = paid()
    expect(post(RESUME, tok), 409, "not_scheduled_to_cancel")
    expect(post(CANCEL, tok), 200)
    expect(post(RESUME, tok), 200)
    expect(post(RESUME, tok), 409, "not_scheduled_to_cancel")
    uid2, tok2 = free_user()
    expect(post(RESUME, tok2), 409, "not_scheduled_to_cancel")


def test_downgrade_schedules_at_period_end():
    uid, tok, before = paid("studio")
    r = expect(post(DOWNGRADE, tok, {"plan": "pro"}), 200)
    sub = r.json["subscription"]
    assert sub["plan"] == "studio"                       # the current plan stays until then
    assert sub["scheduled_change"] == {"plan": "pro", "effective_at": before["current_period_end"]}
    assert sub["cancel_at_period_end"] is False and sub["renews_at"] == before["current_period_end"]
    assert row(uid) == [["studio", "f", "pro"]]
    acct = expect(get("/api/v1/account", tok), 200).json
    assert acct["subscription"] == sub and acct["credits"]["included_allowance"] == 2500
    assert audit_actions(uid)[-1] == "subscription.downgrade_scheduled"
    assert outbox_events(uid)[-1] == "subscription_downgrade_scheduled"


def test_downgrade_replaces_the_scheduled_one():
    # only two paid plans are seeded: replacing means scheduling the same target again
    uid, tok, _ = paid("studio")
    expect(post(DOWNGRADE, tok, {"plan": "pro"}), 200)
    r = expect(post(DOWNGRADE, tok, {"plan": "pro"}), 200)
    assert r.json["subscription"]["scheduled_change"]["plan"] == "pro"
    assert row(uid) == [["studio", "f", "pro"]]
    assert audit_actions(uid).count("subscription.downgrade_scheduled") == 2


def test_downgrade_free_user_is_409_before_plan_checks():
    uid, tok = free_user()
    expect(post(DOWNGRADE, tok, {"plan": "pro"}), 409, "no_active_subscription")
    expect(post(DOWNGRADE, tok, {"plan": "platinum"}), 409, "no_active_subscription")
    expect(post(DOWNGRADE, tok, {"plan": "free"}), 409, "no_active_subscription")


def test_downgrade_with_cancellation_scheduled_is_409_before_plan_checks():
    uid, tok, _ = paid("studio")
    expect(post(CANCEL, tok), 200)
    expect(post(DOWNGRADE, tok, {"plan": "pro"}), 409, "cancellation_scheduled")
    expect(post(DOWNGRADE, tok, {"plan": "platinum"}), 409, "cancellation_scheduled")
    assert row(uid) == [["studio", "t", "-"]]


def test_downgrade_unknown_plan_is_422():
    uid, tok, _ = paid("studio")
    expect(post(DOWNGRADE, tok, {"plan": "platinum"}), 422, "unknown_plan")
    expect(post(DOWNGRADE, tok, {"plan": "Pro"}), 422, "unknown_plan")
    assert row(uid) == [["studio", "f", "-"]]


def test_downgrade_to_same_higher_or_free_is_422():
    uid, tok, _ = paid("studio")
    expect(post(DOWNGRADE, tok, {"plan": "studio"}), 422, "not_a_downgrade")
    expect(post(DOWNGRADE, tok, {"plan": "free"}), 422, "not_a_downgrade")
    uid2, tok2, _ = paid("pro")
    expect(post(DOWNGRADE, tok2, {"plan": "studio"}), 422, "not_a_downgrade")
    expect(post(DOWNGRADE, tok2, {"plan": "pro"}), 422, "not_a_downgrade")
    expect(post(DOWNGRADE, tok2, {"plan": "free"}), 422, "not_a_downgrade")
    assert row(uid) == [["studio", "f", "-"]] and row(uid2) == [["pro", "f", "-"]]
    assert audit_actions(uid) == audit_actions(uid2) == ["subscription.started"]


def test_withdraw_scheduled_change():
    uid, tok, before = paid("studio")
    expect(post(DOWNGRADE, tok, {"plan": "pro"}), 200)
    r = expect(delete(SCHEDULED, tok), 200)
    assert r.json["subscription"] == before
    assert row(uid) == [["studio", "f", "-"]]
    assert audit_actions(uid)[-1] == "subscription.scheduled_change_withdrawn"
    assert outbox_events(uid)[-1] == "subscription_downgrade_withdrawn"
    expect(delete(SCHEDULED, tok), 409, "no_scheduled_change")


def test_withdraw_without_scheduled_change_is_409():
    uid, tok, _ = paid("studio")
    expect(delete(SCHEDULED, tok), 409, "no_scheduled_change")
    expect(post(CANCEL, tok), 200)
    expect(delete(SCHEDULED, tok), 409, "no_scheduled_change")   # a cancellation is not a plan change
    uid2, tok2 = free_user()
    expect(delete(SCHEDULED, tok2), 409, "no_scheduled_change")


def test_refused_actions_write_no_audit_or_outbox():
    uid, tok, _ = paid("pro")
    audit = audit_actions(uid)
    events = outbox_events(uid)
    expect(post(RESUME, tok), 409, "not_scheduled_to_cancel")
    expect(post(DOWNGRADE, tok, {"plan": "studio"}), 422, "not_a_downgrade")
    expect(delete(SCHEDULED, tok), 409, "no_scheduled_change")
    assert audit_actions(uid) == audit and outbox_events(uid) == events


def test_a_user_only_touches_their_own_subscription():
    alice, alice_tok, alice_sub = paid("studio")
    bob, bob_tok, _ = paid("studio")
    expect(post(CANCEL, bob_tok), 200)
    expect(post(DOWNGRADE, alice_tok, {"plan": "pro"}), 200)
    assert row(alice) == [["studio", "f", "pro"]] and row(bob) == [["studio", "t", "-"]]
    a = expect(get("/api/v1/account", alice_tok), 200).json
    b = expect(get("/api/v1/account", bob_tok), 200).json
    assert a["user"]["id"] == alice and b["user"]["id"] == bob
    assert a["subscription"]["scheduled_change"]["plan"] == "pro" and a["subscription"]["cancel_at_period_end"] is False
    assert b["subscription"]["scheduled_change"] is None and b["subscription"]["cancel_at_period_end"] is True
    # the body cannot name another user
    expect(post(CANCEL, alice_tok, {"user_id": bob}), 400, "invalid_request")
    assert row(bob) == [["studio", "t", "-"]]
    assert all(r[0] == bob for r in sql("SELECT coalesce(actor_id, '-') FROM audit_log WHERE user_id = :'p1'"
                                        " AND actor_role = 'user'", bob))
