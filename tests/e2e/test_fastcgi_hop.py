"""The FastCGI hop itself, written straight to the app's unix socket: the
app ends each request with a plain close (fcgi/fcgi_finish.h), so a peer
that keeps its end open after the answer holds no worker thread, and a
request whose body was not read to its end still gets its whole answer.
A connection the peer asks to keep (FCGI_KEEP_CONN, as nginx's
fastcgi_keep_conn does) carries request after request, and while it is
idle it waits in the worker's epoll set (fcgi/connection_set.c), not in a
thread."""
import os, socket, struct, subprocess, time
from harness import *

STACK_DIR = os.environ.get("PF_STACK_DIR", "/tmp/personaforge-stack")
SOCKET = os.path.join(STACK_DIR, "run", "app.sock")


def record(kind, content, request_id=1):
    return struct.pack(">BBHHBB", 1, kind, request_id, len(content), 0, 0) + content


def name_value(name, value):
    def length(n):
        return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    return length(len(name)) + length(len(value)) + name + value


def fastcgi_request(method, uri, body=b"", headers=None, keep=False, request_id=1):
    params = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "QUERY_STRING": "",
              "CONTENT_LENGTH": str(len(body)) if body else "",
              "CONTENT_TYPE": "application/json" if body else ""}
    params.update(headers or {})
    encoded = b"".join(name_value(k.encode(), v.encode()) for k, v in params.items())
    begin = record(1, struct.pack(">HB5x", 1, 1 if keep else 0), request_id)  # RESPONDER
    out = begin + record(4, encoded, request_id) + record(4, b"", request_id)
    if body:
        out += record(5, body, request_id)
    return out + record(5, b"", request_id)


def read_answer(s, timeout=5, kept=False, check_open=False):
    """Reads records up to END_REQUEST: (stdout bytes, whether the app then
    closed the connection). For a kept connection that is not looked at
    (None) unless check_open: then whether it was closed within 0.3 s."""
    s.settimeout(timeout)
    data = b""
    stdout = b""
    while True:
        while len(data) < 8:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError("connection closed before END_REQUEST")
            data += chunk
        _, kind, _, length, padding, _ = struct.unpack(">BBHHBB", data[:8])
        while len(data) < 8 + length + padding:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError("connection closed inside a record")
            data += chunk
        content = data[8:8 + length]
        data = data[8 + length + padding:]
        if kind == 6:
            stdout += content
        if kind == 3:
            break
    if kept and not check_open:
        return stdout, None
    if kept:
        s.settimeout(0.3)
        try:
            return stdout, data == b"" and s.recv(1) == b""
        except socket.timeout:
            return stdout, False
    closed = data == b"" and s.recv(1) == b""
    return stdout, closed


def kept_connection():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCKET)
    return s


def worker_descriptors():
    master = int(open(os.path.join(STACK_DIR, "app.pid")).read())
    workers = child_pids(master)
    return sum(len(os.listdir(f"/proc/{w}/fd")) for w in workers)


def test_peers_that_keep_the_connection_open_hold_no_worker():
    # more connections than any default worker count; with a lingering close
    # every worker would sit up to 2 s waiting for each of these to close
    held = []
    started = time.time()
    try:
        for _ in range(24):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(SOCKET)
            s.sendall(fastcgi_request("GET", "/healthz"))
            stdout, closed = read_answer(s)
            assert stdout.startswith(b"Status: 200"), stdout[:200]
            assert closed, "the app did not close the connection after answering"
            held.append(s)
        assert time.time() - started < 1.5, time.time() - started
    finally:
        for s in held:
            s.close()


def test_unread_request_body_does_not_cut_the_answer():
    # GET takes no body: the app never reads this one, and still answers in full
    uid = new_id()
    body = b'{"ignored":"' + b"x" * 20000 + b'"}'
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCKET)
    try:
        s.sendall(fastcgi_request("GET", "/api/v1/account", body,
                                  {"HTTP_AUTHORIZATION": "Bearer " + token(uid)}))
        stdout, closed = read_answer(s)
    finally:
        s.close()
    head, _, payload = stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"Status: 200"), head
    length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")][0].split(b":")[1])
    assert len(payload) == length and payload.endswith(b"}"), (length, payload[-50:])
    assert closed


def test_kept_connection_carries_request_after_request():
    uid = new_id()
    s = kept_connection()
    try:
        for i in range(1, 6):
            s.sendall(fastcgi_request("GET", "/api/v1/account", headers={
                "HTTP_AUTHORIZATION": "Bearer " + token(uid)}, keep=True, request_id=i))
            stdout, closed = read_answer(s, kept=True, check_open=(i == 5))
            assert stdout.startswith(b"Status: 200"), stdout[:200]
            assert ('"id":"%s"' % uid).encode() in stdout, stdout[-300:]
            assert not closed, "the app closed a connection the peer asked to keep"
        # a request without the keep flag on the same connection ends it
        s.sendall(fastcgi_request("GET", "/healthz", request_id=7))
        stdout, closed = read_answer(s)
        assert stdout.startswith(b"Status: 200") and closed
    finally:
        s.close()


def test_idle_kept_connections_hold_no_worker():
    # three times any default thread count: with libfcgi's own loop each
    # idle kept connection would pin a thread, and these requests through
    # nginx would wait until the idle ones were closed
    idle = []
    try:
        for _ in range(24):
            s = kept_connection()
            s.sendall(fastcgi_request("GET", "/healthz", keep=True))
            stdout, _ = read_answer(s, kept=True)
            assert stdout.startswith(b"Status: 200"), stdout[:200]
            idle.append(s)
        uid = new_id()
        started = time.time()
        for _ in range(20):
            expect(get("/api/v1/account", token(uid)), 200)
        assert time.time() - started < 2, time.time() - started
        # and each idle one still answers its next request
        for i, s in enumerate(idle):
            s.sendall(fastcgi_request("GET", "/healthz", keep=True, request_id=2))
            stdout, _ = read_answer(s, kept=True)
            assert stdout.startswith(b"Status: 200"), (i, stdout[:200])
    finally:
        for s in idle:
            s.close()


def test_kept_connections_closed_by_the_peer_are_released():
    before = worker_descriptors()
    for _ in range(3):
        batch = []
        for _ in range(40):
            s = kept_connection()
            s.sendall(fastcgi_request("GET", "/healthz", keep=True))
            read_answer(s, kept=True)
            batch.append(s)
        for s in batch:
            s.close()
    deadline = time.time() + 5
    while worker_descriptors() > before + 8 and time.time() < deadline:
        time.sleep(0.1)
    assert worker_descriptors() <= before + 8, (before, worker_descriptors())


def test_connections_that_send_nothing_hold_no_worker():
    # the backlog is taken whole: a connection that has sent nothing yet
    # waits in the set, not in a thread
    quiet = [kept_connection() for _ in range(16)]
    try:
        uid = new_id()
        started = time.time()
        for _ in range(10):
            expect(get("/api/v1/account", token(uid)), 200)
        assert time.time() - started < 2, time.time() - started
    finally:
        for s in quiet:
            s.close()


def connected_to_app_socket():
    """Connected sockets bound to the app's socket (the app's side of each
    accepted connection), from /proc/net/unix. The kernel shows the name
    the socket was bound to: the app binds "<path>.new" and renames it into
    place, so nginx never sees it with the wrong permissions."""
    names = (SOCKET, SOCKET + ".new")
    count = 0
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            fields = line.split()
            if len(fields) >= 8 and fields[7] in names and fields[5] == "03":
                count += 1
    return count


def test_nginx_keeps_its_connections_to_the_app():
    # the shipped config (fastcgi_keep_conn on, an upstream keepalive pool):
    # after the answers, nginx's connections stay open for the next requests
    uid = new_id()
    for _ in range(5):
        expect(get("/api/v1/account", token(uid)), 200)
    assert connected_to_app_socket() >= 1
