"""A drill tells its participants, marks every notification as a drill, and keeps it away from webhooks."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine.db import transaction
from engine.drills import lifecycle
from engine.models import DeadlineWarning, Notification
from engine.notifications import sender
from engine.notifications.templates import render
from tests.conftest import SHANGHAI
from tests.engine.notifications.conftest import add_hook

SCENARIO = {"complainant": "演练用户", "contact": "13900000000", "channel": "phone", "category": "service",
            "content": "演练：快递延误"}


def test_participants_hear_the_drill_start_and_its_tasks_as_a_drill_and_robots_hear_nothing(desk, receiver):
    add_hook(desk, "duty-room", receiver.url + "/robot")
    drill = desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {"intake": "intake1", "handler": "handler1"},
                    "office_director1", desk.now, scale="P1D=PT2M", sim_start=datetime(2026, 3, 5, 10, tzinfo=SHANGHAI),
                    title="快递延误演练")
    with transaction(desk.session_factory, readonly=True) as session:
        notes = list(session.execute(select(Notification).where(Notification.channel == "app")
                                     .order_by(Notification.id)).scalars())
        warnings = session.execute(select(DeadlineWarning)).scalars().all()
    started = [n for n in notes if n.event == "drill_started"]
    assert sorted((n.recipient, n.payload["role"]) for n in started) == [("handler1", "handler"), ("intake1", "intake")]
    assert render("drill_started", started[0].payload, "zh_CN", "").subject == "演练开始：快递延误演练"
    [ready] = [n for n in notes if n.event == "task_ready"]
    assert ready.recipient == "intake1" and ready.payload["drill"] is True
    assert render(ready.event, ready.payload, "zh_CN", "").subject.startswith("【演练】新任务：")
    assert render(ready.event, ready.payload, "en", "").subject.startswith("[Drill] New task:")
    assert warnings == []  # the drill's deadlines run on its own clock
    assert sender.send_due(desk.session_factory, datetime.now(SHANGHAI) + timedelta(minutes=1)).sent == 0
    assert receiver.requests == [] and drill.id
