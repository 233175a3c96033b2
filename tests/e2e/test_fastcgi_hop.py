"""The FastCGI hop itself, written straight to the app's unix socket: the
app ends each request with a plain close (fcgi/fcgi_finish.h), so a peer
that keeps its end open after the answer holds no worker thread, and a
request whose body was not read to its end still gets its whole answer."""
import os, socket, struct, time
from harness import *

STACK_DIR = os.environ.get("PF_STACK_DIR", "/tmp/personaforge-stack")
SOCKET = os.path.join(STACK_DIR, "run", "app.sock")


def record(kind, content, request_id=1):
    return struct.pack(">BBHHBB", 1, kind, request_id, len(content), 0, 0) + content


def name_value(name, value):
    def length(n):
        return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    return length(len(name)) + length(len(value)) + name + value


def fastcgi_request(method, uri, body=b"", headers=None):
    params = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "QUERY_STRING": "",
              "CONTENT_LENGTH": str(len(body)) if body else "",
              "CONTENT_TYPE": "application/json" if body else ""}
    params.update(headers or {})
    encoded = b"".join(name_value(k.encode(), v.encode()) for k, v in params.items())
    begin = record(1, struct.pack(">HB5x", 1, 0))  # RESPONDER, no keep-alive
    out = begin + record(4, encoded) + record(4, b"")
    if body:
        out += record(5, body)
    return out + record(5, b"")


def read_answer(s, timeout=5):
    """Reads records up to END_REQUEST: (stdout bytes, whether the app then
    closed the connection)."""
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
    closed = data == b"" and s.recv(1) == b""
    return stdout, closed


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
