"""A case that loops keeps a flat stored state, and pruning its history changes nothing it does."""
from __future__ import annotations

import json

import pytest

from engine.cases import use_cases as cases
from engine.db import transaction
from engine.views.review import case_path
from tests.samples import REGISTRATION

CONTACT = {"contact_note": "已电话联系", "grade": "general"}
ASK = {"findings": "属实", "resolution": "赔偿", "compensation_amount": 5000}
REJECT = {"approved": "no", "rejection_reason": "证据不足，请核实损失"}
APPROVE = {"approved": "yes", "approved_amount": 3000, "comment": "同意"}
CLOSING = [("Task_Feedback", {"feedback_note": "已告知处理结果", "feedback_channel": "phone"}),
           ("Task_ReturnVisit", {"satisfied": "yes", "visit_note": "满意"}),
           ("Task_Archive", {"archive_note": "归档", "outcome": "upheld", "prevention_analysis": "no"})]


def to_approval(desk) -> str:
    number = desk.start("general_complaint", REGISTRATION)
    desk.complete(number, "Task_FirstContact", CONTACT)
    desk.complete(number, "Task_VerifyNegotiate", ASK)
    return number


def loop_round(desk, number) -> None:
    desk.complete(number, "Task_ApproveGM", REJECT)
    desk.complete(number, "Task_ReviseCompensation", ASK)


def state_size(desk, number) -> int:
    with transaction(desk.session_factory, readonly=True) as session:
        return len(json.dumps(cases.get_case(session, number).workflow_state))


def finish(desk, number) -> None:
    desk.complete(number, "Task_ApproveGM", APPROVE)
    for element, data in CLOSING:
        desk.complete(number, element, data)


def test_a_case_looping_forty_rounds_stores_no_more_than_one_looping_five(desk, monkeypatch):
    monkeypatch.setenv("PLANFLOW_PRUNE_AFTER", "32")
    number = to_approval(desk)
    early = []
    for _ in range(5):
        loop_round(desk, number)
        early.append(state_size(desk, number))
    late = []
    for _ in range(35):
        loop_round(desk, number)
        late.append(state_size(desk, number))
    assert max(late) <= 1.5 * max(early), (early, late)
    finish(desk, number)
    with transaction(desk.session_factory, readonly=True) as session:
        case = cases.get_case(session, number)
        assert case.status.value == "completed"
        done = case_path(session, case)["pf-done"]
    # the diagram still shows the steps whose tasks were pruned long ago
    assert {"Task_FirstContact", "Task_VerifyNegotiate", "Task_ReviseCompensation", "Task_ApproveGM"} <= set(done)


def run_scenario(desk) -> str:
    number = to_approval(desk)
    for _ in range(6):
        loop_round(desk, number)
    finish(desk, number)
    return number


def what_happened(desk, number) -> tuple:
    with transaction(desk.session_factory, readonly=True) as session:
        case = cases.get_case(session, number)
        events = [(e.kind, e.element_id, json.dumps({k: v for k, v in (e.payload or {}).items() if k != "task_id"},
                                                    sort_keys=True, default=str))
                  for e in cases.case_history(session, case.id)]
        tasks = [(t.element_id, t.role, t.status.value, t.due_at) for t in cases.case_tasks(session, case.id)]
        return events, tasks, case.status.value, case_path(session, case)


@pytest.mark.parametrize("every", ["1", "5"])
def test_pruning_changes_nothing_a_case_does(desk, monkeypatch, every):
    monkeypatch.setenv("PLANFLOW_PRUNE_AFTER", "0")    # never
    kept = what_happened(desk, run_scenario(desk))
    monkeypatch.setenv("PLANFLOW_PRUNE_AFTER", every)
    pruned_number = run_scenario(desk)
    pruned = what_happened(desk, pruned_number)
    assert pruned[0] == kept[0]          # the same audit events, with the same payloads
    assert pruned[1:] == kept[1:]        # the same tasks and deadlines, the same end and path
