"""Runs after every other e2e test (ORDER = 2): no log the suite's stack
wrote (the app's, nginx's access and error logs) holds a token the suite
sent, the JWT secret, or a customer's free text the suite sent. And the
app's log is JSON lines only, one per request among them."""

ORDER = 2  # looks over the whole suite: after every other test (run.py)
import os, time
from harness import *

STACK_DIR = os.environ.get("PF_STACK_DIR", "/tmp/personaforge-stack")
LOGS = ("app.log", "nginx-access.log", "nginx-error.log")


def test_no_log_holds_a_token_a_secret_or_free_text():
    time.sleep(1.2)                     # nginx writes its access log in batches, each second
    needles = {}
    # tokens long enough not to match by chance (the suite also sends
    # malformed ones such as "a.b")
    for tok in (t for t in SENT_TOKENS if len(t) >= 24):
        needles[tok] = "a token"
        signature = tok.rsplit(".", 1)[-1]
        if len(signature) >= 24:
            needles[signature] = "a token's signature"
    needles[SECRET.decode(errors="replace")] = "the JWT secret"
    for text in SENT_FREE_TEXT:
        needles[text] = "a customer's free text"
    assert SENT_TOKENS, "the suite sent no token: nothing to look for"
    for name in LOGS:
        path = os.path.join(STACK_DIR, name)
        text = open(path, errors="replace").read()
        found = [(what, needle[:20]) for needle, what in needles.items() if needle and needle in text]
        assert not found, f"{name} holds {found[:5]}"


def test_the_app_log_is_json_lines_with_one_per_request():
    events = log_events(os.path.join(STACK_DIR, "app.log"))
    requests = [e for e in events if e["event"] == "request"]
    assert requests
    for e in requests:
        assert {"time", "level", "request_id", "method", "route", "status", "code", "sub", "role",
                "duration_us", "db_round_trips"} <= set(e), e
    assert any(e["event"] == "started" for e in events)
