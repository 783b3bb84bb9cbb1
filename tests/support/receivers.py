"""Real receivers on 127.0.0.1: an SMTP server (aiosmtpd) and a webhook endpoint, counting what arrives."""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """An SMTP server that can be stopped and started again on the same port (an outage)."""

    def __init__(self, port: int | None = None, login: tuple[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[Message] = []
        self.controller: Controller | None = None
        self.login = login  # (user, password) the server demands (AUTH over plain SMTP, for tests only)
        self.logins: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201 - aiosmtpd API
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202 - aiosmtpd API
        from aiosmtpd.smtp import AuthResult

        user = auth_data.login.decode() if isinstance(auth_data.login, bytes) else str(auth_data.login)
        password = auth_data.password.decode() if isinstance(auth_data.password, bytes) else str(auth_data.password)
        ok = (user, password) == self.login
        if ok:
            self.logins.append(user)
        return AuthResult(success=ok)

    def start(self) -> SmtpSink:
        auth = dict(authenticator=self._authenticate, auth_require_tls=False, auth_required=True) if self.login else {}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **auth)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    def url(self, to: str = "analyst@example.com") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=notifier@example.com&to={to}&secure=no&smtp=127.0.0.1"

    def wait(self, count: int, timeout: float = 20) -> list[Message]:
        end = time.time() + timeout
        while len(self.messages) < count and time.time() < end:
            time.sleep(0.05)
        return self.messages

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parts(message: Message) -> dict[str, str]:
    """content type -> decoded text of each part of an email."""
    out = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            out[part.get_content_type()] = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return out


class WebhookReceiver:
    """Collects POSTed JSON; `responses` is a list of statuses to answer in turn (then 200)."""

    def __init__(self, port: int | None = None) -> None:
        self.received: list[dict] = []
        self.responses: list[int] = []
        self.retry_after: str | None = None
        self.hang: float = 0.0  # every request waits this long for its answer (a slow receiver; still processed)
        self.stall = 0  # the next N requests are held `stall_for` seconds, then dropped unanswered and unprocessed
        self.stall_for = 10.0
        self.hits = 0
        self.reply = b""  # the body of a 200 answer (Slack's webhook answers "ok")
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                receiver.hits += 1
                if receiver.stall > 0:
                    receiver.stall -= 1
                    time.sleep(receiver.stall_for)
                    self.close_connection = True
                    return
                if receiver.hang:
                    time.sleep(receiver.hang)
                status = receiver.responses.pop(0) if receiver.responses else 200
                if status == 200:
                    seen = {"path": self.path, "notifier_id": self.headers.get("X-Notifier-Id")}
                    try:
                        receiver.received.append({**seen, **json.loads(raw)})
                    except ValueError:
                        receiver.received.append({**seen, "raw": raw.decode("utf-8", "replace")})
                self.send_response(status)
                if status == 429 and receiver.retry_after:
                    self.send_header("Retry-After", receiver.retry_after)
                body = receiver.reply if status == 200 else b""
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def wait(self, count: int, timeout: float = 20) -> list[dict]:
        end = time.time() + timeout
        while len(self.received) < count and time.time() < end:
            time.sleep(0.05)
        return self.received

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
