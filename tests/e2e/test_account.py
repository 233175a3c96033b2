"""GET /api/v1/account: provisioning on first sight and the account view."""
from harness import *


def test_new_user_is_provisioned_on_free_plan():
    uid = new_id()
    r = expect(get("/api/v1/account", token(uid, email=f"{uid}@example.com")), 200)
    assert r.json["user"] == {"id": uid, "email": f"{uid}@example.com", "status": "active"}
    sub = r.json["subscription"]
    assert sub == {"plan": "free", "status": "active", "current_period_start": None,
                   "current_period_end": None, "cancel_at_period_end": False,
                   "scheduled_change": None, "renews_at": None}
    credits = r.json["credits"]
    assert credits["included_remaining"] == credits["included_allowance"] == 50
    assert credits["included_resets_at"] is None and credits["purchased_remaining"] == 0
    assert sql_value("SELECT count(*) FROM audit_log WHERE user_id = :'p1' AND action = 'user.provisioned'", uid) == "1"


def test_email_absent_is_null_then_updated_then_kept():
    uid = new_id()
    assert get("/api/v1/account", token(uid)).json["user"]["email"] is None
    assert get("/api/v1/account", token(uid, email="a@b.c")).json["user"]["email"] == "a@b.c"
    assert get("/api/v1/account", token(uid)).json["user"]["email"] == "a@b.c"
    assert get("/api/v1/account", token(uid, email="new@b.c")).json["user"]["email"] == "new@b.c"


def test_paid_subscription_view():
    uid, _ = subscribe(plan="studio")
    r = expect(get("/api/v1/account", token(uid)), 200)
    sub = r.json["subscription"]
    assert sub["plan"] == "studio" and sub["status"] == "active"
    assert sub["renews_at"] == sub["current_period_end"]
    assert r.json["credits"]["included_remaining"] == 2500
    assert r.json["credits"]["included_resets_at"] == sub["current_period_end"]
