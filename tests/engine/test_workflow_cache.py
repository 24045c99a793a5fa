"""A case's workflow is reused from memory between steps only while the database holds exactly the state it was saved as."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from engine.cases import use_cases as cases
from engine.cases import workflow_cache
from engine.db import transaction
from tests.samples import REGISTRATION
from tests.support import ROOT

CONTACT = {"contact_note": "已电话联系", "grade": "general"}
ANSWER = {"findings": "属实", "resolution": "道歉并改进", "compensation_amount": 0}
FEEDBACK = {"feedback_note": "已告知处理结果", "feedback_channel": "phone"}


def open_elements(desk, number) -> list[str]:
    return sorted(t.element_id for t in desk.open_tasks(number))


def test_the_next_step_reuses_the_workflow_the_last_step_saved(desk):
    number = desk.start("general_complaint", REGISTRATION)
    hits = workflow_cache.cache.hits
    desk.complete(number, "Task_FirstContact", CONTACT)
    desk.complete(number, "Task_VerifyNegotiate", ANSWER)
    assert workflow_cache.cache.hits == hits + 2


def test_a_step_made_by_another_process_is_never_answered_from_memory(desk, db_url):
    number = desk.start("general_complaint", REGISTRATION)
    desk.complete(number, "Task_FirstContact", CONTACT)       # this process now holds the case's workflow
    task = desk.task(number, "Task_VerifyNegotiate")
    other = subprocess.run([sys.executable, "-m", "engine.cli", "complete", str(task.id), "--as", "handler1",
                            "--data", json.dumps(ANSWER)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PLANFLOW_DATABASE_URL": db_url})
    assert other.returncode == 0, other.stderr
    # What this process has in memory is the state before the other process's step: it must not be used.
    desk.complete(number, "Task_Feedback", FEEDBACK)
    assert open_elements(desk, number) == ["Task_ReturnVisit"]
    with transaction(desk.session_factory, readonly=True) as session:
        case = cases.get_case(session, number)
        done = [e.element_id for e in cases.case_history(session, case.id) if e.kind == "task_completed"]
    assert done == ["Task_FirstContact", "Task_VerifyNegotiate", "Task_Feedback"]


def test_a_step_that_is_rolled_back_leaves_no_half_run_workflow_behind(desk):
    number = desk.start("general_complaint", REGISTRATION)
    desk.complete(number, "Task_FirstContact", CONTACT)
    task = desk.task(number, "Task_VerifyNegotiate")
    with pytest.raises(RuntimeError):
        with transaction(desk.session_factory) as session:
            cases.complete_task(session, task.id, "handler1", ANSWER, desk.now)
            raise RuntimeError("the request failed after the step ran")
    assert open_elements(desk, number) == ["Task_VerifyNegotiate"]
    desk.complete(number, "Task_VerifyNegotiate", ANSWER)
    assert open_elements(desk, number) == ["Task_Feedback"]
