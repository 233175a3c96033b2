"""POST/GET /api/v1/refund-requests and GET /api/v1/refund-form: the order
of refusals, the window, automatic approval of duplicate subscription
charges, and one open request per record."""
import threading
from billing import *

INELIGIBLE = ["dissatisfaction", "unused_credits", "account_suspension",
              "third_party_outage", "price_change"]


def test_refund_form_shape():
    uid, tok = user(plan="pro")
    r = expect(get("/api/v1/refund-form", token(uid, email="form@example.com")), 200).json
    assert r["window_days"] == 14 and r["response_business_days"] == 5
    assert r["support_email"] == "support@personaforge.xyz"
    assert r["email"] == "form@example.com"
    codes = [x["code"] for x in r["reasons"]]
    assert codes == ["duplicate_charge", "system_failure", "billing_error", "unauthorized_charge"] + INELIGIBLE
    by_code = {x["code"]: x for x in r["reasons"]}
    assert by_code["duplicate_charge"]["applies_to"] == ["charge"]
    assert by_code["system_failure"]["applies_to"] == ["task"]
    for code in INELIGIBLE:
        assert by_code[code]["eligible"] is False and "section 5" in by_code[code]["explanation"]
    fields = {f["name"]: f for f in r["fields"]}
    assert set(fields) == {"charge_id", "task_id", "reason", "description", "email"}
    assert fields["description"] == {"name": "description", "required": True, "max_length": 2000}
    assert fields["reason"]["required"] is True and fields["email"]["required"] is False
    assert [c["id"] for c in r["charges"]] == [first_charge(tok)["id"]]
    assert r["tasks"] == []


def test_refund_form_lists_only_open_paid_charges_and_failed_unreturned_tasks():
    uid, tok = user(plan="pro")
    now = int(time.time())
    inside = pack(uid, charged_at=now - WINDOW + 60)
    outside = pack(uid, charged_at=now - WINDOW - 60)
    requested = pack(uid)
    expect(refund(tok, requested["id"]), 201)
    provider_failed = failed_task(uid, 5, "provider")
    user_failed = failed_task(uid, 6, "user")
    failed_task(uid, 7, "platform")                                   # returned at once
    running = expect(start_task(uid, 8), 201).json["task"]["id"]     # not failed
    requested_task = failed_task(uid, 9, "provider")
    expect(refund(tok, task_id=requested_task, reason="system_failure"), 201)
    form = expect(get("/api/v1/refund-form", tok), 200).json
    ids = {c["id"] for c in form["charges"]}
    assert inside["id"] in ids and outside["id"] not in ids and requested["id"] not in ids
    assert first_charge(tok)["id"] in ids
    tasks = {t["id"]: t for t in form["tasks"]}
    assert set(tasks) == {provider_failed, user_failed}, tasks
    assert running not in tasks
    t = tasks[provider_failed]
    assert t["kind"] == "image" and t["credits"] == 5 and t["failure_cause"] == "provider" and t["failed_at"]


def test_every_ineligible_reason_refused_with_its_explanation():
    uid, tok = user(plan="pro")
    charge_id = first_charge(tok)["id"]
    task_id = failed_task(uid)
    explanations = {x["code"]: x.get("explanation") for x in get("/api/v1/refund-form", tok).json["reasons"]}
    for code in INELIGIBLE:
        r = expect(refund(tok, charge_id, reason=code), 422, "reason_not_eligible")
        assert r.json["detail"] == explanations[code], r
        expect(refund(tok, task_id=task_id, reason=code), 422, "reason_not_eligible")
    assert sql_value("SELECT count(*) FROM refund_requests WHERE user_id = :'p1'", uid) == "0"


def test_reason_not_applicable():
    uid, tok = user(plan="pro")
    charge_id = first_charge(tok)["id"]
    r = expect(refund(tok, charge_id, reason="system_failure"), 422, "reason_not_applicable")
    assert "not a charge" in r.json["detail"]
    task_id = failed_task(uid)
    for reason in ["duplicate_charge", "billing_error", "unauthorized_charge"]:
        expect(refund(tok, task_id=task_id, reason=reason), 422, "reason_not_applicable")
    running = expect(start_task(uid, 3), 201).json["task"]["id"]
    r = expect(refund(tok, task_id=running, reason="system_failure"), 422, "reason_not_applicable")
    assert "running" in r.json["detail"]
    completed = expect(start_task(uid, 3), 201).json["task"]["id"]
    expect(post(f"/api/v1/internal/tasks/{completed}/complete", service_token()), 200)
    r = expect(refund(tok, task_id=completed, reason="system_failure"), 422, "reason_not_applicable")
    assert "completed" in r.json["detail"]


def test_ineligible_reason_comes_before_not_applicable_and_window():
    uid, tok = user(plan="pro")
    old = pack(uid, charged_at=int(time.time()) - WINDOW - 3600)
    expect(refund(tok, old["id"], reason="price_change"), 422, "reason_not_eligible")
    expect(refund(tok, old["id"], reason="system_failure"), 422, "reason_not_applicable")
    expect(refund(tok, old["id"], reason="billing_error"), 422, "outside_refund_window")


def test_window_boundaries():
    uid, tok = user(plan="pro")
    now = int(time.time())
    inside = pack(uid, charged_at=now - WINDOW + 60)
    outside = pack(uid, charged_at=now - WINDOW - 60)
    assert parse_iso(inside["refundable_until"]) == parse_iso(inside["charged_at"]) + WINDOW
    expect(refund(tok, inside["id"]), 201)
    r = expect(refund(tok, outside["id"]), 422, "outside_refund_window")
    # the detail names the window and its end
    assert "14 days" in r.json["detail"] and iso(parse_iso(outside["charged_at"]) + WINDOW) in r.json["detail"]


def test_another_users_records_are_not_found():
    owner, owner_tok = user(plan="pro")
    other, other_tok = user()
    charge_id = first_charge(owner_tok)["id"]
    task_id = failed_task(owner)
    r = expect(refund(other_tok, charge_id), 404, "charge_not_found")
    r2 = expect(refund(other_tok, "ch_doesnotexist"), 404, "charge_not_found")
    assert r.json["detail"].replace(charge_id, "X") == r2.json["detail"].replace("ch_doesnotexist", "X")
    expect(refund(other_tok, task_id=task_id, reason="system_failure"), 404, "task_not_found")
    expect(refund(other_tok, task_id="tk_nope", reason="system_failure"), 404, "task_not_found")
    # the lookup comes before the reason's eligibility
    expect(refund(other_tok, charge_id, reason="dissatisfaction"), 404, "charge_not_found")
    assert get("/api/v1/refund-requests", other_tok).json["refund_requests"] == []
    assert charges(other_tok) == []


def test_request_shape_errors():
    uid, tok = user(plan="pro")
    charge_id = first_charge(tok)["id"]
    task_id = failed_task(uid)
    expect(refund(tok), 400, "invalid_request")
    expect(refund(tok, charge_id, task_id=task_id), 400, "invalid_request")
    expect(refund(tok, charge_id, reason="refund_please"), 400, "invalid_request")
    expect(refund(tok, charge_id, description=""), 400, "invalid_request")
    expect(refund(tok, charge_id, description="é" * 2001), 400, "invalid_request")
    expect(refund(tok, charge_id, email="not-an-address"), 400, "invalid_request")
    expect(refund(tok, charge_id, amount_cents=5), 400, "invalid_request")
    expect(post("/api/v1/refund-requests", tok, {"charge_id": charge_id, "description": "x"}), 400, "invalid_request")
    expect(post("/api/v1/refund-requests", tok, raw=b"{", content_type="application/json"), 400, "invalid_json")
    expect(refund(support_token(), charge_id), 403, "forbidden")
    # 2000 characters (not bytes) are fine
    r = expect(refund(tok, charge_id, description="é" * 2000), 201)
    assert r.json["description"] == "é" * 2000
    assert sql_value("SELECT count(*) FROM refund_requests WHERE user_id = :'p1'", uid) == "1"


def test_pending_request_fields_respond_by_and_notification():
    uid, tok = user(plan="pro")
    charge_id = first_charge(tok)["id"]
    r = expect(refund(tok, charge_id, reason="unauthorized_charge", description="Not me",
                      email="contact@example.org"), 201)
    req = r.json
    assert req["status"] == "pending" and req["reason"] == "unauthorized_charge"
    assert req["charge_id"] == charge_id and req["description"] == "Not me"
    assert req["email"] == "contact@example.org" and req["decision_note"] is None
    submitted = parse_iso(req["submitted_at"])
    due = parse_iso(req["respond_by"])
    assert req["respond_by"].endswith("T23:59:59Z")
    # the end of the 5th business day after the day of submission
    day = submitted - submitted % DAY
    left = 5
    while left:
        day += DAY
        if time.gmtime(day).tm_wday < 5:
            left -= 1
    assert due == day + DAY - 1, (req["submitted_at"], req["respond_by"])
    assert outbox_events(uid)[-1] == "refund_request_received"
    payload = sql_value("SELECT payload->>'respond_by' FROM outbox WHERE user_id = :'p1' AND event = 'refund_request_received'", uid)
    assert payload == req["respond_by"]
    assert audit_count(uid, "refund_request.submitted") == 1
    # default contact address: the account's
    r2 = expect(refund(tok, pack(uid)["id"], reason="billing_error"), 201)
    assert r2.json["email"] == f"{uid}@example.com"


def test_already_refunded_and_already_requested():
    uid, tok = user(plan="pro")
    charge_id = first_charge(tok)["id"]
    first = expect(refund(tok, charge_id), 201).json
    r = expect(refund(tok, charge_id, reason="unauthorized_charge"), 409, "refund_already_requested")
    assert r.json["detail"]
    expect(approve(first["id"]), 200)
    expect(refund(tok, charge_id), 409, "already_refunded")
    # a platform failure returned the task's credits already
    task_id = failed_task(uid, 5, "platform")
    expect(refund(tok, task_id=task_id, reason="system_failure"), 409, "already_refunded")
    other = failed_task(uid, 5, "provider")
    expect(refund(tok, task_id=other, reason="system_failure"), 201)
    expect(refund(tok, task_id=other, reason="system_failure"), 409, "refund_already_requested")
    # a denied request is no longer open: asking again is allowed
    pack_id = pack(uid)["id"]
    denied = expect(refund(tok, pack_id), 201).json["id"]
    expect(deny(denied), 200)
    expect(refund(tok, pack_id, description="More details."), 201)


def test_duplicate_subscription_charge_is_approved_at_once():
    uid, tok = user(plan="pro")
    original = first_charge(tok)
    dup = expect(record_charge(uid, amount=2900), 201).json["charge"]
    assert dup["period_start"] == original["period_start"] and dup["period_end"] == original["period_end"]
    r = expect(refund(tok, dup["id"], reason="duplicate_charge", description="Charged twice"), 201).json
    assert r["status"] == "approved" and r["decision_note"] and r["refunded_cents"] == 2900
    refunded = charge_by_id(tok, dup["id"])
    assert refunded["status"] == "refunded" and refunded["refunded_cents"] == 2900
    assert charge_by_id(tok, original["id"])["status"] == "paid"
    assert outbox_events(uid)[-2:] == ["refund_request_received", "refund_request_decided"]
    assert sql_value("SELECT decided_by FROM refund_requests WHERE id = :'p1'", r["id"]) == "system"
    assert audit_count(uid, "charge.refunded") == 1
    # the remaining charge is the only paid one now: no longer a proven duplicate
    r2 = expect(refund(tok, original["id"], reason="duplicate_charge"), 201).json
    assert r2["status"] == "pending"
    assert charge_by_id(tok, original["id"])["status"] == "paid"


def test_duplicate_claims_that_are_not_proven_stay_pending():
    uid, tok = user(plan="pro")
    # a single subscription charge
    r = expect(refund(tok, first_charge(tok)["id"], reason="duplicate_charge"), 201).json
    assert r["status"] == "pending"
    # credit packs are never approved automatically
    a = pack(uid)
    pack(uid)
    assert expect(refund(tok, a["id"], reason="duplicate_charge"), 201).json["status"] == "pending"
    # a paid charge for another period of the same subscription is no duplicate
    uid2, _ = subscribe(plan="pro", started_at=int(time.time()) - 40 * DAY)
    tok2 = token(uid2)
    renewal, checkout = charges(tok2)          # newest first
    assert renewal["period_start"] == checkout["period_end"]
    r2 = expect(refund(tok2, renewal["id"], reason="duplicate_charge"), 201).json
    assert r2["status"] == "pending"
    # a second charge for the current period is
    extra = expect(record_charge(uid2), 201).json["charge"]
    assert extra["period_start"] == renewal["period_start"]
    r3 = expect(refund(tok2, extra["id"], reason="duplicate_charge"), 201).json
    assert r3["status"] == "approved"
    assert charge_by_id(tok2, extra["id"])["status"] == "refunded"


def test_concurrent_duplicate_submissions_give_one_request():
    uid, tok = user(plan="pro")
    charge_id = first_charge(tok)["id"]
    results = []
    lock = threading.Lock()

    def submit():
        r = refund(tok, charge_id, description="same click, twenty times")
        with lock:
            results.append((r.status, r.code))

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(results)
    assert statuses.count((201, None)) == 1, statuses
    assert statuses.count((409, "refund_already_requested")) == 19, statuses
    assert sql_value("SELECT count(*) FROM refund_requests WHERE charge_id = :'p1'", charge_id) == "1"


def test_list_newest_first_only_own():
    uid, tok = user(plan="pro")
    a = expect(refund(tok, pack(uid)["id"]), 201).json["id"]
    b = expect(refund(tok, pack(uid)["id"]), 201).json["id"]
    c = expect(refund(tok, task_id=failed_task(uid), reason="system_failure"), 201).json
    assert "charge_id" not in c and c["task_id"]
    other, other_tok = user(plan="pro")
    expect(refund(other_tok, first_charge(other_tok)["id"]), 201)
    listed = expect(get("/api/v1/refund-requests", tok), 200).json["refund_requests"]
    assert [x["id"] for x in listed] == [c["id"], b, a]
    assert all(x["status"] == "pending" and x["respond_by"] for x in listed)


def test_email_required_when_the_account_has_none():
    uid, _ = subscribe(plan="pro")
    sql("UPDATE users SET email = NULL WHERE id = :'p1'", uid)   # an account known only by its sub
    tok = token(uid)                                             # and a token without email
    form = expect(get("/api/v1/refund-form", tok), 200).json
    assert form["email"] is None
    assert next(f for f in form["fields"] if f["name"] == "email")["required"] is True
    charge = first_charge(tok)
    r = expect(refund(tok, charge_id=charge["id"]), 400, "invalid_request")
    assert "email" in r.json["detail"]
    ok = expect(refund(tok, charge_id=charge["id"], email="me@example.com"), 201).json
    assert ok["email"] == "me@example.com"


def test_email_optional_when_the_account_has_one():
    uid, tok = user(plan="pro")
    form = expect(get("/api/v1/refund-form", tok), 200).json
    assert next(f for f in form["fields"] if f["name"] == "email")["required"] is False
    r = expect(refund(tok, charge_id=first_charge(tok)["id"]), 201).json
    assert r["email"] == f"{uid}@example.com"
