"""Hostile peers on the app's FastCGI socket (reachable by root and nginx's
group): a request reaches a worker thread only once all of it has arrived
and lies inside lib/fastcgi_request_scan.h's limits (fcgi/connection_set.c).
Peers that send part of a request and stall, POSTs whose body never comes,
the params lengths that aborted libfcgi, and a flood of idle connections
from one peer: none of them holds a thread, kills a worker or keeps nginx's
requests from being answered within a second."""
import os, resource, select, socket, struct, time
from harness import *
from test_fastcgi_hop import SOCKET, STACK_DIR, fastcgi_request, kept_connection, read_answer, record

PARTIAL_REQUEST_SECONDS = 3     # CONNECTION_PARTIAL_REQUEST_MS
PEER_WAITING_MAX = 512          # CONNECTION_PEER_WAITING_MAX, per worker process


def app_pid():
    return int(open(os.path.join(STACK_DIR, "app.pid")).read())


def worker_pids():
    return sorted(child_pids(app_pid()))


def closed_counts(field):
    """How many connections the app's sweep lines say it closed, for field."""
    return sum(e.get(field, 0) for e in log_events(os.path.join(STACK_DIR, "app.log"),
                                                   "fastcgi_connections_closed"))


def answered_promptly(n=10, limit=1.0):
    """n requests through nginx, each answered 200 within limit seconds;
    returns the slowest time."""
    uid = new_id()
    slowest = 0.0
    for _ in range(n):
        started = time.time()
        r = get("/api/v1/account", token(uid))
        took = time.time() - started
        assert r.status == 200, r
        assert took < limit, f"answered in {took:.2f} s"
        slowest = max(slowest, took)
    return slowest


def closed_by_app(socks, timeout):
    """How many of socks the app has closed (end-of-file readable) within
    timeout seconds."""
    poller = select.poll()
    by_fd = {}
    for s in socks:
        poller.register(s.fileno(), select.POLLIN | select.POLLHUP)
        by_fd[s.fileno()] = s
    closed = set()
    deadline = time.time() + timeout
    while len(closed) < len(socks) and time.time() < deadline:
        for fd, _ in poller.poll(100):
            if fd in closed:
                continue
            try:
                data = by_fd[fd].recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data == b"":
                closed.add(fd)
                poller.unregister(fd)
    return len(closed)


def stalled_peers(count):
    """count connections, each stopped part-way through a request in one of
    three ways: one byte, the parameters cut off, a POST without its body."""
    whole = fastcgi_request("POST", "/api/v1/subscription/cancel", body=b'{"reason":"x"}' * 10, keep=True)
    params_end = whole.index(record(4, b"")) + 8
    shapes = [whole[:1], whole[:params_end - 20], whole[:params_end]]
    peers = []
    for i in range(count):
        s = kept_connection()
        s.sendall(shapes[i % len(shapes)])
        peers.append(s)
    return peers


def test_stalled_peers_hold_no_worker_and_are_closed():
    # three times the suite's 2 x 4 threads: libfcgi's own reads would block
    # a thread on each, and every request through nginx answered 503 after 15 s
    peers = stalled_peers(24)
    try:
        time.sleep(0.3)
        answered_promptly()
        # each is closed once its request has been arriving for too long
        assert closed_by_app(peers, PARTIAL_REQUEST_SECONDS + 3) == len(peers)
    finally:
        for s in peers:
            s.close()
    # the sweep's line is written after the close the peer already saw, and
    # a worker's log batch is flushed only when its loop next waits
    assert wait_until(lambda: closed_counts("request_not_whole_in_time") >= len(peers), 3), \
        closed_counts("request_not_whole_in_time")


def test_the_lengths_that_aborted_libfcgi_cost_no_worker():
    before = worker_pids()
    assert before
    for name_len, value_len in [(0x40000000, 0x40000000), (0x7FFFFFFF, 1), (1, 0x7FFFFFF0)]:
        s = kept_connection()
        begin = record(1, struct.pack(">HB5x", 1, 1))
        lengths = struct.pack(">II", name_len | 0x80000000, value_len | 0x80000000)
        s.sendall(begin + record(4, lengths + b"A" * 16) + record(4, b""))
        # refused as a whole: the app closes the connection, answering nothing
        s.settimeout(3)
        assert s.recv(100) == b""
        s.close()
    # the same connection-level refusal, and a valid request on the next connection
    s = kept_connection()
    s.sendall(fastcgi_request("GET", "/healthz", keep=True))
    stdout, _ = read_answer(s, kept=True)
    assert stdout.startswith(b"Status: 200"), stdout
    s.close()
    answered_promptly(5)
    assert worker_pids() == before, (before, worker_pids())
    assert not [e for e in log_events(os.path.join(STACK_DIR, "app.log"), "worker_ended") if "signal" in e]


def test_a_flood_of_idle_connections_from_one_peer_is_capped():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    workers = len(worker_pids())
    flood = []
    try:
        for _ in range(1100):
            flood.append(kept_connection())
        time.sleep(0.3)
        answered_promptly()
        # beyond PEER_WAITING_MAX per worker process, the peer's oldest
        # waiting connections are closed, so it cannot use up descriptors
        closed = closed_by_app(flood, 3)
        assert closed >= len(flood) - workers * PEER_WAITING_MAX, closed
        for pid in worker_pids():
            assert len(os.listdir(f"/proc/{pid}/fd")) < PEER_WAITING_MAX + 100
        # nginx's own connections were not the ones that gave way
        answered_promptly()
    finally:
        for s in flood:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    # counted at the set's next sweep, which may not have run yet
    assert wait_until(lambda: closed_counts("over_peer_or_descriptor_limit") > 0, PARTIAL_REQUEST_SECONDS + 2)


def test_pipelined_request_closes_the_connection():
    # nginx sends a connection's next request only after the answer: bytes
    # already behind a request are refused with the connection, not queued
    s = kept_connection()
    one = fastcgi_request("GET", "/healthz", keep=True)
    s.sendall(one + one)
    read_answer(s, kept=True)
    s.settimeout(3)
    assert s.recv(100) == b""
    s.close()
    answered_promptly(3)
