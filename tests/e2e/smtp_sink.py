"""smtp_sink.py: the e2e suite's SMTP server, a real one (Debian's
python3-aiosmtpd), run as its own process so a test can stop and start it
like a mail relay going down and coming back. Each accepted message is one
JSON file in --dir (envelope sender, recipients, the bytes as base64),
written atomically, named in arrival order.

  smtp_sink.py --port N --dir D [--reject REGEX] [--tempfail REGEX] [--data-delay S]
               [--auth USER:PASSWORD] [--reply-delay S]

--reject answers 550 to a recipient matching REGEX, --tempfail 451;
--data-delay holds each DATA reply for S seconds (a slow relay);
--reply-delay stores the message first, then holds the reply (a client
that dies meanwhile leaves a message the server has and it never saw
accepted); --auth requires SMTP AUTH with these credentials
(offered without TLS: the tests' relay is plain). Prints
"ready" once it accepts connections; SIGTERM stops it."""
import argparse, asyncio, base64, itertools, json, os, re, signal, sys, threading, time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, args):
        self.args = args
        self.seq = itertools.count()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.args.reject and re.search(self.args.reject, address):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if self.args.tempfail and re.search(self.args.tempfail, address):
            return "451 4.3.0 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.data_delay:
            await asyncio.sleep(self.args.data_delay)
        self.store(envelope)
        if self.args.reply_delay:
            await asyncio.sleep(self.args.reply_delay)
        return "250 2.0.0 accepted"

    def store(self, envelope):
        with self.lock:
            n = next(self.seq)
        record = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                  "data": base64.b64encode(envelope.original_content or envelope.content).decode()}
        name = "%020d-%06d.json" % (time.time_ns(), n)
        tmp = os.path.join(self.args.dir, "." + name)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.args.dir, name))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--reject")
    p.add_argument("--tempfail")
    p.add_argument("--data-delay", type=float, default=0)
    p.add_argument("--auth")
    p.add_argument("--reply-delay", type=float, default=0)
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    auth = {}
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, data):
            ok = (isinstance(data, LoginPassword) and data.login == user.encode()
                  and data.password == password.encode())
            return AuthResult(success=ok, handled=False)

        auth = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
    controller = Controller(Sink(args), hostname="127.0.0.1", port=args.port,
                            decode_data=False, **auth)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready", flush=True)
    while not stop.wait(0.2):
        pass
    controller.stop()


if __name__ == "__main__":
    sys.exit(main())
