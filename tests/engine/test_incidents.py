"""Untrusted expressions and decision tables: refused at deploy when possible, else an incident.

An incident leaves the case as it was before the failing step, visible to a process
owner (`planflow incidents`), and the process goes on serving other cases.
"""
from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

from engine.cases import use_cases as cases
from engine.db import transaction
from engine.errors import CaseEngineError, DeployRejected
from engine.models import AuditEvent
from engine.plans import versions as plans
from tests.samples import one_task_plan, write_plan
from tests.support import ROOT, Desk

STATIC_ESCAPES = [
    "().__class__.__mro__[1].__subclasses__()",
    "getattr(note, '__cl' + 'ass__')",
    "__import__('os').system('id')",
    "open('/etc/passwd').read()",
    "f'{note.__class__}'",
    "(lambda: 0).__code__",
    "type(note)",
    "globals()",
]


@pytest.mark.parametrize("payload", STATIC_ESCAPES)
@pytest.mark.parametrize("place", ["condition", "script", "timer"])
def test_escape_attempts_are_refused_at_deploy_with_their_element(session_factory, tmp_path, now, payload, place):
    xml = {"condition": lambda: one_task_plan(condition=payload),
           "script": lambda: one_task_plan(script=f"x = {payload}"),
           "timer": lambda: one_task_plan(timer=payload)}[place]()
    with pytest.raises(DeployRejected) as info:
        with transaction(session_factory) as session:
            plans.deploy(session, plans.Bundle.from_paths([write_plan(tmp_path, xml)]), "owner", now)
    element = {"condition": "Gateway_Check", "script": "Script_Prepare", "timer": "Timer_Deadline"}[place]
    assert any(p.element_id == element for p in info.value.problems), info.value.problems


RUNTIME_EXHAUSTION = {
    "condition": ["'{0.__class__}'.format(note) == ''", "sum(range(10**12)) > 0", "len('a' * 10**10) > 0", "10**10**10 > 1", "note * 10**9 == ''"],
    "script": ["while True:\n    pass", "x = [0] * 10**10", "def f(n):\n    return f(n + 1)\nf(0)",
               "x = 1\nwhile True:\n    try:\n        x = x + 1\n    except Exception:\n        pass"],
    # Timer values that read case data can only be evaluated when the timer starts waiting.
    "timer": ["'PT' + note * 10**9 + 'H'", "working_days(len(note) * 10**9)"],
}


def _exhaustion_cases():
    return [(place, payload) for place, payloads in RUNTIME_EXHAUSTION.items() for payload in payloads]


@pytest.mark.parametrize("place, payload", _exhaustion_cases())
def test_exhaustion_is_stopped_and_leaves_a_recoverable_incident(session_factory, tmp_path, now, place, payload):
    xml = {"condition": lambda: one_task_plan(condition=payload, timer=None),
           "script": lambda: one_task_plan(script=payload, timer=None),
           "timer": lambda: one_task_plan(timer=payload)}[place]()
    desk = Desk.open(session_factory, now, [write_plan(tmp_path / "bad", xml)])
    if place in ("script", "timer"):
        # The payload runs as the case starts: the complaint is kept as registered, not advanced, as an incident.
        number = desk.start("mini", {"note": "x"}, "handler1")
        with transaction(session_factory, readonly=True) as session:
            [incident] = cases.incidents(session)
            kinds = [e.kind for e in session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()]
        assert incident.number == number and incident.status.value == "running"
        assert {"Script_Prepare": "script", "Timer_Deadline": "timer"}.get(incident.incident.split(":")[0]) == place \
            or (place == "timer" and "Task_Verify" in incident.incident), incident.incident
        assert kinds[-2:] == ["case_started", "incident"] and desk.open_tasks(number) == []
    else:
        number = desk.start("mini", {}, "handler1")
        task = desk.task(number, "Task_Verify")
        with pytest.raises(CaseEngineError) as info:
            cases.submit_task(session_factory, task.id, "handler1", {"note": "x"}, now)
        assert "Gateway_Check" in str(info.value)
        assert desk.task(number, "Task_Verify").id == task.id, "the task stays open for a retry"
        with transaction(session_factory, readonly=True) as session:
            [incident] = cases.incidents(session)
            event = session.execute(select(AuditEvent).where(AuditEvent.kind == "incident")).scalar_one()
        assert incident.number == number and "Gateway_Check" in incident.incident
        assert event.element_id == "Task_Verify"
    healthy = Desk(session_factory, now)
    write_plan(tmp_path / "good", one_task_plan(process_id="mini", task_name="Fixed"))
    with transaction(session_factory) as session:
        plans.deploy(session, plans.Bundle.from_paths([tmp_path / "good"]), "owner", now)
    fixed = healthy.start("mini", {}, "handler1")
    assert healthy.complete(fixed, "Task_Verify", {"note": "ok"}).case_completed, "the process is unharmed"


def test_a_decision_table_without_a_matching_rule_is_an_incident_not_a_silent_pass(session_factory, tmp_path, now):
    folder = tmp_path / "plans"
    shutil.copytree(ROOT / "processes", folder)
    shutil.copytree(ROOT / "forms", folder, dirs_exist_ok=True)
    dmn = (folder / "compensation_approval.dmn").read_text(encoding="utf-8")
    cut = dmn.rindex("<rule ") if "<rule " in dmn else dmn.rindex("<dmn:rule ")
    end_tag = "</rule>" if "<rule " in dmn else "</dmn:rule>"
    dmn = dmn[:cut] + dmn[dmn.index(end_tag, cut) + len(end_tag):]  # drop the "> 10000" rule
    (folder / "compensation_approval.dmn").write_text(dmn, encoding="utf-8")
    desk = Desk.open(session_factory, now, [folder])
    registration = json.loads(json.dumps({"complainant": "王", "contact": "13800000000", "channel": "phone",
                                          "content": "x"}))
    number = desk.start("general_complaint", registration)
    desk.complete(number, "Task_FirstContact", {"contact_note": "x", "grade": "general"})
    task = desk.task(number, "Task_VerifyNegotiate")
    answer = {"findings": "x", "resolution": "x", "compensation_amount": 20000}
    with pytest.raises(CaseEngineError, match="compensation_approval.*no rule matching compensation_amount=20000"):
        cases.submit_task(session_factory, task.id, "handler1", answer, now)
    assert desk.task(number, "Task_VerifyNegotiate").id == task.id
    assert desk.complete(number, "Task_VerifyNegotiate", {**answer, "compensation_amount": 500})
    assert [t.element_id for t in desk.open_tasks(number)] == ["Task_ApproveDeptHead"]
    with transaction(session_factory, readonly=True) as session:
        assert cases.incidents(session) == [], "a successful step clears the incident"
