"""Support: the review queue, approving (in full, in part, a credit pack's
clawback, a task's credits) and denying refund requests, and Terms of
Service suspension."""
from billing import *


def test_queue_oldest_first_with_context():
    uid, tok = user(plan="pro")
    charge = first_charge(tok)
    a = expect(refund(tok, charge["id"]), 201).json["id"]
    task_id = failed_task(uid, 12, "provider")
    b = expect(refund(tok, task_id=task_id, reason="system_failure"), 201).json["id"]
    queue = expect(get("/api/v1/support/refund-requests", support_token()), 200).json["refund_requests"]
    ids = [x["id"] for x in queue]
    assert ids.index(a) < ids.index(b)
    ra = next(x for x in queue if x["id"] == a)
    assert ra["user_id"] == uid and ra["account_email"] == f"{uid}@example.com"
    assert ra["charge"]["id"] == charge["id"] and ra["charge"]["amount_cents"] == 2900
    assert ra["overdue"] is False and ra["status"] == "pending"
    rb = next(x for x in queue if x["id"] == b)
    assert rb["task"] == {"id": task_id, "kind": "image", "credits": 12,
                          "failed_at": rb["task"]["failed_at"], "failure_cause": "provider"}
    same = expect(get("/api/v1/support/refund-requests?status=pending", support_token()), 200).json
    assert a in [x["id"] for x in same["refund_requests"]]
    expect(approve(a), 200)
    expect(deny(b), 200)
    approved = get("/api/v1/support/refund-requests?status=approved", support_token()).json["refund_requests"]
    denied = get("/api/v1/support/refund-requests?status=denied", support_token()).json["refund_requests"]
    assert a in [x["id"] for x in approved] and b in [x["id"] for x in denied]
    assert all(x["status"] == "approved" for x in approved)
    pending = get("/api/v1/support/refund-requests", support_token()).json["refund_requests"]
    assert a not in [x["id"] for x in pending] and b not in [x["id"] for x in pending]
    expect(get("/api/v1/support/refund-requests?status=open", support_token()), 400, "invalid_request")
    expect(get("/api/v1/support/refund-requests", tok), 403, "forbidden")
    expect(get("/api/v1/charges", support_token()), 403, "forbidden")


def test_approve_in_full_shows_refunded():
    uid, tok = user(plan="pro")
    charge_id = first_charge(tok)["id"]
    rid = expect(refund(tok, charge_id), 201).json["id"]
    r = expect(approve(rid, {"note": "Confirmed with the provider."}, agent="agent_7"), 200).json["refund_request"]
    assert r["status"] == "approved" and r["decision_note"] == "Confirmed with the provider."
    assert r["refunded_cents"] == 2900 and r["decided_at"]
    c = charge_by_id(tok, charge_id)
    assert c["status"] == "refunded" and c["refunded_cents"] == 2900 and c["refunded_at"]
    assert sql_value("SELECT decided_by FROM refund_requests WHERE id = :'p1'", rid) == "agent_7"
    assert sql_value("SELECT actor_id FROM audit_log WHERE user_id = :'p1' AND action = 'refund_request.approved'", uid) == "agent_7"
    assert outbox_events(uid)[-1] == "refund_request_decided"
    mine = get("/api/v1/refund-requests", tok).json["refund_requests"][0]
    assert mine["status"] == "approved" and mine["decision_note"] == "Confirmed with the provider."


def test_partial_refund_then_the_rest():
    uid, tok = user(plan="pro")
    charge_id = first_charge(tok)["id"]
    rid = expect(refund(tok, charge_id), 201).json["id"]
    r = expect(approve(rid, {"amount_cents": 1000, "note": "Overcharge returned."}), 200).json["refund_request"]
    assert r["refunded_cents"] == 1000
    c = charge_by_id(tok, charge_id)
    assert c["status"] == "partially_refunded" and c["refunded_cents"] == 1000
    # a partly refunded charge may be asked about again, and is no longer "paid" on the form
    assert charge_id not in [x["id"] for x in get("/api/v1/refund-form", tok).json["charges"]]
    rid2 = expect(refund(tok, charge_id, reason="unauthorized_charge"), 201).json["id"]
    expect(approve(rid2, {"amount_cents": 1901}), 422, "invalid_amount")
    expect(approve(rid2), 200)
    c = charge_by_id(tok, charge_id)
    assert c["status"] == "refunded" and c["refunded_cents"] == 2900


def test_invalid_amount():
    uid, tok = user(plan="pro")
    charge_id = first_charge(tok)["id"]
    rid = expect(refund(tok, charge_id), 201).json["id"]
    for amount in [0, -5, 2901]:
        r = expect(approve(rid, {"amount_cents": amount}), 422, "invalid_amount")
        assert "2900" in r.json["detail"]
    assert charge_by_id(tok, charge_id)["status"] == "paid"
    assert sql_value("SELECT status FROM refund_requests WHERE id = :'p1'", rid) == "pending"
    expect(approve(rid, {"amount_cents": "12"}), 400, "invalid_request")
    expect(approve(rid, {"amount_cents": 2900}), 200)


def test_amount_on_a_task_request_is_invalid_request():
    uid, tok = user(plan="pro")
    rid = expect(refund(tok, task_id=failed_task(uid), reason="system_failure"), 201).json["id"]
    expect(approve(rid, {"amount_cents": 5}), 400, "invalid_request")
    assert sql_value("SELECT status FROM refund_requests WHERE id = :'p1'", rid) == "pending"


def test_already_decided_and_not_found():
    uid, tok = user(plan="pro")
    a = expect(refund(tok, first_charge(tok)["id"]), 201).json["id"]
    expect(approve(a), 200)
    expect(approve(a), 409, "already_decided")
    expect(deny(a), 409, "already_decided")
    b = expect(refund(tok, pack(uid)["id"]), 201).json["id"]
    expect(deny(b), 200)
    expect(approve(b), 409, "already_decided")
    expect(approve("rr_nope"), 404, "refund_request_not_found")
    expect(deny("rr_nope"), 404, "refund_request_not_found")
    expect(post(f"/api/v1/support/refund-requests/{b}/deny", tok, {"note": "x"}), 403, "forbidden")


def test_deny_needs_a_note_and_moves_nothing():
    uid, tok = user(plan="pro")
    charge_id = first_charge(tok)["id"]
    rid = expect(refund(tok, charge_id), 201).json["id"]
    expect(deny(rid, note=None), 400, "invalid_request")
    expect(deny(rid, note=""), 400, "invalid_request")
    r = expect(deny(rid, note="The amount matches your plan."), 200).json["refund_request"]
    assert r["status"] == "denied" and r["decision_note"] == "The amount matches your plan."
    assert r["refunded_cents"] is None
    assert charge_by_id(tok, charge_id)["status"] == "paid"
    assert outbox_events(uid)[-1] == "refund_request_decided"
    assert audit_count(uid, "refund_request.denied") == 1


def test_credit_pack_refund_takes_back_only_credits_still_held():
    uid, tok = user()                       # free: 50 included
    p = pack(uid, credits=500, amount=1500)
    assert balances(uid) == (50, 500)
    expect(start_task(uid, 250), 201)       # 50 included + 200 purchased
    assert balances(uid) == (0, 300)
    rid = expect(refund(tok, p["id"], reason="unauthorized_charge"), 201).json["id"]
    expect(approve(rid), 200)
    assert balances(uid) == (0, 0)
    assert sql_value("SELECT sum(delta) FROM credit_ledger WHERE user_id = :'p1' AND cause = 'clawback'", uid) == "-300"
    assert charge_by_id(tok, p["id"])["status"] == "refunded"


def test_credit_pack_partly_refunded_keeps_its_credits():
    uid, tok = user()
    p = pack(uid, credits=500, amount=1500)
    rid = expect(refund(tok, p["id"], reason="billing_error"), 201).json["id"]
    expect(approve(rid, {"amount_cents": 500}), 200)
    assert balances(uid) == (50, 500)
    assert charge_by_id(tok, p["id"])["status"] == "partially_refunded"
    rid2 = expect(refund(tok, p["id"], reason="billing_error"), 201).json["id"]
    expect(approve(rid2), 200)          # now fully refunded: the credits go
    assert balances(uid) == (50, 0)


def test_task_request_approval_returns_credits_where_they_came_from():
    uid, tok = user(plan="pro")          # 800 included
    pack(uid, credits=100)
    task = expect(start_task(uid, 850), 201).json["task"]
    assert (task["included_spent"], task["purchased_spent"]) == (800, 50)
    expect(fail_task(task["id"], "provider"), 200)
    assert balances(uid) == (0, 50)
    rid = expect(refund(tok, task_id=task["id"], reason="system_failure"), 201).json["id"]
    r = expect(approve(rid), 200).json["refund_request"]
    assert r["status"] == "approved" and r["refunded_cents"] is None
    assert balances(uid) == (800, 100)
    assert sql_value("SELECT credits_returned FROM tasks WHERE id = :'p1'", task["id"]) == "t"
    # returned: it leaves the form
    assert task["id"] not in [t["id"] for t in get("/api/v1/refund-form", tok).json["tasks"]]


def test_suspension_effects():
    uid, tok = user(plan="studio")
    p = pack(uid, credits=300)
    dup = expect(record_charge(uid, amount=7900), 201).json["charge"]
    r = expect(suspend(uid), 200).json
    assert r["user"]["status"] == "suspended"
    assert r["subscription"]["plan"] == "free" and r["subscription"]["renews_at"] is None
    assert r["credits"]["purchased_remaining"] == 300          # kept, frozen
    assert r["credits"]["included_remaining"] == 50            # the free allowance
    assert sql_value("SELECT end_cause FROM subscriptions WHERE user_id = :'p1'", uid) == "suspended"
    assert sql_value("SELECT status FROM users WHERE id = :'p1'", uid) == "suspended"
    events = outbox_events(uid)
    assert "subscription_ended" in events and events[-1] == "account_suspended"
    # no refund of the unused period: no charge changed
    assert all(c["status"] == "paid" for c in charges(tok))
    # purchased credits frozen: tasks refused, balances unchanged
    expect(start_task(uid, 1), 403, "account_suspended")
    assert balances(uid) == (50, 300)
    # the refunds policy 4 promises can still be asked, always reviewed by a person
    req = expect(refund(tok, dup["id"], reason="duplicate_charge"), 201).json
    assert req["status"] == "pending"
    assert charge_by_id(tok, dup["id"])["status"] == "paid"
    expect(refund(tok, p["id"], reason="account_suspension"), 422, "reason_not_eligible")
    # suspending again changes nothing
    again = expect(suspend(uid, note="again"), 200).json
    assert again == get("/api/v1/account", tok).json
    assert audit_count(uid, "user.suspended") == 1
    # support may still approve what is open
    expect(approve(req["id"]), 200)
    assert charge_by_id(tok, dup["id"])["status"] == "refunded"
    # a checkout for a suspended account is refused
    r = post("/api/v1/internal/subscriptions", service_token(),
             {"user_id": uid, "email": f"{uid}@example.com", "plan": "pro", "provider_ref": new_id("ref")})
    expect(r, 403, "account_suspended")


def test_suspend_errors():
    expect(suspend("u_nobody_here"), 404, "user_not_found")
    uid, tok = user()
    expect(post(f"/api/v1/support/users/{uid}/suspend", support_token(), {}), 400, "invalid_request")
    expect(post(f"/api/v1/support/users/{uid}/suspend", tok, {"note": "x"}), 403, "forbidden")
    assert sql_value("SELECT status FROM users WHERE id = :'p1'", uid) == "active"


def test_null_amount_is_400_not_a_full_refund():
    uid, tok = user(plan="pro")
    charge = first_charge(tok)
    rid = expect(refund(tok, charge_id=charge["id"], reason="billing_error"), 201).json["id"]
    r = expect(approve(rid, {"amount_cents": None}), 400, "invalid_request")
    assert "amount_cents" in r.json["detail"]
    assert charge_by_id(tok, charge["id"])["status"] == "paid"
    assert expect(approve(rid, {"amount_cents": 500}), 200).json["refund_request"]["status"] == "approved"
