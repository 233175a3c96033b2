"""Slow and greedy clients through nginx's public listener (issue 13): one
client address cannot lock the others out. The attacker's sockets are bound
to 127.0.0.2 (Linux routes all of 127/8 to lo), so nginx sees it as an
address of its own; the legitimate client is 127.0.0.1 as everywhere else.
nginx's limits are read from the stack's generated personaforge.conf."""
import http.client, os, re, resource, shutil, socket, subprocess, threading, time
from harness import *

STACK_DIR = os.environ.get("PF_STACK_DIR", "/tmp/personaforge-stack")
HOST, PORT = PUBLIC.split("//", 1)[1].split(":")
PORT = int(PORT)
ATTACKER = "127.0.0.2"


def stack_conf():
    return open(os.path.join(STACK_DIR, "personaforge.conf")).read()


def conn_per_addr():
    m = re.search(r"limit_conn pf_conn_per_addr (\d+);", stack_conf())
    return int(m.group(1)) if m else 0


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def attacker_socket(source=ATTACKER, timeout=2):
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(timeout)
    s.connect((HOST, PORT))
    return s


class Legit(threading.Thread):
    """GET /healthz from 127.0.0.1 every 0.2 s, a new connection each time:
    (status or error, seconds) per request."""

    def __init__(self):
        super().__init__(daemon=True)
        self.results = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            started = time.time()
            try:
                c = http.client.HTTPConnection(HOST, PORT, timeout=3)
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                c.close()
                outcome = r.status
            except Exception as e:
                outcome = type(e).__name__
            self.results.append((outcome, time.time() - started))
            self.stop.wait(0.2)


def check_legit(results):
    assert len(results) >= 20, results
    failed = [r for r in results if r[0] != 200]
    slow = [r for r in results if r[0] == 200 and r[1] > 1.0]
    # a shared machine may stall one request now and then; not more than that
    assert not failed and len(slow) <= max(2, len(results) // 10), \
        f"{len(failed)} failed, {len(slow)} over 1 s of {len(results)}: {(failed + slow)[:10]}"


def trickle_attack(attackers=1100, seconds=12):
    """The report's attack from 127.0.0.2: connections that declare a 60 KB
    body and then send a byte every 2 s (faster than client_body_timeout),
    while Legit asks from 127.0.0.1. Every 2 s the attacker also opens new
    connections in place of those nginx closed or answered, up to
    `attackers` open at once. Returns what each side saw."""
    raise_fd_limit(2 * attackers + 512)
    head = (b"POST /api/v1/refund-requests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 60000\r\n\r\n{")
    legit = Legit()
    socks, answers, refused = [], {}, []
    seen = {"opened": 0, "closed": 0, "not_connected": 0, "held": 0}
    try:
        legit.start()
        started = time.time()
        while time.time() - started < seconds:
            # top up to `attackers` open connections (within 5 s a round)
            deadline = time.time() + 5
            while len(socks) < attackers and time.time() < deadline:
                try:
                    s = attacker_socket()
                    s.sendall(head)
                    s.setblocking(False)
                    socks.append(s)
                    seen["opened"] += 1
                except OSError:
                    seen["not_connected"] += 1
            time.sleep(2)
            for s in list(socks):
                try:
                    data = s.recv(65536)
                    if data:
                        answers[s] = answers.get(s, b"") + data
                    gone = not data or s in answers
                except BlockingIOError:
                    gone = False
                except OSError:
                    gone = True
                if not gone:
                    try:
                        s.send(b"a")
                    except OSError:
                        gone = True
                if gone:
                    # answered (refused), or closed or reset without an answer
                    if s in answers:
                        refused.append(answers.pop(s))
                    else:
                        seen["closed"] += 1
                    socks.remove(s)
                    s.close()
            seen["held"] = len(socks)
        legit.stop.set()
        legit.join(10)
        seen["refused"] = refused + list(answers.values())
        seen["legit"] = legit.results
        return seen
    finally:
        legit.stop.set()
        for s in socks:
            s.close()


def test_one_address_trickling_bodies_cannot_lock_others_out():
    attackers = 1100
    limit = conn_per_addr()
    seen = trickle_attack(attackers)
    held, refused = seen["held"], seen["refused"]
    summary = {k: v for k, v in seen.items() if k not in ("refused", "legit")}
    summary.update(refused=len(refused), limit=limit)
    # the other clients were served all along
    check_legit(seen["legit"])
    # one address holds at most its limit_conn; the others were answered
    # 503 problem+json at once and their connections closed
    assert held <= limit and seen["not_connected"] == 0, summary
    assert len(refused) >= attackers - limit - seen["closed"] and refused, summary
    for answer in refused[:20]:
        assert answer.startswith(b"HTTP/1.1 503 "), answer[:300]
        assert b"\r\nRetry-After: 1\r\n" in answer and b"application/problem+json" in answer, answer[:400]
        assert b'"code":"unavailable"' in answer, answer[:400]
    # nothing left behind: the address is served again once it is quiet
    assert wait_until_answered(ATTACKER, 10), "127.0.0.2 was not served again after the attack"


def wait_until_answered(source, seconds):
    end = time.time() + seconds
    while time.time() < end:
        try:
            c = http.client.HTTPConnection(HOST, PORT, timeout=3, source_address=(source, 0))
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                c.close()
                return True
            c.close()
        except OSError:
            pass
        time.sleep(0.2)
    return False


def test_trickled_request_head_is_cut_off_in_total():
    # client_header_timeout bounds the whole head however it is trickled, and
    # the timed-out connection is reset (reset_timedout_connection), not kept
    # for a closing handshake
    s = attacker_socket()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    started = time.time()
    outcome = None
    try:
        while time.time() - started < 15 and outcome is None:
            try:
                s.sendall(b"X-Slow: 1\r\n")
                s.settimeout(1)
                data = s.recv(4096)
                outcome = "closed" if data == b"" else data
            except socket.timeout:
                pass
            except OSError as e:
                outcome = type(e).__name__
        elapsed = time.time() - started
    finally:
        s.close()
    assert outcome == "ConnectionResetError", outcome
    assert elapsed < 8, elapsed     # client_header_timeout 5 s, plus slack


def nginx_children():
    master = open(os.path.join(STACK_DIR, "nginx.pid")).read().strip()
    children = set()
    for task in os.listdir(f"/proc/{master}/task"):
        children |= set(open(f"/proc/{master}/task/{task}/children").read().split())
    return children


def reload_nginx(conf_text):
    """Writes the stack's personaforge.conf and reloads nginx; returns once
    only workers with the new configuration are left."""
    with open(os.path.join(STACK_DIR, "personaforge.conf"), "w") as f:
        f.write(conf_text)
    old = nginx_children()
    subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-c", os.path.join(STACK_DIR, "nginx.conf"), "-p", STACK_DIR, "-s", "reload"],
                   check=True, capture_output=True)
    end = time.time() + 15
    while time.time() < end:
        now = nginx_children()
        if now and not (now & old):
            return
        time.sleep(0.1)
    raise AssertionError(f"nginx workers {old} did not give way after the reload")


def test_request_flood_from_one_address_is_limited():
    # the suite raises the request rate per address (all its clients are
    # 127.0.0.1); here it is lowered to 20 a second with a burst of 40
    original = stack_conf()
    lowered = re.sub(r"rate=\d+r/s", "rate=20r/s", original)
    lowered = re.sub(r"(limit_req zone=pf_req_per_addr burst=)\d+", r"\g<1>40", lowered)
    assert lowered != original
    reload_nginx(lowered)
    try:
        statuses, refusals = [], []
        c = http.client.HTTPConnection(HOST, PORT, timeout=5, source_address=("127.0.0.3", 0))
        started = time.time()
        # one kept connection, as fast as it goes, until 20 refusals
        while len(refusals) < 20 and len(statuses) < 600:
            c.request("GET", "/healthz")
            r = c.getresponse()
            body = r.read()
            statuses.append(r.status)
            if r.status != 200:
                refusals.append((r.status, r.getheader("Retry-After"), r.getheader("Content-Type"), body))
            if r.getheader("Connection", "").lower() == "close":
                c.close()
                c = http.client.HTTPConnection(HOST, PORT, timeout=5, source_address=("127.0.0.3", 0))
        elapsed = time.time() - started
        c.close()
        served = statuses.count(200)
        # the burst, plus 20 a second for as long as it took, plus slack
        assert 40 <= served <= 41 + 20 * elapsed + 5, (served, elapsed)
        assert len(refusals) == 20 and all(x[0] == 503 and x[1] == "1" and x[2] == "application/problem+json"
                                and b'"code":"unavailable"' in x[3] for x in refusals), refusals[:3]
        # another address is not affected
        for _ in range(5):
            expect(get("/healthz"), 200)
    finally:
        reload_nginx(original)
    expect(get("/healthz"), 200)
