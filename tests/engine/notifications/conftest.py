"""A real SMTP server (aiosmtpd) and a real HTTP receiver on 127.0.0.1, and a desk with the mini plan."""
from __future__ import annotations

import json
import socket
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from engine.db import transaction
from engine.models import User
from engine.notifications import preferences, webhooks
from tests.samples import one_task_plan, write_plan
from tests.support import Desk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """What the SMTP server received, parsed."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    """aiosmtpd on a fixed free port that a test can stop and start again (a mail server outage)."""

    def __init__(self):
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(monkeypatch):
    server = SmtpServer()
    monkeypatch.setenv("PLANFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PLANFLOW_SMTP_PORT", str(server.port))
    monkeypatch.setenv("PLANFLOW_SMTP_TLS", "none")
    monkeypatch.setenv("PLANFLOW_SMTP_TIMEOUT", "5")
    monkeypatch.setenv("PLANFLOW_MAIL_FROM", "planflow@example.cn")
    monkeypatch.setenv("PLANFLOW_BASE_URL", "https://planflow.example.cn")
    server.start()
    yield server
    server.stop()


class Receiver:
    """An HTTP endpoint recording every POST; `answers` (status codes) are used up first, then 200."""

    def __init__(self):
        self.requests = []
        self.answers: list[int] = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.answers.pop(0) if receiver.answers else 200
                receiver.requests.append({"path": self.path, "headers": self.headers, "body": body,
                                          "status": status})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"errcode": 0, "errmsg": "ok"}).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self) -> list[dict]:
        return [r for r in self.requests if r["status"] == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def mini(session_factory, now, tmp_path, monkeypatch):
    """The mini plan (handler task, 24 h deadline, escalation to the office director) and one user per role."""
    monkeypatch.setenv("PLANFLOW_NOTIFY_WARN", "80%")
    monkeypatch.setenv("PLANFLOW_TIMEZONE", "Asia/Shanghai")
    return Desk.open(session_factory, now, [write_plan(tmp_path / "plans", one_task_plan())])


def set_mail(desk: Desk, username: str, email: str, locale: str = "zh_CN", **options) -> None:
    """Give a user an e-mail address (and a language), with the other preferences at their defaults."""
    with transaction(desk.session_factory) as session:
        session.query(User).filter(User.username == username).update({"locale": locale})
        preferences.set_preferences(session, username, email=email, muted_events=options.get("muted", []),
                                    channels=options.get("channels", ["app", "email"]),
                                    quiet_from=options.get("quiet_from"), quiet_until=options.get("quiet_until"),
                                    daily_digest=options.get("digest", False))


def add_hook(desk: Desk, name: str, url: str, **options) -> str:
    with transaction(desk.session_factory) as session:
        return webhooks.add_webhook(session, name, url, "process_owner1", desk.now, **options).secret
