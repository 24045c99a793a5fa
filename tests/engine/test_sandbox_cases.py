"""The sandbox boundary in use: deploys, case starts and task completions, on SQLite and PostgreSQL.

A payload that crashed or held the whole process before is now a deploy problem or an
incident on its own case, and the next case runs.
"""
from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import pytest
from sqlalchemy import select

from engine.cases import use_cases as cases
from engine.db import transaction
from engine.errors import CaseEngineError, DeployRejected
from engine.models import Case
from engine.plans import versions as plans
from engine.sandbox import boundary, pool
from tests.engine.test_sandbox_boundary import DEEP_TUPLE_HASH, FINALLY_SWALLOWS_REFUSAL, HUGE_POW, LONG_POW
from tests.samples import one_task_plan, write_plan
from tests.support import ROOT, Desk

CRASHED, TOO_LARGE, NOT_PLAIN, OUT_OF_TIME = "crashed its sandbox process", "bits", "not plain data", "limit of"

TIMERS_AT_DEPLOY = [
    ("deep-tuple-hash", f"str({DEEP_TUPLE_HASH})", CRASHED),
    ("pow-huge-modulus", f"'PT1H' if {HUGE_POW} else 'PT2H'", TOO_LARGE),
    ("range", "range(3)", NOT_PLAIN),
    ("exception", "ValueError('PT24H')", NOT_PLAIN),
]
SCRIPTS_AT_START = [
    ("deep-tuple-hash", f"found = {DEEP_TUPLE_HASH}", CRASHED),
    ("pow-huge-modulus", f"big = {HUGE_POW}", TOO_LARGE),
    ("finally-return-swallows-a-refusal", FINALLY_SWALLOWS_REFUSAL, "text would be longer"),
]
CONDITIONS_AT_SUBMIT = [
    ("deep-tuple-hash", DEEP_TUPLE_HASH, CRASHED),
    ("pow-huge-modulus", HUGE_POW, TOO_LARGE),
    ("pow-at-the-bit-limit", LONG_POW, OUT_OF_TIME),
    ("range", "range(3)", NOT_PLAIN),
]


@pytest.fixture(autouse=True)
def _patient_with_crashes(request, monkeypatch):
    """Building the deep tuple can take a loaded machine over a second: give crash payloads time to crash."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("expected") == CRASHED:
        monkeypatch.setattr(boundary, "DEFAULT_TIME_LIMIT", 5.0)
    if callspec is not None and callspec.params.get("expected") == OUT_OF_TIME:
        # The limit is the subject here: the product's default, whatever the suite raised it to.
        monkeypatch.setattr(boundary, "DEFAULT_TIME_LIMIT", 1.0)


@pytest.mark.parametrize("payload, expected", [p[1:] for p in TIMERS_AT_DEPLOY], ids=[p[0] for p in TIMERS_AT_DEPLOY])
def test_a_timer_payload_is_a_deploy_problem_on_its_element(session_factory, tmp_path, now, payload, expected):
    with pytest.raises(DeployRejected) as rejected:
        with transaction(session_factory) as session:
            plans.deploy(session, plans.Bundle.from_paths([write_plan(tmp_path / "bad", one_task_plan(timer=payload))]),
                         "owner", now)
    [problem] = [p for p in rejected.value.problems if p.element_id == "Timer_Deadline"]
    assert expected in problem.message, problem.message
    healthy = Desk.open(session_factory, now, [_healthy_plan(tmp_path)])
    number = healthy.start("fine", {}, "handler1")
    assert healthy.complete(number, "Task_Verify", {"note": "ok"}).case_completed


@pytest.mark.parametrize("script, expected", [p[1:] for p in SCRIPTS_AT_START], ids=[p[0] for p in SCRIPTS_AT_START])
def test_a_script_payload_at_start_fails_only_its_own_case(session_factory, tmp_path, now, script, expected):
    desk = Desk.open(session_factory, now, [write_plan(tmp_path / "bad", one_task_plan(script=script, timer=None))])
    assert expected in _start_failure(desk, session_factory)
    _assert_the_next_case_runs(session_factory, tmp_path, now)


@pytest.mark.parametrize("condition, expected", [p[1:] for p in CONDITIONS_AT_SUBMIT],
                         ids=[p[0] for p in CONDITIONS_AT_SUBMIT])
def test_a_condition_payload_is_an_incident_on_its_case(session_factory, tmp_path, now, condition, expected):
    desk = Desk.open(session_factory, now, [write_plan(tmp_path / "bad", one_task_plan(condition=condition, timer=None))])
    number = desk.start("mini", {}, "handler1")
    task = desk.task(number, "Task_Verify")
    with pytest.raises(CaseEngineError) as failed:
        cases.submit_task(session_factory, task.id, "handler1", {"note": "x"}, now)
    assert expected in str(failed.value) and "Gateway_Check" in str(failed.value)
    assert expected in _incident_of(session_factory, number)
    assert desk.task(number, "Task_Verify").id == task.id, "the task stays open for a retry"
    _assert_the_next_case_runs(session_factory, tmp_path, now)


def test_a_crash_payload_in_a_decision_table_cell_is_an_incident_on_its_case(session_factory, tmp_path, now,
                                                                           monkeypatch):
    monkeypatch.setattr(boundary, "DEFAULT_TIME_LIMIT", 5.0)
    folder = tmp_path / "plans"
    shutil.copytree(ROOT / "processes", folder)
    shutil.copytree(ROOT / "forms", folder, dirs_exist_ok=True)
    dmn = (folder / "compensation_approval.dmn").read_text(encoding="utf-8")
    assert "<text>&lt;= 1000</text>" in dmn
    (folder / "compensation_approval.dmn").write_text(
        dmn.replace("<text>&lt;= 1000</text>", f"<text>({DEEP_TUPLE_HASH}) or ? &lt;= 1000</text>"), encoding="utf-8")
    desk = Desk.open(session_factory, now, [folder])
    number = desk.start("general_complaint", {"complainant": "王", "contact": "13800000000", "channel": "phone",
                                              "content": "x"})
    desk.complete(number, "Task_FirstContact", {"contact_note": "x", "grade": "general"})
    task = desk.task(number, "Task_VerifyNegotiate")
    with pytest.raises(CaseEngineError, match=CRASHED):
        cases.submit_task(session_factory, task.id, "handler1",
                          {"findings": "x", "resolution": "x", "compensation_amount": 500}, now)
    assert CRASHED in _incident_of(session_factory, number)
    assert desk.task(number, "Task_VerifyNegotiate").id == task.id, "the task stays open for a retry"
    _assert_the_next_case_runs(session_factory, tmp_path, now)


def test_a_sandbox_process_killed_mid_evaluation_gives_the_case_an_incident_and_the_next_case_runs(
        session_factory, tmp_path, now):
    slow = "note == 'ok' or sum(i * j for i in range(10**5) for j in range(10**5)) > 0"
    desk = Desk.open(session_factory, now, [write_plan(tmp_path / "plan", one_task_plan(condition=slow, timer=None))])
    number = desk.start("mini", {}, "handler1")
    task = desk.task(number, "Task_Verify")
    outcome = []

    def submit():
        try:
            cases.submit_task(session_factory, task.id, "handler1", {"note": "x"}, now)
        except CaseEngineError as error:
            outcome.append(error)

    worker = threading.Thread(target=submit)
    worker.start()
    os.kill(_busy_pid(), signal.SIGKILL)
    worker.join(timeout=30)
    assert outcome and "killed by signal SIGKILL" in str(outcome[0]) and "Gateway_Check" in str(outcome[0])
    assert "SIGKILL" in _incident_of(session_factory, number)
    following = desk.start("mini", {}, "handler1")
    assert desk.complete(following, "Task_Verify", {"note": "ok"}).case_completed


def _start_failure(desk, session_factory) -> str:
    """The message of a start that failed: raised, or kept as an incident on the registered case."""
    try:
        number = desk.start("mini", {"note": "x"}, "handler1")
    except CaseEngineError as error:
        return str(error)
    return _incident_of(session_factory, number)


def _incident_of(session_factory, number) -> str:
    with transaction(session_factory, readonly=True) as session:
        case = session.execute(select(Case).where(Case.number == number)).scalar_one()
        assert case.incident, f"case {number} has no incident"
        return case.incident


def _healthy_plan(tmp_path):
    return write_plan(tmp_path / "good", one_task_plan(process_id="fine"), name="fine.bpmn")


def _assert_the_next_case_runs(session_factory, tmp_path, now):
    with transaction(session_factory) as session:
        plans.deploy(session, plans.Bundle.from_paths([_healthy_plan(tmp_path)]), "owner", now)
    desk = Desk(session_factory, now)
    number = desk.start("fine", {}, "handler1")
    assert desk.complete(number, "Task_Verify", {"note": "ok"}).case_completed


def _busy_pid(timeout=10.0):
    """The sandbox process evaluating right now, once it has been at it for a moment."""
    shared = pool.shared()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = shared.busy_pids()
        if busy:
            time.sleep(0.1)
            if busy[0] in shared.busy_pids():
                return busy[0]
        time.sleep(0.005)
    raise AssertionError("no sandbox process became busy")
