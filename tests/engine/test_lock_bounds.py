"""A slow expression holds no other case back for long: evaluations and whole steps are bounded.

On PostgreSQL a step locks only its own case's row, so another case's step goes through
while a slow expression runs. On SQLite a step holds the database write lock, so the
bound is the step budget (PLANFLOW_MAX_ADVANCE_SECONDS): a step that runs longer is
stopped as an incident, and writers waiting meanwhile (busy timeout 30 s) go on.
"""
from __future__ import annotations

import threading
import time

import pytest

from engine.cases import runtime
from engine.cases import use_cases as cases
from engine.db import transaction
from engine.errors import CaseEngineError
from engine.models import Case
from tests.engine.test_constructs import CONSTRUCTS
from tests.samples import one_task_plan, write_plan
from tests.support import Desk

SLOW = "sum(i * j for i in range(99999) for j in range(99999)) > 0"   # runs until the 1 s limit stops it


@pytest.fixture
def two_plans(session_factory, tmp_path, now):
    write_plan(tmp_path / "plans", one_task_plan("slow", condition=SLOW, timer=None), "slow.bpmn")
    write_plan(tmp_path / "plans", one_task_plan("fast", timer=None), "fast.bpmn")
    return Desk.open(session_factory, now, [tmp_path / "plans"])


def test_a_slow_expression_in_one_case_does_not_hold_up_another_case_on_postgresql(two_plans, db_url):
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one write lock for the whole database; see the step-budget test")
    slow = two_plans.start("slow", {}, "handler1")
    fast = two_plans.start("fast", {}, "handler1")
    slow_task, fast_task = two_plans.task(slow, "Task_Verify"), two_plans.task(fast, "Task_Verify")
    took = {}

    def complete(name, task):
        started = time.monotonic()
        try:
            cases.submit_task(two_plans.session_factory, task.id, "handler1", {"note": "x"}, two_plans.now)
        except CaseEngineError:
            pass
        took[name] = time.monotonic() - started

    slow_thread = threading.Thread(target=complete, args=("slow", slow_task))
    slow_thread.start()
    time.sleep(0.3)   # the slow case now holds its row lock and evaluates
    complete("fast", fast_task)
    slow_thread.join()
    assert took["slow"] > 0.8 and took["fast"] < 0.6, took
    assert two_plans.open_tasks(fast) == []


def test_a_step_that_runs_past_the_step_budget_is_stopped_as_an_incident(session_factory, tmp_path, now, monkeypatch):
    """A loop of slowish steps (each well inside the expression limit) is stopped by the step's time budget."""
    construct = (CONSTRUCTS / "ct_runaway_loop.bpmn").read_text(encoding="utf-8")
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "ct_runaway_loop.bpmn").write_text(construct.replace(
        "n &lt; 10**9", "n &lt; 10**9 and sum(i for i in range(100000)) &gt;= 0"), encoding="utf-8")
    (folder / "ct_note.form").write_text((CONSTRUCTS / "ct_note.form").read_text(encoding="utf-8"), encoding="utf-8")
    desk = Desk.open(session_factory, now, [folder])
    monkeypatch.setattr(runtime, "BUDGET", runtime.StepBudget(seconds=0.5))
    started = time.monotonic()
    number = desk.start("ct_runaway_loop", {"n": 0}, "handler1")
    assert time.monotonic() - started < 3, "the write lock is held for at most the budget and one evaluation"
    with transaction(session_factory, readonly=True) as session:
        incident = cases.get_case(session, number).incident
    assert "ran longer than 0.5 s" in incident
