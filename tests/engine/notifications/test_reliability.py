"""Nothing is lost: a mail server outage is waited out, and a sender killed mid-batch loses nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from engine.db import transaction
from engine.models import Notification, NotificationStatus
from engine.notifications import sender
from tests.engine.notifications.conftest import add_hook, set_mail
from tests.support import ROOT


def rows(desk, channel):
    with transaction(desk.session_factory, readonly=True) as session:
        return list(session.execute(select(Notification).where(Notification.channel == channel)
                                    .order_by(Notification.id)).scalars())


def test_mail_waits_while_the_server_is_down_and_goes_out_once_when_it_is_back(mini, smtp_server):
    set_mail(mini, "handler1", "handler1@example.cn")
    smtp_server.stop()
    numbers = [mini.start("mini", {}, "handler1") for _ in range(3)]
    down = sender.send_due(mini.session_factory, mini.now)
    assert (down.sent, down.retrying, down.undeliverable) == (0, 3, 0)
    assert "ConnectionRefusedError" in down.errors[0]
    assert sender.send_due(mini.session_factory, mini.now + timedelta(seconds=10)).retrying == 0  # backing off
    still_down = sender.send_due(mini.session_factory, mini.now + timedelta(seconds=31))
    assert still_down.retrying == 3
    assert {r.status for r in rows(mini, "email")} == {NotificationStatus.PENDING}
    assert {r.attempts for r in rows(mini, "email")} == {2}
    smtp_server.start()
    assert sender.send_due(mini.session_factory, mini.now + timedelta(seconds=60)).sent == 0  # 60 s backoff now
    back = sender.send_due(mini.session_factory, mini.now + timedelta(seconds=92))
    assert (back.sent, back.retrying) == (3, 0)
    subjects = Counter(m["Subject"] for m in smtp_server.mailbox.messages)
    assert subjects == Counter({f"新任务：Verify（{n}）": 1 for n in numbers})
    assert {r.status for r in rows(mini, "email")} == {NotificationStatus.SENT}
    assert sender.send_due(mini.session_factory, mini.now + timedelta(hours=2)).sent == 0
    assert len(smtp_server.mailbox.messages) == 3


SENDER = """
import sys
from datetime import datetime
from engine.db import make_engine, make_session_factory
from engine.notifications import sender
sender.send_due(make_session_factory(make_engine(sys.argv[1])), datetime.fromisoformat(sys.argv[2]))
print("finished the batch")
"""


def test_a_sender_killed_mid_batch_loses_nothing_and_resends_at_most_the_one_in_flight(mini, receiver, db_url):
    add_hook(mini, "hotline", receiver.url + "/hook")
    for _ in range(12):
        mini.start("mini", {}, "handler1")
    receiver.delay = 0.25
    worker = subprocess.Popen([sys.executable, "-c", SENDER, db_url, mini.now.isoformat()], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(receiver.requests) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    out, _ = worker.communicate(timeout=30)
    assert worker.returncode == -signal.SIGKILL and "finished" not in out
    time.sleep(0.5)  # let the receiver finish the request that was in flight
    receiver.delay = 0
    before = rows(mini, "webhook")
    sent_before = [r.id for r in before if r.status == NotificationStatus.SENT]
    assert 3 <= len(sent_before) < 12, "killed before the batch was done"
    assert sender.send_due(mini.session_factory, mini.now).sent == 0  # the rest are leased, not lost
    after = sender.send_due(mini.session_factory, mini.now + sender.LEASE + timedelta(seconds=1))
    assert after.sent == 12 - len(sent_before)
    assert {r.status for r in rows(mini, "webhook")} == {NotificationStatus.SENT}
    delivered = Counter(json.loads(r["body"])["id"] for r in receiver.requests)
    assert set(delivered) == {r.id for r in before}
    assert sum(delivered.values()) - len(delivered) <= 1, f"resent more than the one in flight: {delivered}"
