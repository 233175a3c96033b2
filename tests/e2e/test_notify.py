"""pf-account under systemd's Type=notify: READY=1 on $NOTIFY_SOCKET once its
FastCGI socket listens (so nginx is not sent to a socket that is not there
yet), STOPPING=1 when SIGTERM starts the drain. The app runs with the
stack's configuration on a socket of its own."""
import os, signal, socket, subprocess, tempfile, time
from harness import *

BUILD = os.environ.get("PF_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
APP = os.path.join(BUILD, "pf-account")
CONFIG = os.path.join(os.environ.get("PF_STACK_DIR", "/tmp"), "pf-account.conf")


def receive(sock, timeout):
    sock.settimeout(timeout)
    return sock.recv(4096).decode()


def test_ready_and_stopping_notifications():
    with tempfile.TemporaryDirectory() as tmp:
        notify_path = os.path.join(tmp, "notify")
        app_socket = os.path.join(tmp, "app.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(notify_path)
        env = {**os.environ, "PF_CONFIG": CONFIG, "PF_SOCKET": app_socket,
               "NOTIFY_SOCKET": notify_path, "PF_PROCESSES": "1", "PF_THREADS": "2"}
        env.pop("PF_LISTEN", None)
        proc = subprocess.Popen([APP], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            message = receive(sock, 20)
            assert message == "READY=1", message
            # ready means listening: a connection is accepted at once
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.connect(app_socket)
            client.close()
            proc.send_signal(signal.SIGTERM)
            message = receive(sock, 20)
            assert message == "STOPPING=1", message
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sock.close()
