"""The reference pages (web/) in headless Chromium against the suite's
stack: what a customer and a support agent do, each step kept as a
screenshot (browser.ARTIFACTS). The API is asked afterwards to confirm what
the pages showed is what the service holds."""
import subprocess, time
from browser import Keys, browser
from billing import DAY, WINDOW, approve, charges, first_charge, pack, record_charge
from harness import *


def account_of(tok):
    return expect(get("/api/v1/account", tok), 200).json


def test_browser_cancel_then_resume():
    uid, _ = subscribe(plan="pro")
    tok = token(uid)
    end = account_of(tok)["subscription"]["current_period_end"]
    with browser() as page:
        page.open("/account/", tok)
        # the token left the address bar (and history) at once
        assert "#" not in page.d.current_url and "token" not in page.d.current_url, page.d.current_url
        assert page.text("#plan") == "Pro"
        page.wait_text("#renews-on", end[:10])
        page.select("#cancel-reason", "too_expensive")
        page.find("#cancel-comment").send_keys("Trying a cheaper tool.")
        page.find("#cancel-submit").click()
        status = page.wait_text("#active-until", "Active until")
        assert end[:10] in status, (status, end)
        assert page.find("#active-until time").get_attribute("datetime") == end
        assert not page.find("#cancel-form").is_displayed()
        page.shot("account-cancelled")
        sub = account_of(tok)["subscription"]
        assert sub["cancel_at_period_end"] is True and sub["renews_at"] is None
        assert sql_value("SELECT reason FROM cancellation_feedback WHERE user_id = :'p1'", uid) == "too_expensive"
        # keyboard: the resume button has the focus after the cancellation
        assert page.d.switch_to.active_element.get_attribute("id") == "resume"
        page.d.switch_to.active_element.send_keys(Keys.ENTER)
        page.wait_text("#renews-on", end[:10])
        page.shot("account-resumed")
    assert account_of(tok)["subscription"]["cancel_at_period_end"] is False


def test_browser_downgrade_then_withdraw():
    uid, _ = subscribe(plan="studio")
    tok = token(uid)
    end = account_of(tok)["subscription"]["current_period_end"]
    with browser() as page:
        page.open("/account/", tok)
        # the choices come from the plans table: paid plans below studio
        offered = [o.get_attribute("value") for o in page.finds("#downgrade-plan option")]
        assert offered == ["pro"], offered
        page.select("#downgrade-plan", "pro")
        page.find("#downgrade-submit").click()
        text = page.wait_text("#scheduled-text", "Switches to pro")
        assert end[:10] in text, (text, end)
        page.shot("account-downgrade-scheduled")
        assert account_of(tok)["subscription"]["scheduled_change"] == {"plan": "pro", "effective_at": end}
        page.find("#withdraw-downgrade").click()
        page.wait_text("#scheduled-change", "None")
        page.shot("account-downgrade-withdrawn")
    assert account_of(tok)["subscription"]["scheduled_change"] is None
    assert account_of(tok)["subscription"]["plan"] == "studio"


def test_browser_charge_outside_window_refused():
    uid, _ = subscribe(plan="pro")
    tok = token(uid)
    old = expect(record_charge(uid, kind="credit_pack", amount=900, credits=100,
                               charged_at=int(time.time()) - WINDOW - 3 * DAY), 201).json["charge"]
    with browser() as page:
        page.open("/account/", tok)
        row = f'#charges tr[data-charge-id="{old["id"]}"]'
        assert page.find(row).get_attribute("data-eligible") == "false"
        why = page.text(f"{row} .charge-refund")
        assert "Not eligible" in why and "14-day refund window" in why, why
        option = page.find(f'#refund-item option[value="charge:{old["id"]}"]')
        assert option.get_attribute("disabled") is not None and "not eligible" in option.text
        # forced past the disabled option, the form still refuses it and
        # sends nothing
        page.d.execute_script(
            "var s = document.getElementById('refund-item'); s.value = arguments[0];"
            "s.dispatchEvent(new Event('change'));", f"charge:{old['id']}")
        page.select("#refund-reason", "billing_error")
        page.find("#refund-description").send_keys("Charged twice, I think.")
        page.find("#refund-submit").click()
        refused = page.wait_text("#refund-error", "cannot be refunded")
        assert "14-day refund window" in refused, refused
        page.shot("account-refund-outside-window")
    assert expect(get("/api/v1/refund-requests", tok), 200).json["refund_requests"] == []


def test_browser_refund_pending_then_approved_by_support():
    uid, _ = subscribe(plan="pro")
    tok = token(uid)
    charge = first_charge(tok)
    with browser() as page:
        page.open("/account/", tok)
        row = f'#charges tr[data-charge-id="{charge["id"]}"]'
        assert page.find(row).get_attribute("data-eligible") == "true"
        assert "Eligible until" in page.text(f"{row} .charge-refund")
        # the policy's exclusions are explained before anything is sent
        assert "Dissatisf" in page.text("#not-covered") or "quality" in page.text("#not-covered").lower()
        page.select("#refund-item", f"charge:{charge['id']}")
        reasons = [o.get_attribute("value") for o in page.finds("#refund-reason option")]
        assert "billing_error" in reasons and "system_failure" not in reasons, reasons
        page.select("#refund-reason", "billing_error")
        page.find("#refund-description").send_keys("The price on the checkout page was lower.")
        assert page.find("#refund-email").get_attribute("value") == f"{uid}@example.com"
        page.find("#refund-submit").click()
        page.wait_text("#status", "Request received")
        mine = expect(get("/api/v1/refund-requests", tok), 200).json["refund_requests"]
        assert len(mine) == 1 and mine[0]["status"] == "pending", mine
        request_id = mine[0]["id"]
        page.wait_text(f'#requests tr[data-request-id="{request_id}"] .request-status', "pending")
        # an open request: the charge is no longer offered, and says why
        assert "already open" in page.text(f"{row} .charge-refund")
        page.shot("account-refund-pending")

        # the same browser tab, now support's: the fragment's token replaces
        # the one the tab kept (one Chromium start instead of three)
        page.open("/support/", support_token())
        row = f'#queue tr[data-request-id="{request_id}"]'
        page.wait(lambda d: page.finds(row), "the request is not in the queue")
        assert uid in page.text(row) and "billing_error" in page.text(row)
        assert page.find(row).get_attribute("data-overdue") == "false"
        # oldest first, as the service sorts the queue
        ids = [r.get_attribute("data-request-id") for r in page.finds("#queue tbody tr")]
        queue = expect(get("/api/v1/support/refund-requests", support_token()), 200).json["refund_requests"]
        assert ids == [r["id"] for r in queue], (ids, queue)
        page.shot("support-queue")
        page.find(f"{row} .review-button").click()
        page.wait(lambda d: page.find("#review").is_displayed())
        assert page.d.switch_to.active_element.get_attribute("id") == "review-h"
        page.find("#approve-note").send_keys("Refunded in full.")
        page.find("#approve-submit").click()
        page.wait_text("#status", "Approved")
        page.wait_gone(row)
        page.shot("support-approved")

        page.open("/account/", tok)
        page.wait_text(f'#requests tr[data-request-id="{request_id}"] .request-status', "approved")
        assert "Refunded in full." in page.text(f'#requests tr[data-request-id="{request_id}"]')
        page.wait_text(f'#charges tr[data-charge-id="{charge["id"]}"] .charge-status', "refunded")
        page.shot("account-refunded")
    assert next(c for c in charges(tok) if c["id"] == charge["id"])["status"] == "refunded"


def test_browser_support_sees_overdue_denies_and_suspends():
    uid, _ = subscribe(plan="pro")
    tok = token(uid)
    charge = first_charge(tok)
    r = expect(post("/api/v1/refund-requests", tok, {"charge_id": charge["id"], "reason": "unauthorized_charge",
                                                      "description": "I did not buy this."}), 201).json
    # past the 5-business-day promise: the queue flags it (the service's
    # "overdue"), the page highlights the row with a visible word, not colour alone
    subprocess.run(["psql", "-X", "-q", DATABASE, "-v", "ON_ERROR_STOP=1", "-v", f"p1={r['id']}"],
                   input="UPDATE refund_requests SET submitted_at = submitted_at - interval '20 days',"
                         " respond_by = respond_by - interval '20 days' WHERE id = :'p1'",
                   check=True, capture_output=True, text=True)
    with browser() as page:
        page.open("/support/", support_token())
        row = f'#queue tr[data-request-id="{r["id"]}"]'
        page.wait(lambda d: page.finds(row), "the request is not in the queue")
        assert page.find(row).get_attribute("data-overdue") == "true"
        assert "overdue" in page.find(row).get_attribute("class") and "Overdue" in page.text(row)
        page.shot("support-queue-overdue")
        page.find(f"{row} .review-button").click()
        page.wait(lambda d: page.find("#review").is_displayed())
        page.find("#deny-note").send_keys("The card holder confirmed the purchase.")
        page.find("#deny-submit").click()
        page.wait_text("#status", "Denied")
        page.select("#queue-status", "denied")
        page.wait(lambda d: page.finds(row), "the denied request is not listed")
        page.find(f"{row} .review-button").click()
        page.wait(lambda d: page.find("#suspend-form").is_displayed())
        assert not page.find("#deny-form").is_displayed()
        page.find("#suspend-note").send_keys("Chargeback fraud.")
        page.find("#suspend-submit").click()
        page.wait_text("#status", "Suspended")
        # a second decision is refused by the service, shown from problem+json
        queue = expect(get("/api/v1/support/refund-requests?status=denied", support_token()), 200).json
        assert any(x["id"] == r["id"] and x["decision_note"] == "The card holder confirmed the purchase."
                   for x in queue["refund_requests"])
    acct = account_of(tok)
    assert acct["user"]["status"] == "suspended" and acct["subscription"]["plan"] == "free"


def test_browser_support_approves_part_of_a_charge():
    uid, _ = subscribe(plan="studio")
    tok = token(uid)
    charge = first_charge(tok)
    r = expect(post("/api/v1/refund-requests", tok, {"charge_id": charge["id"], "reason": "billing_error",
                                                      "description": "Charged the old price."}), 201).json
    with browser() as page:
        page.open("/support/", support_token())
        row = f'#queue tr[data-request-id="{r["id"]}"]'
        page.wait(lambda d: page.finds(row), "the request is not in the queue")
        page.find(f"{row} .review-button").click()
        page.wait(lambda d: page.find("#approve-amount").is_displayed())
        assert "$79.00" in page.text("#approve-amount-hint"), page.text("#approve-amount-hint")
        page.find("#approve-amount").send_keys("12.50")
        page.find("#approve-submit").click()
        page.wait_text("#status", "Approved")
        page.open("/account/", tok)
        status = page.wait_text(f'#charges tr[data-charge-id="{charge["id"]}"] .charge-status', "partially refunded")
        assert "$12.50" in status, status
        page.shot("account-partly-refunded")
    c = next(c for c in charges(tok) if c["id"] == charge["id"])
    assert c["status"] == "partially_refunded" and c["refunded_cents"] == 1250, c


def test_browser_errors_shown_from_problem_details():
    uid = new_id()
    expired = sign(claims_for(uid, exp=int(time.time()) - 3600))
    with browser() as page:
        page.open("/account/", expired)
        page.wait(lambda d: page.find("#error").is_displayed())
        problem = get("/api/v1/account", expired).json
        assert page.text("#error .problem-title") == problem["title"]
        assert page.text("#error .problem-detail") == problem["detail"]
        page.shot("account-expired-token")
        # a user token on the support page: 403 forbidden, as the service says it
        page.open("/support/", token(uid))
        page.wait(lambda d: page.find("#error").is_displayed())
        assert page.text("#error .problem-detail") == get("/api/v1/support/refund-requests", token(uid)).json["detail"]
