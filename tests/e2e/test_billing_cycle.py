"""pf-billing-cycle: scheduled cancellations end at the period end, scheduled
downgrades start with the next period, everything else renews; exactly once
per period, with several copies at once, catching up missed periods; and a
request after the period ended sees the rolled-over state on its own.

Subscriptions are made due by a past started_at and the command's --now.
Each test names its own users with --user, so the summary counts are exact
whatever else the shared database holds."""
import calendar, datetime, os, re, subprocess, time
from harness import *

BUILD = os.environ.get("PF_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
COMMAND = os.path.join(BUILD, "pf-billing-cycle")
DAY = 86400
SUMMARY = re.compile(r"^pf-billing-cycle: now=(\S+)( dry_run=1)? examined=(\d+) renewed=(\d+)"
                     r" plans_changed=(\d+) ended=(\d+) up_to_date=(\d+) skipped_locked=(\d+)"
                     r" errors=(\d+)$")
KEYS = ("examined", "renewed", "plans_changed", "ended", "up_to_date", "skipped_locked", "errors")


def add_months(ts, months):
    """pf_time_add_months: day clamped to the target month, time of day kept."""
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    index = d.month - 1 + months
    year, month = d.year + index // 12, index % 12 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return int(d.replace(year=year, month=month, day=day).timestamp())


def command(now=None, users=(), extra=(), database=None):
    args = [COMMAND, "--database", database or DATABASE]
    if now is not None:
        args += ["--now", now if isinstance(now, str) else iso(now)]
    for u in users:
        args += ["--user", u]
    return args + list(extra)


def parse_summary(stdout):
    lines = [l for l in stdout.splitlines() if l.startswith("pf-billing-cycle: now=")]
    assert len(lines) == 1, stdout
    m = SUMMARY.match(lines[0])
    assert m, lines[0]
    return dict(zip(KEYS, map(int, m.groups()[2:])), now=m.group(1), dry_run=bool(m.group(2)))


def cycle(now=None, users=(), extra=(), rc=0):
    p = subprocess.run(command(now, users, extra), capture_output=True, text=True, timeout=120)
    assert p.returncode == rc, f"exit {p.returncode}: {p.stdout} {p.stderr}"
    return parse_summary(p.stdout)


def counts(summary, **want):
    got = {k: summary[k] for k in KEYS}
    expected = {k: 0 for k in KEYS}
    expected.update(want)
    assert got == expected, f"summary {got}, expected {expected}"


def subscription_row(uid):
    rows = sql("SELECT id, plan, status, period_index,"
               " extract(epoch FROM current_period_start)::bigint,"
               " extract(epoch FROM current_period_end)::bigint,"
               " coalesce(extract(epoch FROM ended_at)::bigint, 0), coalesce(end_cause, '')"
               " FROM subscriptions WHERE user_id = :'p1' ORDER BY id", uid)
    assert len(rows) == 1, rows
    r = rows[0]
    return {"id": r[0], "plan": r[1], "status": r[2], "index": int(r[3]), "start": int(r[4]),
            "end": int(r[5]), "ended_at": int(r[6]), "end_cause": r[7]}


def charges_of(uid):
    """(origin, amount, charged_at, period_start, period_end) oldest period first."""
    rows = sql("SELECT origin, amount_cents, extract(epoch FROM charged_at)::bigint,"
               " extract(epoch FROM period_start)::bigint, extract(epoch FROM period_end)::bigint"
               " FROM charges WHERE user_id = :'p1' AND kind = 'subscription' ORDER BY period_start", uid)
    return [(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]


def count(query, *params):
    return int(sql_value(query, *params))


def due_subscription(plan="pro", days_ago=20):
    """A subscription started days_ago; returns (user, anchor, end of period 0)."""
    anchor = int(time.time()) - days_ago * DAY
    uid, _ = subscribe(plan=plan, started_at=anchor)
    return uid, anchor, add_months(anchor, 1)


def test_renewal_recorded_once_at_now_with_allowance_reset():
    uid, anchor, end = due_subscription("pro")
    counts(cycle(end - 1, [uid]))                      # not over until current_period_end
    assert len(charges_of(uid)) == 1
    s = cycle(end, [uid])
    counts(s, examined=1, renewed=1)
    assert s["now"] == iso(end)
    sub = subscription_row(uid)
    assert (sub["plan"], sub["status"], sub["index"]) == ("pro", "active", 1)
    assert (sub["start"], sub["end"]) == (end, add_months(anchor, 2))
    assert charges_of(uid) == [("checkout", 2900, anchor, anchor, end),
                               ("renewal", 2900, end, end, add_months(anchor, 2))]
    acct = expect(get("/api/v1/account", token(uid)), 200).json
    assert acct["subscription"]["current_period_start"] == iso(end)
    assert acct["subscription"]["renews_at"] == iso(add_months(anchor, 2))
    assert acct["credits"]["included_remaining"] == 800 and acct["credits"]["included_allowance"] == 800
    # included credits do not roll over: the old balance expires, the allowance is granted again
    assert sql("SELECT cause, delta FROM credit_ledger WHERE user_id = :'p1' AND ref = 'renewal'"
               " ORDER BY id", uid) == [["expire", "-800"], ["reset", "800"]]
    assert sql("SELECT actor_role, coalesce(actor_id, '-'), extract(epoch FROM at)::bigint"
               " FROM audit_log WHERE user_id = :'p1' AND action = 'subscription.renewed'", uid) \
        == [["system", "-", str(end)]]
    assert sql("SELECT payload->>'plan', payload->>'period_start', payload->>'amount_cents'"
               " FROM outbox WHERE user_id = :'p1' AND event = 'subscription_renewed'", uid) \
        == [["pro", iso(end), "2900"]]
    # a second run, and a later one within the same period, change nothing
    counts(cycle(end, [uid]))
    counts(cycle(end + 5 * DAY, [uid]))
    assert len(charges_of(uid)) == 2
    assert count("SELECT count(*) FROM outbox WHERE user_id = :'p1' AND event = 'subscription_renewed'", uid) == 1


def test_cancellation_ends_at_period_end_and_keeps_purchased_credits():
    uid, anchor, end = due_subscription("studio")
    tok = token(uid)
    expect(post("/api/v1/subscription/cancel", tok, {"reason": "not_using"}), 200)
    expect(post("/api/v1/internal/charges", service_token(),
                {"user_id": uid, "kind": "credit_pack", "amount_cents": 990, "currency": "USD",
                 "provider_ref": new_id("ref"), "credits": 300}), 201)
    purchased = 300
    counts(cycle(end + 3600, [uid]), examined=1, ended=1)
    sub = subscription_row(uid)
    assert (sub["status"], sub["ended_at"], sub["end_cause"]) == ("ended", end, "cancelled")
    assert [c[0] for c in charges_of(uid)] == ["checkout"]   # no renewal for a cancelled period
    acct = expect(get("/api/v1/account", tok), 200).json
    assert acct["subscription"]["plan"] == "free" and acct["subscription"]["current_period_end"] is None
    assert acct["credits"] == {"included_remaining": 50, "included_allowance": 50,
                               "included_resets_at": None, "purchased_remaining": purchased}
    assert sql("SELECT payload->>'cause', payload->>'ended_at' FROM outbox"
               " WHERE user_id = :'p1' AND event = 'subscription_ended'", uid) == [["cancelled", iso(end)]]
    assert count("SELECT count(*) FROM audit_log WHERE user_id = :'p1' AND action = 'subscription.ended'"
                 " AND actor_role = 'system'", uid) == 1
    # nothing left to do, not even a period later
    counts(cycle(add_months(anchor, 3), [uid]))


def test_downgrade_applied_with_new_allowance_and_price():
    uid, anchor, end = due_subscription("studio")
    tok = token(uid)
    expect(post("/api/v1/subscription/downgrade", tok, {"plan": "pro"}), 200)
    counts(cycle(end, [uid]), examined=1, plans_changed=1)
    sub = subscription_row(uid)
    assert (sub["plan"], sub["index"], sub["start"]) == ("pro", 1, end)
    assert charges_of(uid) == [("checkout", 7900, anchor, anchor, end),
                               ("renewal", 2900, end, end, add_months(anchor, 2))]
    acct = expect(get("/api/v1/account", tok), 200).json
    assert acct["subscription"]["plan"] == "pro" and acct["subscription"]["scheduled_change"] is None
    assert acct["credits"]["included_remaining"] == 800 and acct["credits"]["included_allowance"] == 800
    assert sql("SELECT payload->>'plan' FROM outbox WHERE user_id = :'p1'"
               " AND event = 'subscription_plan_changed'", uid) == [["pro"]]
    assert count("SELECT count(*) FROM audit_log WHERE user_id = :'p1'"
                 " AND action = 'subscription.plan_changed' AND actor_role = 'system'", uid) == 1
    # the period after renews on the new plan
    counts(cycle(add_months(anchor, 2), [uid]), examined=1, renewed=1)
    assert charges_of(uid)[-1][:2] == ("renewal", 2900)


def test_three_missed_periods_caught_up_in_order():
    uid, anchor, end = due_subscription("pro")
    now = add_months(anchor, 3) + 60
    counts(cycle(now, [uid]), examined=1, renewed=3)
    periods = [(add_months(anchor, k), add_months(anchor, k + 1)) for k in range(4)]
    assert charges_of(uid) == [("checkout", 2900, anchor) + periods[0]] + \
        [("renewal", 2900, now) + p for p in periods[1:]]
    sub = subscription_row(uid)
    assert (sub["index"], sub["start"], sub["end"]) == (3, periods[3][0], periods[3][1])
    assert count("SELECT count(*) FROM outbox WHERE user_id = :'p1' AND event = 'subscription_renewed'", uid) == 3
    counts(cycle(now, [uid]))


def test_catch_up_keeps_the_31st_anchor():
    # the latest 31st before now, as the anchor: its periods clamp to 30th/28th and come back
    d = datetime.datetime.now(datetime.timezone.utc).replace(hour=10, minute=0, second=0, microsecond=0)
    d = d - datetime.timedelta(days=1)
    while d.day != 31:
        d -= datetime.timedelta(days=1)
    anchor = int(d.timestamp())
    uid, _ = subscribe(plan="pro", started_at=anchor)
    done = len(charges_of(uid))                        # the checkout caught up to now already
    now = add_months(anchor, done + 3)
    counts(cycle(now, [uid]), examined=1, renewed=4)
    starts = [c[3] for c in charges_of(uid)]
    assert starts == [add_months(anchor, k) for k in range(done + 4)]
    assert {datetime.datetime.fromtimestamp(s, datetime.timezone.utc).day for s in starts} <= {28, 29, 30, 31}
    assert subscription_row(uid)["end"] == add_months(anchor, done + 4)


def test_cancel_scheduled_two_periods_behind_ends_once_without_renewal():
    uid, anchor, end = due_subscription("pro")
    expect(post("/api/v1/subscription/cancel", token(uid)), 200)
    counts(cycle(add_months(anchor, 3), [uid]), examined=1, ended=1)
    assert [c[0] for c in charges_of(uid)] == ["checkout"]
    assert subscription_row(uid)["ended_at"] == end


def test_two_copies_at_once_renew_each_subscription_exactly_once():
    users = []
    latest_end = 0
    for i in range(40):
        uid, anchor, end = due_subscription("pro", days_ago=20)
        users.append(uid)
        latest_end = max(latest_end, end)
    now = latest_end + 3600                              # one period over for each, not two
    procs = [subprocess.Popen(command(now, users, ["--batch", "7"]), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, (out, err)
        results.append(parse_summary(out))
    assert sum(r["renewed"] for r in results) == 40, results
    assert all(r["errors"] == 0 and r["ended"] == 0 and r["plans_changed"] == 0 for r in results), results
    # every runner saw every user either do the work, find it done, or leave it to the holder
    assert all(r["examined"] == r["renewed"] + r["up_to_date"] + r["skipped_locked"] for r in results), results
    ids = "{" + ",".join(users) + "}"
    assert sql("SELECT count(*), count(DISTINCT (subscription_id, period_start)) FROM charges"
               " WHERE user_id = ANY (:'p1'::text[]) AND origin = 'renewal'", ids) == [["40", "40"]]
    assert count("SELECT count(*) FROM outbox WHERE user_id = ANY (:'p1'::text[])"
                 " AND event = 'subscription_renewed'", ids) == 40
    assert count("SELECT count(*) FROM audit_log WHERE user_id = ANY (:'p1'::text[])"
                 " AND action = 'subscription.renewed'", ids) == 40
    assert count("SELECT count(*) FROM subscriptions WHERE user_id = ANY (:'p1'::text[])"
                 " AND period_index = 1", ids) == 40
    # and a third run afterwards finds nothing due
    counts(cycle(now, users))


def test_dry_run_reports_and_changes_nothing():
    uid, anchor, end = due_subscription("pro")
    s = cycle(end, [uid], ["--dry-run"])
    assert s["dry_run"]
    counts(s, examined=1, renewed=1)
    assert len(charges_of(uid)) == 1 and subscription_row(uid)["index"] == 0
    assert count("SELECT count(*) FROM outbox WHERE user_id = :'p1' AND event = 'subscription_renewed'", uid) == 0


def hold_user_lock(uid, seconds):
    """Holds uid's row lock from another session for `seconds`; returns once it is held."""
    marker = new_id("hold")
    p = subprocess.Popen(["psql", "-X", "-q", DATABASE, "-v", "ON_ERROR_STOP=1", "-v", f"u={uid}"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    p.stdin.write(f"BEGIN;\nSELECT 1 FROM users WHERE id = :'u' FOR UPDATE;\n"
                  f"SELECT pg_sleep({seconds}) /* {marker} */;\nCOMMIT;\n")
    p.stdin.close()
    for _ in range(200):
        if count("SELECT count(*) FROM pg_stat_activity WHERE query LIKE :'p1' AND state = 'active'"
                 " AND pid <> pg_backend_pid()",
                 f"%/* {marker} */%") == 1:
            return p
        time.sleep(0.02)
    raise AssertionError("the lock holder never started")


def test_user_held_elsewhere_is_retried_later_in_the_run():
    uid, anchor, end = due_subscription("pro")
    holder = hold_user_lock(uid, 0.5)
    s = cycle(end, [uid])
    holder.wait(timeout=30)
    counts(s, examined=1, renewed=1)
    assert len(charges_of(uid)) == 2


def test_user_held_all_run_is_left_for_the_next_run():
    uid, anchor, end = due_subscription("pro")
    holder = hold_user_lock(uid, 8)
    started = time.time()
    s = cycle(end, [uid])
    assert time.time() - started < 8, "the runner must not wait for the lock holder"
    counts(s, examined=1, skipped_locked=1)
    assert len(charges_of(uid)) == 1
    holder.wait(timeout=30)
    counts(cycle(end, [uid]), examined=1, renewed=1)


def anchor_for_period_end(target):
    """An anchor k months before target (k = 1..3) whose period k starts at target."""
    t = datetime.datetime.fromtimestamp(target, datetime.timezone.utc)
    for k in (1, 2, 3):
        index = t.month - 1 - k
        year, month = t.year + index // 12, index % 12 + 1
        if t.day <= calendar.monthrange(year, month)[1]:
            candidate = int(t.replace(year=year, month=month).timestamp())
            if add_months(candidate, k) == target:
                return candidate
    raise AssertionError(f"no anchor for {iso(target)}")


def test_request_after_period_end_sees_rolled_over_state_without_the_command():
    # three subscriptions whose current period ends a few seconds from now; the
    # margin grows if setting them up took longer than that (a slow machine, valgrind)
    for margin in (4, 10, 30):
        target = int(time.time()) + margin
        anchor = anchor_for_period_end(target)
        cancelled, _ = subscribe(plan="studio", started_at=anchor)
        downgraded, _ = subscribe(plan="studio", started_at=anchor)
        renewed, _ = subscribe(plan="studio", started_at=anchor)
        expect(post("/api/v1/subscription/cancel", token(cancelled)), 200)
        r = expect(post("/api/v1/subscription/downgrade", token(downgraded), {"plan": "pro"}), 200)
        if time.time() < target:
            break
    else:
        raise AssertionError("could not set up the subscriptions before their period ended")
    assert r.json["subscription"]["scheduled_change"] == {"plan": "pro", "effective_at": iso(target)}
    time.sleep(max(0, target - time.time()) + 1.2)
    # the cancellation took effect at the period end: nothing left to resume, and the user is on free
    expect(post("/api/v1/subscription/resume", token(cancelled)), 409, "not_scheduled_to_cancel")
    acct = expect(get("/api/v1/account", token(cancelled)), 200).json
    assert acct["subscription"]["plan"] == "free" and acct["credits"]["included_allowance"] == 50
    assert subscription_row(cancelled)["ended_at"] == target
    acct = expect(get("/api/v1/account", token(downgraded)), 200).json
    assert acct["subscription"]["plan"] == "pro" and acct["subscription"]["current_period_start"] == iso(target)
    assert acct["credits"]["included_allowance"] == 800
    acct = expect(get("/api/v1/account", token(renewed)), 200).json
    assert acct["subscription"]["plan"] == "studio" and acct["subscription"]["current_period_start"] == iso(target)
    assert charges_of(renewed)[-1][:2] == ("renewal", 7900) and charges_of(renewed)[-1][3] == target
    # the command finds nothing left to do for any of them
    counts(cycle(target + 60, [cancelled, downgraded, renewed]))


def test_bad_arguments_and_unreachable_database_exit_non_zero():
    for args, rc in ((["--now", "yesterday"], 2), (["--batch", "0"], 2), (["--user", "bad id"], 2),
                     (["--frobnicate"], 2)):
        p = subprocess.run([COMMAND, "--database", DATABASE] + args, capture_output=True, text=True)
        assert p.returncode == rc, (args, p.returncode, p.stderr)
        assert p.stdout == "" and p.stderr != ""
    p = subprocess.run(command(database="host=127.0.0.1 port=1 dbname=none connect_timeout=2"),
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 3 and "cannot reach the database" in p.stderr, p


def test_metrics_file_holds_the_summary_for_the_textfile_collector():
    import tempfile
    from prometheus_client.parser import text_string_to_metric_families
    uid, anchor, end = due_subscription("pro")
    path = os.path.join(tempfile.mkdtemp(prefix="pf-cycle-metrics-"), "pf_billing_cycle.prom")
    p = subprocess.run(command(end, [uid], ["--metrics-file", path]), capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    summary = parse_summary(p.stdout)
    values = {}
    for family in text_string_to_metric_families(open(path).read()):
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    assert values[("pf_billing_cycle_users", (("outcome", "examined"),))] == summary["examined"] == 1
    assert values[("pf_billing_cycle_steps", (("kind", "renewed"),))] == summary["renewed"] == 1
    assert values[("pf_billing_cycle_exit_status", ())] == 0
    assert values[("pf_billing_cycle_dry_run", ())] == 0
    assert abs(values[("pf_billing_cycle_last_run_timestamp_seconds", ())] - time.time()) < 120
    assert not os.path.exists(path + ".tmp")
    # a path that cannot be written is an error, with the summary still printed
    p = subprocess.run(command(end, [uid], ["--metrics-file", "/nonexistent-dir/x.prom"]),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "cannot write" in p.stderr and parse_summary(p.stdout)
