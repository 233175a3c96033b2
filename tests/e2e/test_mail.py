"""pf-mailer against a real SMTP server (aiosmtpd, tests/e2e/smtp_sink.py):
what each event mails, to whom, and the delivery guarantees: a server down
then up, a 550 for one recipient, two mailers at once, a mailer killed
mid-batch, header injection.

Each test first sends what the rest of the suite left in the outbox (to a
throwaway server), then looks only at its own users' mail."""
import signal, subprocess, tempfile, time
from mail import *
from billing import user, first_charge, refund


def cancel(tok):
    return expect(post("/api/v1/subscription/cancel", tok), 200).json["subscription"]


def test_mail_cancellation_one_message_to_the_account_with_the_period_end():
    drain()
    uid, tok = user(plan="pro")
    sub = cancel(tok)
    address = f"{uid}@example.com"
    end = date_words(sub["current_period_end"])
    with SmtpSink() as sink:
        conf = config(sink.port)
        run_once(conf, rc=0)
        run_once(conf, rc=0)                      # a second run sends nothing again
        os.unlink(conf)
        mails = sink.to(address)
    cancel_row = [r for r in outbox_rows(uid) if r[1] == "subscription_cancel_scheduled"]
    assert len(cancel_row) == 1, outbox_rows(uid)
    oid = cancel_row[0][0]
    cancels = [m for m in mails if m.outbox_id == (oid, 0)]
    assert len(cancels) == 1, mails
    m = cancels[0]
    assert m.rcpt_tos == [address] and m["To"] == address
    assert m["Subject"] == f"Your Pro plan stays active until {end}"
    assert f"Your Pro plan stays active until\n{end}; you will not be charged again." in m.text
    assert m["From"] == FROM and m.mail_from == "no-reply@personaforge.xyz"
    assert m["Message-ID"] == f"<pf-outbox-{oid}-0@personaforge.xyz>"
    assert m["Auto-Submitted"] == "auto-generated" and m["Date"]
    assert m.msg.get_body(preferencelist=("html",)) is not None     # the HTML alternative
    # the welcome mail came first, and nothing else went to this user
    assert [x.outbox_id[0] for x in mails] == [r[0] for r in outbox_rows(uid)]
    assert outbox_rows(uid)[-1][2:6] == (True, False, 1, 1)


def test_mail_refund_request_acknowledged_and_support_notified_then_decided():
    drain()
    uid, tok = user(plan="pro")
    charge = first_charge(tok)
    contact = f"contact-{uid}@example.org"
    rr = expect(refund(tok, charge_id=charge["id"], reason="billing_error",
                       description="Charged $29 but the price said $19.", email=contact), 201).json
    with SmtpSink() as sink:
        conf = config(sink.port)
        run_once(conf, rc=0)
        acks = sink.to(contact)
        support = [m for m in sink.to(SUPPORT) if rr["id"] in m["Subject"]]
        assert len(acks) == 1 and len(support) == 1, (acks, support)
        ack, note = acks[0], support[0]
        respond_by = date_words(rr["respond_by"])
        assert ack["Subject"] == f"We received your refund request {rr['id']}"
        assert f"answer by {respond_by}" in ack.text and rr["id"] in ack.text
        assert "$29.00" in ack.text and "Charged $29 but the price said $19." in ack.text
        assert not sink.to(f"{uid}@example.com") or all(
            "refund" not in m["Subject"] for m in sink.to(f"{uid}@example.com"))
        assert note.rcpt_tos == [SUPPORT]
        assert note["Subject"] == f"Refund request {rr['id']} from {uid}: respond by {respond_by}"
        for text in (rr["id"], uid, contact, charge["id"], "$29.00", "billing_error",
                     f"Respond by:  {respond_by}", "Charged $29 but the price said $19."):
            assert text in note.text, (text, note.text)
        assert ack.outbox_id[0] == note.outbox_id[0] and {ack.outbox_id[1], note.outbox_id[1]} == {0, 1}

        r = post(f"/api/v1/support/refund-requests/{rr['id']}/approve", support_token(),
                 {"amount_cents": 1000, "note": "We overcharged you by $10.00; sorry."})
        expect(r, 200)
        run_once(conf, rc=0)
        os.unlink(conf)
        decided = [m for m in sink.to(contact) if "approved" in m["Subject"]]
    assert len(decided) == 1, sink.to(contact)
    d = decided[0]
    assert d["Subject"] == f"Your refund request {rr['id']} is approved"
    assert "Refunded:   $10.00\n" in d.text
    assert "We overcharged you by $10.00; sorry." in d.text


def test_mail_refund_denied_says_so_with_the_note():
    drain()
    uid, tok = user(plan="pro")
    rr = expect(refund(tok, charge_id=first_charge(tok)["id"], reason="unauthorized_charge"), 201).json
    expect(post(f"/api/v1/support/refund-requests/{rr['id']}/deny", support_token(),
                {"note": "The charge was made from your own session."}), 200)
    with SmtpSink() as sink:
        conf = config(sink.port)
        run_once(conf, rc=0)
        os.unlink(conf)
        mails = sink.to(f"{uid}@example.com")
    declined = [m for m in mails if m["Subject"] == f"Your refund request {rr['id']} was declined"]
    assert len(declined) == 1, mails
    assert "The charge was made from your own session." in declined[0].text
    assert "efunded" not in declined[0].text


def test_mail_smtp_down_then_up_delivers_everything_once():
    drain()
    port = free_port()
    users = [user(plan="pro") for _ in range(3)]
    for uid, tok in users:
        cancel(tok)
        expect(post("/api/v1/subscription/resume", tok), 200)
    uids = [u for u, _ in users]
    conf = config(port)
    daemon = start_daemon(conf)
    sink = SmtpSink(port=port)
    try:
        # nothing listens: the oldest row is tried again and again (with
        # backoff), recording its attempts and the error; none is given up
        try:
            wait_until(lambda: int(sql_value(
                "SELECT coalesce(max(attempts), 0) FROM outbox"
                " WHERE user_id = ANY (string_to_array(:'p1', ','))"
                " AND last_error LIKE '%connect%'", ",".join(uids))) >= 2, 20,
                what="failed attempts")
        except AssertionError:
            raise AssertionError(stop_daemon(daemon)[1][-3000:])
        assert pending(uids) == 9
        sink.start()
        wait_until(lambda: pending(uids) == 0, 40, what="delivery after the server came back")
        rc, log = stop_daemon(daemon)
        assert rc == 0, log
        assert "temporary failure" in log, log
        for uid in uids:
            rows = outbox_rows(uid)
            got = [m.outbox_id for m in sink.to(f"{uid}@example.com")]
            assert got == [(r[0], 0) for r in rows], (got, rows)        # all, once, in id order
            assert all(r[2] and r[4] >= 1 for r in rows), rows
        assert any(r[4] > 1 and r[6] for uid in uids for r in outbox_rows(uid))
    finally:
        if daemon.poll() is None:
            stop_daemon(daemon)
        sink.__exit__(None, None, None)      # stops it and removes its directory
        os.unlink(conf)


def test_mail_550_for_one_recipient_fails_that_row_and_the_rest_go():
    drain()
    bad = subscribe(email=f"reject-{new_id()}@example.com")[0]
    bad_address = sql_value("SELECT email FROM users WHERE id = :'p1'", bad)
    good, good_tok = user(plan="pro")
    cancel(good_tok)
    with SmtpSink(reject=r"^reject-") as sink:
        conf = config(sink.port)
        p = run_once(conf, rc=0)
        os.unlink(conf)
        assert "FAILED" in p.stderr and "550" in p.stderr, p.stderr
        assert sink.to(bad_address) == []
        assert len(sink.to(f"{good}@example.com")) == 2
    rows = outbox_rows(bad)
    assert rows and all(r[3] and not r[2] for r in rows), rows       # failed, not delivered
    assert all("550" in r[6] and r[4] == 1 for r in rows), rows       # once: a 5xx is final
    assert all(r[2] for r in outbox_rows(good))


def test_mail_4xx_is_retried_with_backoff_then_given_up():
    drain()
    uid = subscribe(email=f"later-{new_id()}@example.com")[0]
    address = sql_value("SELECT email FROM users WHERE id = :'p1'", uid)
    with SmtpSink(tempfail=r"^later-") as sink:
        conf = config(sink.port, PF_MAIL_MAX_ATTEMPTS=3)
        p = run_once(conf, rc=1)                      # a temporary failure: the timer run says so
        assert "temporary failure 1 of 3" in p.stderr, p.stderr
        row = outbox_rows(uid)[0]
        assert row[2:5] == (False, False, 1) and "451" in row[6], row
        wait = int(sql_value("SELECT extract(epoch FROM next_attempt_at - now())::int FROM outbox"
                             " WHERE id = :'p1'", row[0]))
        assert -1 <= wait <= 2, wait                  # base 1 s, max 2 s, with jitter
        run_once(conf)                                # not due yet: nothing is tried
        assert outbox_rows(uid)[0][4] in (1, 2)
        wait_until(lambda: (run_once(conf), outbox_rows(uid)[0][3])[1], 20, step=0.5,
                   what="the row given up after 3 attempts")
        os.unlink(conf)
        assert sink.to(address) == []
    row = outbox_rows(uid)[0]
    assert row[4] == 3 and row[3] and "gave up after 3 attempts" in row[6], row


def test_mail_two_mailers_at_once_deliver_each_row_once():
    drain()
    users = [user(plan="pro") for _ in range(6)]
    for uid, tok in users:
        cancel(tok)
        expect(post("/api/v1/subscription/resume", tok), 200)
        cancel(tok)
    uids = [u for u, _ in users]
    with SmtpSink(data_delay=0.05) as sink:
        conf = config(sink.port)
        a, b = start_daemon(conf), start_daemon(conf)
        try:
            wait_until(lambda: pending(uids) == 0, 60, what="both mailers to finish")
        finally:
            (rc_a, log_a), (rc_b, log_b) = stop_daemon(a), stop_daemon(b)
            os.unlink(conf)
        assert rc_a == 0 and rc_b == 0, (log_a, log_b)
        ids = [m.outbox_id for uid in uids for m in sink.to(f"{uid}@example.com")]
        assert len(ids) == len(set(ids)) == 24, sorted(ids)
        for uid in uids:
            got = [m.outbox_id[0] for m in sink.to(f"{uid}@example.com")]
            assert got == sorted(got), got                   # each user's mail in id order
        assert " sent" in log_a and " sent" in log_b, (log_a, log_b)   # both took part


def test_mail_killed_mid_batch_and_restarted_loses_nothing():
    drain()
    users = [user(plan="pro") for _ in range(8)]
    for uid, tok in users:
        cancel(tok)
        expect(post("/api/v1/subscription/resume", tok), 200)
    uids = [u for u, _ in users]
    with SmtpSink(data_delay=0.1) as sink:
        conf = config(sink.port)
        daemon = start_daemon(conf)
        got = lambda: [m for uid in uids for m in sink.to(f"{uid}@example.com")]
        wait_until(lambda: len(got()) >= 5, 30, what="a few messages")
        stop_daemon(daemon, signal.SIGKILL)
        before = len(got())
        assert before < 24 and pending(uids) > 0
        daemon = start_daemon(conf)
        try:
            wait_until(lambda: pending(uids) == 0, 60, what="the restarted mailer to finish")
        finally:
            rc, log = stop_daemon(daemon)
            os.unlink(conf)
        ids = [m.outbox_id for m in got()]
        expected = {(r[0], 0) for uid in uids for r in outbox_rows(uid)}
        assert set(ids) == expected, (sorted(ids), sorted(expected))    # nothing lost
        assert len(ids) - len(set(ids)) <= 1, sorted(ids)   # at most the one in flight, same Message-ID


def test_mail_header_injection_is_refused_or_neutralised():
    drain()
    uid, tok = user(plan="pro")
    charge = first_charge(tok)
    # the API refuses a contact address with a line break
    expect(refund(tok, charge_id=charge["id"], email="a@example.org\r\nBcc: victim@example.com"),
           400, "invalid_request")
    # what may hold line breaks (the description, support's note) stays in the body
    rr = expect(refund(tok, charge_id=charge["id"], reason="billing_error",
                       description="Hello\r\nBcc: victim@example.com\r\n\r\nSubject: free money"),
                201).json
    expect(post(f"/api/v1/support/refund-requests/{rr['id']}/deny", support_token(),
                {"note": "No.\r\nBcc: victim2@example.com\nX-Injected: 1"}), 200)
    # a row whose address itself carries a header (written by anything
    # that bypassed the API) is given up, never sent
    sql("INSERT INTO outbox (created_at, user_id, event, payload) SELECT now(), :'p1',"
        " 'refund_request_decided', jsonb_set(payload, '{refund_request,email}',"
        " to_jsonb('x@example.org' || chr(13) || chr(10) || 'Bcc: victim3@example.com'::text))"
        " FROM outbox WHERE user_id = :'p1' AND event = 'refund_request_decided' RETURNING id", uid)
    with SmtpSink() as sink:
        conf = config(sink.port)
        p = run_once(conf, rc=0)
        os.unlink(conf)
        mine = [m for m in sink.messages() if rr["id"] in m["Subject"] or rr["id"] in m.text]
        assert len(mine) == 3, mine               # acknowledgement, support, decision; not the forged row
        for m in mine:
            assert all("victim" not in r for r in m.rcpt_tos), m.rcpt_tos
            headers = m.headers_text()
            assert "Bcc" not in headers and "X-Injected" not in headers, headers
            assert headers.count("Subject:") == 1, headers
        assert any("Bcc: victim@example.com" in m.text for m in mine)   # as text, in a body
        assert not any("victim" in r for m in sink.messages() for r in m.rcpt_tos)
    forged = outbox_rows(uid)[-1]
    assert forged[3] and forged[6] == "no usable address", forged
    assert "no usable address" in p.stderr


def test_mail_daemon_is_woken_by_the_insert_not_the_sweep():
    drain()
    with SmtpSink() as sink:
        conf = config(sink.port, PF_MAIL_SWEEP_SECONDS=3600)
        daemon = start_daemon(conf)
        try:
            time.sleep(1.5)                               # idle, listening, sweep an hour away
            uid, tok = user(plan="pro")
            started = time.time()
            wait_until(lambda: sink.to(f"{uid}@example.com"), 10, step=0.05,
                       what="the mail of a row inserted while the mailer slept")
            assert time.time() - started < 5
            cancel(tok)
            wait_until(lambda: len(sink.to(f"{uid}@example.com")) == 2, 10, step=0.05,
                       what="the second notification")
        finally:
            rc, log = stop_daemon(daemon)
            os.unlink(conf)
        assert rc == 0, log


def test_mail_delivered_rows_past_retention_are_deleted():
    drain()
    old_uid, old_tok = user(plan="pro")
    new_uid, new_tok = user(plan="pro")
    with SmtpSink() as sink:
        conf = config(sink.port, PF_MAIL_RETENTION_DAYS=30)
        run_once(conf, rc=0)
        assert all(r[2] for r in outbox_rows(old_uid) + outbox_rows(new_uid))
        # the purge reads delivered_at; age one user's rows past 30 days
        sql("UPDATE outbox SET delivered_at = now() - interval '31 days' WHERE user_id = :'p1'"
            " RETURNING id", old_uid)
        p = run_once(conf, rc=0)
        os.unlink(conf)
    assert outbox_rows(old_uid) == [], p.stderr
    assert len(outbox_rows(new_uid)) == 1
    assert "deleted" in p.stderr and "delivered rows older than 30 days" in p.stderr


def test_mail_configuration_that_could_inject_a_header_is_refused():
    with SmtpSink() as sink:
        conf = config(sink.port)
        for key, value in (("PF_MAIL_FROM", "PersonaForge\r\nBcc: victim@example.com <a@example.com>"),
                           ("PF_MAIL_FROM", "a@example.com\nBcc: victim@example.com"),
                           ("PF_SUPPORT_EMAIL", "support@example.com\r\nBcc: victim@example.com"),
                           ("PF_SMTP_URL", "http://127.0.0.1:1")):
            env = mailer_env(conf)
            env[key] = value
            p = subprocess.run([MAILER, "--once"], env=env, capture_output=True, text=True, timeout=30)
            assert p.returncode == 2 and key in p.stderr, (key, p.returncode, p.stderr)
        os.unlink(conf)
        assert sink.messages() == []


def test_mail_smtp_auth_from_the_configuration_and_starttls_required_by_default():
    drain()
    uid, _ = user(plan="pro")
    address = f"{uid}@example.com"
    secret = tempfile.NamedTemporaryFile("w", suffix=".password", delete=False)
    secret.write("s3cret-pass\n")                     # a trailing newline is editor noise
    secret.close()
    wrong = tempfile.NamedTemporaryFile("w", suffix=".password", delete=False)
    wrong.write("not-it\n")
    wrong.close()
    with SmtpSink(auth="mailer:s3cret-pass") as sink:
        # smtp:// without PF_SMTP_STARTTLS=no: a server without STARTTLS gets nothing
        conf = config(sink.port, PF_SMTP_STARTTLS="yes")
        p = run_once(conf, rc=1)
        os.unlink(conf)
        assert "STARTTLS" in p.stderr or "SSL" in p.stderr, p.stderr
        assert sink.messages() == [] and not outbox_rows(uid)[0][2]
        time.sleep(2.1)                                # the backoff (at most 2 s here)
        # refused credentials: mail waits (temporary), it is not given up
        conf = config(sink.port, PF_SMTP_USER="mailer", PF_SMTP_PASSWORD_FILE=wrong.name)
        p = run_once(conf, rc=1)
        os.unlink(conf)
        row = outbox_rows(uid)[0]
        assert not row[2] and not row[3] and "535" in row[6], (row, p.stderr)
        assert "not-it" not in p.stderr
        conf = config(sink.port, PF_SMTP_USER="mailer", PF_SMTP_PASSWORD_FILE=secret.name)
        wait_until(lambda: (run_once(conf), outbox_rows(uid)[0][2])[1], 15, step=0.5,
                   what="delivery with the right password")
        os.unlink(conf)
        assert len(sink.to(address)) == 1
    os.unlink(secret.name)
    os.unlink(wrong.name)


def test_mail_a_users_later_mail_waits_for_a_retried_row_then_goes():
    drain()
    uid, tok = user(plan="pro")
    address = f"{uid}@example.com"
    contact = f"later-{uid}@example.org"
    rr = expect(refund(tok, charge_id=first_charge(tok)["id"], reason="billing_error",
                       email=contact), 201).json
    cancel(tok)
    started, received, cancelled = outbox_rows(uid)
    other, other_tok = user(plan="pro")
    with SmtpSink(tempfail=r"^later-") as sink:
        conf = config(sink.port, PF_MAIL_MAX_ATTEMPTS=2)
        run_once(conf, rc=1)
        # the acknowledgement waits out its backoff; the cancellation,
        # younger, waits behind it; another user's mail does not (the sink
        # stores a message a moment after it accepted it: wait for it)
        wait_until(lambda: sink.to(address) and sink.to(f"{other}@example.com"), 10, step=0.05,
                   what="the welcome mails stored by the sink")
        assert [m.outbox_id for m in sink.to(address)] == [(started[0], 0)]
        assert outbox_rows(uid)[2][2:5] == (False, False, 0)
        assert len(sink.to(f"{other}@example.com")) == 1
        wait_until(lambda: (run_once(conf), outbox_rows(uid)[2][2])[1], 20, step=0.5,
                   what="the cancellation mail once the row ahead of it is finished")
        os.unlink(conf)
        order = [m.outbox_id for m in sink.messages() if m.outbox_id[0] in (received[0], cancelled[0])]
        assert sink.to(contact) == []
    # given up after 2 attempts, support still told, then the cancellation
    assert order == [(received[0], 1), (cancelled[0], 0)], order
    row = outbox_rows(uid)[1]
    assert row[3] and not row[2] and row[5] == 2 and "gave up after 2 attempts" in row[6], row


def test_mail_crash_after_the_server_accepted_resends_that_message_only_and_identically():
    drain()
    uid, tok = user(plan="pro")
    cancel(tok)
    address = f"{uid}@example.com"
    with SmtpSink(reply_delay=3) as sink:
        conf = config(sink.port)
        daemon = start_daemon(conf)
        # the server has stored the first message and holds its reply:
        # the mailer dies before it could record anything
        wait_until(lambda: sink.to(address), 15, step=0.05, what="the first message stored")
        stop_daemon(daemon, signal.SIGKILL)
        first = outbox_rows(uid)[0]
        assert not first[2] and first[4] == 0, first          # nothing recorded
        daemon = start_daemon(conf)
        try:
            wait_until(lambda: pending([uid]) == 0, 30, what="the restarted mailer")
        finally:
            rc, log = stop_daemon(daemon)
            os.unlink(conf)
        mails = sink.to(address)
    ids = [m.outbox_id for m in mails]
    assert ids == [(first[0], 0), (first[0], 0), (outbox_rows(uid)[1][0], 0)], ids
    assert mails[0].raw == mails[1].raw                       # the same message, same Message-ID
    assert outbox_rows(uid)[0][2:5] == (True, False, 1)
