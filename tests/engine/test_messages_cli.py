"""`planflow message`, `planflow doctor` and `planflow retry` on a real SQLite file."""
from __future__ import annotations

import json

from sqlalchemy import delete

from engine.db import make_engine, make_session_factory, transaction
from engine.models import MessageSubscription
from tests.engine.test_cli import planflow  # noqa: F401 — the fixture
from tests.engine.test_constructs import CONSTRUCTS


def _ready(planflow):
    assert planflow("init")[0] == 0
    assert planflow("deploy", str(CONSTRUCTS))[0] == 0
    assert planflow("user", "add", "li", "--role", "handler", "--password", "pw")[0] == 0


def test_a_message_is_sent_from_the_command_line_exactly_once(planflow):
    _ready(planflow)
    code, number, _ = planflow("start", "ct_receive_task", "--as", "li")
    number = number.strip()
    code, out, err = planflow("message", "written_reply", "--case", number, "--data", '{"text": "同意"}', "--as", "li")
    assert code == 0 and f"written_reply delivered to {number} (Receive_Reply)" in out and "Task_Review" in out
    code, out, err = planflow("message", "written_reply", "--case", number, "--as", "li")
    assert code == 2 and err.count("\n") == 1 and "no case is waiting for a message 'written_reply'" in err


def test_doctor_finds_a_case_that_waits_on_nothing_anyone_can_see(planflow):
    _ready(planflow)
    number = planflow("start", "ct_receive_task", "--as", "li")[1].strip()
    code, out, _ = planflow("doctor")
    assert code == 0 and "every case is completed" in out
    engine = make_engine(planflow.url)
    with transaction(make_session_factory(engine)) as session:   # what a lost row would look like
        session.execute(delete(MessageSubscription))
    engine.dispose()
    code, out, _ = planflow("doctor", "--json")
    assert code == 1
    [finding] = json.loads(out)
    assert finding["case"] == number and "no open task, waiting timer or message subscription row" in \
        " ".join(finding["problems"])


def test_a_case_whose_plan_fails_at_once_is_kept_and_can_be_retried(planflow):
    _ready(planflow)
    code, number, err = planflow("start", "ct_mi_missing", "--as", "li")
    assert code == 0 and "registered but its plan stopped at once: Task_Review: TypeError" in err
    number = number.strip()
    code, out, _ = planflow("incidents", "--json")
    assert [row["case"] for row in json.loads(out)] == [number]
    code, _, err = planflow("retry", number, "--as", "li")
    assert code == 2 and "Task_Review: TypeError" in err
    code, out, _ = planflow("doctor")
    assert code == 0, "an incident is one of the allowed states"
