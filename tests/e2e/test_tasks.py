"""POST /api/v1/internal/tasks and .../{id}/complete|fail: spending order,
overdraft, suspension, and which failures return credits where."""
from billing import *


def test_spend_included_first_then_purchased():
    uid, tok = user(plan="pro")                 # 800 included
    pack(uid, credits=100)
    r = expect(start_task(uid, 750, kind="video"), 201).json["task"]
    assert r["status"] == "running" and r["kind"] == "video" and r["credits"] == 750
    assert (r["included_spent"], r["purchased_spent"]) == (750, 0)
    r = expect(start_task(uid, 100), 201).json["task"]
    assert (r["included_spent"], r["purchased_spent"]) == (50, 50)
    assert balances(uid) == (0, 50)
    r = expect(start_task(uid, 50, kind="training"), 201).json["task"]
    assert (r["included_spent"], r["purchased_spent"]) == (0, 50)
    assert balances(uid) == (0, 0)
    assert sql_value("SELECT sum(delta) FROM credit_ledger WHERE user_id = :'p1' AND cause = 'spend'", uid) == "-900"


def test_insufficient_credits_spends_nothing():
    uid, tok = user()                           # 50 included
    pack(uid, credits=20)
    r = expect(start_task(uid, 71), 402, "insufficient_credits")
    assert "71" in r.json["detail"]
    assert balances(uid) == (50, 20)
    assert sql_value("SELECT count(*) FROM tasks WHERE user_id = :'p1'", uid) == "0"
    expect(start_task(uid, 70), 201)
    assert balances(uid) == (0, 0)


def test_suspended_is_checked_first():
    uid, tok = user()
    expect(suspend(uid), 200)
    expect(start_task(uid, 10_000), 403, "account_suspended")
    expect(start_task(uid, 1), 403, "account_suspended")
    assert sql_value("SELECT count(*) FROM tasks WHERE user_id = :'p1'", uid) == "0"


def test_platform_failure_returns_to_the_balances_spent_from():
    uid, tok = user(plan="pro")
    pack(uid, credits=100)
    task = expect(start_task(uid, 850), 201).json["task"]   # 800 included + 50 purchased
    assert balances(uid) == (0, 50)
    r = expect(fail_task(task["id"], "platform"), 200).json["task"]
    assert r["status"] == "failed" and r["failure_cause"] == "platform"
    assert r["credits_returned"] is True and r["finished_at"]
    assert balances(uid) == (800, 100)
    assert audit_count(uid, "task.credits_returned") == 1


def test_platform_failure_after_a_reset_returns_included_as_purchased():
    uid, tok = user()                                       # free: 50 included
    pack(uid, credits=100)
    task = expect(start_task(uid, 80), 201).json["task"]    # 50 included + 30 purchased
    assert (task["included_spent"], task["purchased_spent"]) == (50, 30)
    subscribe(user_id=uid, plan="pro")                      # the included balance is reset: a new epoch
    assert balances(uid) == (800, 70)
    expect(fail_task(task["id"], "platform"), 200)
    # the 50 included credits come back as purchased: the reset did not swallow them
    assert balances(uid) == (800, 150)


def test_provider_and_user_failures_return_nothing():
    uid, tok = user(plan="pro")
    for cause in ["provider", "user"]:
        task = expect(start_task(uid, 100), 201).json["task"]
        before = balances(uid)
        r = expect(fail_task(task["id"], cause), 200).json["task"]
        assert r["failure_cause"] == cause and r["credits_returned"] is False
        assert balances(uid) == before
    assert balances(uid) == (600, 0)


def test_complete_and_finish_once():
    uid, tok = user(plan="pro")
    task = expect(start_task(uid, 10), 201).json["task"]
    r = expect(post(f"/api/v1/internal/tasks/{task['id']}/complete", service_token()), 200).json["task"]
    assert r["status"] == "completed" and r["failure_cause"] is None and r["credits_returned"] is False
    assert r["finished_at"]
    expect(post(f"/api/v1/internal/tasks/{task['id']}/complete", service_token()), 409, "task_finished")
    expect(fail_task(task["id"], "platform"), 409, "task_finished")
    assert balances(uid) == (790, 0)
    failed = failed_task(uid, 10, "platform")
    expect(fail_task(failed, "platform"), 409, "task_finished")
    expect(post(f"/api/v1/internal/tasks/{failed}/complete", service_token()), 409, "task_finished")
    assert balances(uid) == (790, 0)                       # returned once, not twice


def test_task_errors():
    uid, tok = user(plan="pro")
    expect(start_task("u_never_seen_2", 5), 404, "user_not_found")
    expect(post("/api/v1/internal/tasks/tk_nope/complete", service_token()), 404, "task_not_found")
    expect(fail_task("tk_nope", "platform"), 404, "task_not_found")
    expect(start_task(uid, 0), 400, "invalid_request")
    expect(start_task(uid, 5, kind="audio"), 400, "invalid_request")
    task = expect(start_task(uid, 5), 201).json["task"]
    expect(fail_task(task["id"], "cosmic_rays"), 400, "invalid_request")
    expect(post(f"/api/v1/internal/tasks/{task['id']}/fail", service_token()), 400, "invalid_request")
    expect(post("/api/v1/internal/tasks", tok, {"user_id": uid, "kind": "image", "credits": 1}), 403, "forbidden")
    expect(get("/api/v1/internal/tasks", service_token()), 405, "method_not_allowed")
    assert sql_value("SELECT status FROM tasks WHERE id = :'p1'", task["id"]) == "running"
