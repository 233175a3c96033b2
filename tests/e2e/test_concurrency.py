"""Races through real parallel HTTP: the answers must be ones some serial
order of the same requests would give, and the database must agree."""
import threading
from billing import *


def parallel(n, fn):
    """Runs fn(i) in n threads released together; returns the answers."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        barrier.wait()
        out[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_fifty_identical_refund_requests_give_one_request():
    uid, tok = user(plan="pro")
    charge = first_charge(tok)
    answers = parallel(50, lambda i: refund(tok, charge_id=charge["id"], reason="billing_error"))
    statuses = sorted(r.status for r in answers)
    assert statuses.count(201) == 1, statuses
    assert all(r.status == 201 or r.code == "refund_already_requested" for r in answers), answers
    assert sql_value("SELECT count(*) FROM refund_requests WHERE charge_id = :'p1'", charge["id"]) == "1"


def test_fifty_parallel_task_spends_never_overdraw():
    uid, tok = user(plan="pro")            # 800 included credits
    pack(uid, credits=200)                 # + 200 purchased
    answers = parallel(50, lambda i: start_task(uid, 30))
    ok = [r for r in answers if r.status == 201]
    assert all(r.status == 201 or r.code == "insufficient_credits" for r in answers), answers
    assert len(ok) == 1000 // 30           # 33 fit, 17 are refused
    spent = sum(r.json["task"]["credits"] for r in ok)
    included, purchased = balances(uid)
    assert included + purchased == 1000 - spent and included == 0 and purchased == 1000 - spent
    assert int(sql_value("SELECT coalesce(sum(credits), 0) FROM tasks WHERE user_id = :'p1'", uid)) == spent


def test_double_clicked_cancel_and_resume_end_in_a_serial_state():
    uid, tok = user(plan="pro")
    answers = parallel(20, lambda i: post("/api/v1/subscription/cancel" if i % 2 == 0 else
                                          "/api/v1/subscription/resume", tok))
    assert all(r.status == 200 or r.code == "not_scheduled_to_cancel" for r in answers), answers
    sub = expect(get("/api/v1/account", tok), 200).json["subscription"]
    toggles = audit_count(uid, "subscription.cancel_scheduled") + audit_count(uid, "subscription.resumed")
    assert sub["cancel_at_period_end"] == (toggles % 2 == 1)
    # each successful resume undid exactly one cancellation before it
    assert audit_count(uid, "subscription.resumed") == sum(
        1 for r in answers if r.status == 200 and r.json["subscription"]["cancel_at_period_end"] is False)


def test_double_clicked_downgrade_and_cancel_never_hold_both():
    uid, tok = user(plan="studio")
    answers = parallel(20, lambda i: post("/api/v1/subscription/downgrade", tok, {"plan": "pro"})
                       if i % 2 == 0 else post("/api/v1/subscription/cancel", tok))
    assert all(r.status == 200 or r.code == "cancellation_scheduled" for r in answers), answers
    sub = expect(get("/api/v1/account", tok), 200).json["subscription"]
    assert not (sub["cancel_at_period_end"] and sub["scheduled_change"] is not None)
    # once a cancel has landed, a later downgrade is refused, so cancelled wins
    assert sub["cancel_at_period_end"] is True and sub["scheduled_change"] is None


def test_parallel_support_decisions_decide_once():
    uid, tok = user(plan="pro")
    charge = first_charge(tok)
    rid = expect(refund(tok, charge_id=charge["id"], reason="billing_error"), 201).json["id"]
    answers = parallel(20, lambda i: approve(rid, {"amount_cents": 100}) if i % 2 == 0 else deny(rid))
    assert sum(1 for r in answers if r.status == 200) == 1, answers
    assert all(r.status == 200 or r.code == "already_decided" for r in answers)
    refunded = charge_by_id(tok, charge["id"])["refunded_cents"]
    winner = next(r for r in answers if r.status == 200).json["refund_request"]["status"]
    assert refunded == (100 if winner == "approved" else 0)


def test_parallel_webhook_deliveries_record_one_charge():
    uid, tok = user(plan="pro")
    ref = new_id("ref")
    answers = parallel(20, lambda i: record_charge(uid, kind="credit_pack", amount=990, credits=100, ref=ref))
    assert sorted(r.status for r in answers).count(201) == 1, answers
    assert all(r.status in (200, 201) for r in answers)
    assert len({r.raw for r in answers}) == 1           # every delivery sees the first result
    assert balances(uid)[1] == 100
    assert sql_value("SELECT count(*) FROM charges WHERE provider_ref = :'p1'", ref) == "1"
