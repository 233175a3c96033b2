"""pf-account under systemd's Type=notify (sd_notify(3) from libsystemd):
READY=1 on $NOTIFY_SOCKET once its FastCGI socket listens and a database
connection works (so nginx is not sent to a socket that is not there yet,
and units ordered after it find it answering), STATUS= while it waits for
the database, STOPPING=1 when SIGTERM starts the drain. The app runs with
the stack's configuration on a socket of its own."""
import contextlib, os, signal, socket, subprocess, tempfile, threading, time
from harness import *
from app_instance import free_ports

BUILD = os.environ.get("PF_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
APP = os.path.join(BUILD, "pf-account")
CONFIG = os.path.join(os.environ.get("PF_STACK_DIR", "/tmp"), "pf-account.conf")


def receive(sock, timeout):
    sock.settimeout(timeout)
    return sock.recv(4096).decode()


@contextlib.contextmanager
def app_under_notify(**settings):
    """The app started as systemd would start it (NOTIFY_SOCKET), on a
    socket of its own: yields (process, the notify socket, the app's
    socket path); the app is killed at the end if it is still running."""
    with tempfile.TemporaryDirectory() as tmp:
        notify_path = os.path.join(tmp, "notify")
        app_socket = os.path.join(tmp, "app.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(notify_path)
        env = {**os.environ, "PF_CONFIG": CONFIG, "PF_SOCKET": app_socket,
               "NOTIFY_SOCKET": notify_path, "PF_PROCESSES": "1", "PF_THREADS": "2", **settings}
        env.pop("PF_LISTEN", None)
        proc = subprocess.Popen([APP], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield proc, sock, app_socket
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sock.close()


def connects(app_socket):
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(app_socket)
    client.close()


def test_ready_and_stopping_notifications():
    with app_under_notify() as (proc, sock, app_socket):
        message = receive(sock, 20)
        assert message == "READY=1", message
        # ready means listening: a connection is accepted at once
        connects(app_socket)
        proc.send_signal(signal.SIGTERM)
        message = receive(sock, 20)
        assert message == "STOPPING=1", message
        assert proc.wait(timeout=30) == 0


class Forwarder:
    """A TCP port that passes connections on to PostgreSQL: the database
    "comes up" at an address the app was already told about."""

    def __init__(self, port, target):
        self.listener = socket.create_server(("127.0.0.1", port))
        self.target = target
        self.socks = [self.listener]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.socks += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self):
        for s in self.socks:
            s.close()


def test_ready_waits_until_the_database_answers():
    pg = dict(item.split("=", 1) for item in DATABASE.split())
    port = free_ports(1)[0]
    conninfo = f"host=127.0.0.1 port={port} user={pg['user']} dbname={pg['dbname']} connect_timeout=2"
    forwarder = None
    with app_under_notify(PF_DATABASE=conninfo) as (proc, sock, app_socket):
        try:
            # nothing listens at the database's address: it says why it
            # waits, and stays not ready
            message = receive(sock, 20)
            assert message.startswith("STATUS=waiting for the database"), message
            end = time.time() + 2.5
            while time.time() < end:
                try:
                    message = receive(sock, max(0.05, end - time.time()))
                except socket.timeout:
                    break
                assert message.startswith("STATUS="), message
            # meanwhile the socket listens: nginx's health check gets an answer
            connects(app_socket)
            forwarder = Forwarder(port, (pg["host"], int(pg["port"])))
            end = time.time() + 20
            while message != "READY=1" and time.time() < end:
                message = receive(sock, max(0.05, end - time.time()))
            assert message == "READY=1", message
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if forwarder is not None:
                forwarder.close()
