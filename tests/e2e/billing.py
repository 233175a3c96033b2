"""billing.py: helpers for the charges, refunds, support and task tests."""
import time
from harness import *

DAY = 86400
WINDOW = 14 * DAY


def user(uid=None, plan=None):
    """A provisioned user (on `plan` when given) and their token."""
    if plan is not None:
        uid, _ = subscribe(user_id=uid, plan=plan)
    else:
        uid = uid or new_id()
        assert get("/api/v1/account", token(uid, email=f"{uid}@example.com")).status == 200
    return uid, token(uid)


def record_charge(uid, kind="subscription", amount=2900, charged_at=None, credits=None,
                  period_start=None, ref=None, currency="USD", **extra):
    body = {"user_id": uid, "kind": kind, "amount_cents": amount, "currency": currency,
            "provider_ref": ref or new_id("ref")}
    if charged_at is not None:
        body["charged_at"] = iso(charged_at) if isinstance(charged_at, int) else charged_at
    if credits is not None:
        body["credits"] = credits
    if period_start is not None:
        body["period_start"] = period_start
    body.update(extra)
    return post("/api/v1/internal/charges", service_token(), body)


def pack(uid, credits=500, amount=1500, **kw):
    r = expect(record_charge(uid, kind="credit_pack", amount=amount, credits=credits, **kw), 201)
    return r.json["charge"]


def charges(tok):
    return expect(get("/api/v1/charges", tok), 200).json["charges"]


def charge_by_id(tok, charge_id):
    return next(c for c in charges(tok) if c["id"] == charge_id)


def first_charge(tok):
    """The oldest subscription charge (a fresh subscription's checkout charge)."""
    return [c for c in charges(tok) if c["kind"] == "subscription"][-1]


def refund(tok, charge_id=None, task_id=None, reason="billing_error", description="Please check this.",
           **extra):
    body = {"reason": reason, "description": description}
    if charge_id is not None:
        body["charge_id"] = charge_id
    if task_id is not None:
        body["task_id"] = task_id
    body.update(extra)
    return post("/api/v1/refund-requests", tok, body)


def start_task(uid, credits, kind="image"):
    return post("/api/v1/internal/tasks", service_token(), {"user_id": uid, "kind": kind, "credits": credits})


def fail_task(task_id, cause):
    return post(f"/api/v1/internal/tasks/{task_id}/fail", service_token(), {"cause": cause})


def failed_task(uid, credits=10, cause="provider"):
    task = expect(start_task(uid, credits), 201).json["task"]
    expect(fail_task(task["id"], cause), 200)
    return task["id"]


def balances(uid):
    c = expect(get("/api/v1/account", token(uid)), 200).json["credits"]
    return c["included_remaining"], c["purchased_remaining"]


def approve(request_id, body=None, agent="agent_1"):
    return post(f"/api/v1/support/refund-requests/{request_id}/approve", support_token(agent), body)


def deny(request_id, note="Not a billing error.", agent="agent_1"):
    body = {"note": note} if note is not None else None
    return post(f"/api/v1/support/refund-requests/{request_id}/deny", support_token(agent), body)


def suspend(uid, note="Terms of Service violation."):
    return post(f"/api/v1/support/users/{uid}/suspend", support_token(), {"note": note})


def outbox_events(uid):
    return [row[0] for row in sql("SELECT event FROM outbox WHERE user_id = :'p1' ORDER BY id", uid)]


def audit_count(uid, action):
    return int(sql_value("SELECT count(*) FROM audit_log WHERE user_id = :'p1' AND action = :'p2'", uid, action))
