"""Working a case: roles, claims, form validation, and concurrent completion."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from engine.cases import timers
from engine.cases import use_cases as cases
from engine.db import transaction
from engine.errors import (
    CaseChanged,
    CaseEngineError,
    Conflict,
    FormInvalid,
    NotFound,
    PermissionDenied,
    TaskAlreadyCompleted,
    TaskClaimedByOther,
    UnknownUser,
)
from engine.models import AuditEvent, Case, Task, TaskStatus
from engine.people import users
from engine.plans import versions as plans
from tests.samples import one_task_plan, write_plan
from tests.support import Desk


@pytest.fixture
def mini(session_factory, now, tmp_path):
    """The one-task sample plan deployed, with one user per role."""
    return Desk.open(session_factory, now, [write_plan(tmp_path / "plans", one_task_plan())])


def state_of(desk, number):
    """Everything a completion could change: case revision and state, task rows, audit count."""
    with desk.session_factory() as session:
        case = cases.get_case(session, number)
        tasks = session.execute(select(Task.id, Task.status, Task.assignee).where(Task.case_id == case.id)
                                .order_by(Task.id)).all()
        events = session.execute(select(func.count(AuditEvent.seq))).scalar_one()
        return case.revision, case.workflow_state, tasks, events


def test_start_gives_a_yearly_case_number_and_a_task_for_the_lane_role(mini):
    first, second = mini.start("mini", {}, "handler1"), mini.start("mini", {}, "handler1")
    assert first == "TS-2026-000001" and second == "TS-2026-000002"
    [task] = mini.open_tasks(first)
    assert (task.element_id, task.role, task.form_key) == ("Task_Verify", "handler", "mini_note")
    assert task.due_at == mini.now + timedelta(hours=24)


def test_start_by_a_user_without_the_start_lane_role_is_refused(mini):
    with pytest.raises(PermissionDenied):
        mini.start("mini", {}, "pr1")


def test_start_of_an_unknown_plan_or_by_an_unknown_user_is_a_clear_error(mini):
    with pytest.raises(NotFound, match="no plan 'nope'"):
        mini.start("nope", {}, "handler1")
    with pytest.raises(UnknownUser, match="unknown user 'ghost'"):
        mini.start("mini", {}, "ghost")


def test_wrong_role_cannot_claim_or_complete(mini):
    number = mini.start("mini", {}, "handler1")
    task = mini.task(number, "Task_Verify")
    before = state_of(mini, number)
    with pytest.raises(PermissionDenied, match="role 'handler'"):
        mini.do(cases.claim_task, task.id, "pr1", mini.now)
    with pytest.raises(PermissionDenied):
        mini.do(cases.complete_task, task.id, "pr1", {"note": "x"}, mini.now)
    assert state_of(mini, number) == before


def test_invalid_form_data_is_refused_per_field_and_changes_nothing(mini):
    number = mini.start("mini", {}, "handler1")
    task = mini.task(number, "Task_Verify")
    before = state_of(mini, number)
    with pytest.raises(FormInvalid) as info:
        mini.do(cases.complete_task, task.id, "handler1", {"note": ""}, mini.now)
    assert "note" in info.value.errors
    assert state_of(mini, number) == before


def test_claimed_task_can_only_be_completed_by_its_holder_until_released(mini):
    number = mini.start("mini", {}, "handler1")
    task = mini.task(number, "Task_Verify")
    mini.do(cases.claim_task, task.id, "handler1", mini.now)
    other = _second_handler(mini)
    with pytest.raises(TaskClaimedByOther):
        mini.do(cases.claim_task, task.id, other, mini.now)
    with pytest.raises(TaskClaimedByOther):
        mini.do(cases.complete_task, task.id, other, {"note": "x"}, mini.now)
    with pytest.raises(PermissionDenied):
        mini.do(cases.release_task, task.id, other, mini.now)
    mini.do(cases.release_task, task.id, "handler1", mini.now)
    mini.do(cases.complete_task, task.id, other, {"note": "done"}, mini.now)
    assert mini.do(cases.get_task, task.id).completed_by == "handler2"


def _second_handler(desk) -> str:
    desk.do(users.add_user, "handler2", ["handler"], "secret")
    return "handler2"


def test_completing_twice_gives_already_completed(mini):
    number = mini.start("mini", {}, "handler1")
    task = mini.task(number, "Task_Verify")
    mini.do(cases.complete_task, task.id, "handler1", {"note": "done"}, mini.now)
    with pytest.raises(TaskAlreadyCompleted, match="already completed by handler1"):
        mini.do(cases.complete_task, task.id, "handler1", {"note": "done"}, mini.now)


def test_gateway_loop_creates_a_fresh_task_and_the_case_completes(mini):
    number = mini.start("mini", {}, "handler1")
    mini.complete(number, "Task_Verify", {"note": "loop"})
    again = mini.task(number, "Task_Verify")
    done = mini.complete(number, "Task_Verify", {"note": "ok"})
    assert done.case_completed and done.next_tasks == []
    with mini.session_factory() as session:
        case = cases.get_case(session, number)
        assert case.status.value == "completed" and case.completed_at == mini.now
        kinds = session.execute(select(AuditEvent.kind).where(AuditEvent.case_id == case.id)
                                .order_by(AuditEvent.seq)).scalars().all()
    assert again.id > mini.do(cases.get_task, again.id - 1).id
    assert kinds == ["case_started", "task_ready", "task_completed", "task_ready", "task_completed",
                     "case_completed"]


def test_a_failing_condition_is_an_engine_error_and_changes_nothing(session_factory, now, tmp_path):
    desk = Desk.open(session_factory, now, [write_plan(tmp_path / "p", one_task_plan(condition="missing_var > 1"))])
    number = desk.start("mini", {}, "handler1")
    before = state_of(desk, number)
    with pytest.raises(CaseEngineError, match="missing_var"):
        desk.complete(number, "Task_Verify", {"note": "x"})
    assert state_of(desk, number) == before


def test_concurrent_completions_of_one_task_have_exactly_one_winner(mini):
    """Eight threads submit the same task at once: one completes it, the others get a conflict."""
    number = mini.start("mini", {}, "handler1")
    task = mini.task(number, "Task_Verify")
    barrier = threading.Barrier(8)
    outcomes = []

    def submit():
        barrier.wait()
        try:
            mini.do(cases.complete_task, task.id, "handler1", {"note": "ok"}, mini.now)
            outcomes.append("won")
        except Conflict as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("won") == 1
    assert sorted(set(outcomes) - {"won"}) == ["TaskAlreadyCompleted"]
    with mini.session_factory() as session:
        case_id = cases.get_case(session, number).id
        completed = session.execute(select(func.count(AuditEvent.seq)).where(
            AuditEvent.case_id == case_id, AuditEvent.kind == "task_completed")).scalar_one()
        rows = session.execute(select(Task.status).where(Task.case_id == case_id)).scalars().all()
    assert completed == 1 and rows == [TaskStatus.COMPLETED]


def test_a_stale_workflow_write_is_refused_by_the_revision_check(mini):
    """Belt and braces under the row lock: a write based on an old revision never lands."""
    number = mini.start("mini", {}, "handler1")
    with transaction(mini.session_factory, readonly=True) as session:
        stale_case = cases.get_case(session, number)
    mini.complete(number, "Task_Verify", {"note": "loop"})
    current = state_of(mini, number)
    with pytest.raises(CaseChanged, match="changed by someone else"):
        with transaction(mini.session_factory) as session:
            session.add(stale_case)
            stale_case.workflow_state = {}
            cases.flush_case(session, stale_case)
    assert state_of(mini, number) == current


def test_a_case_finishes_on_the_version_and_forms_it_started_with(session_factory, now, tmp_path):
    """v2 renames the task and requires a new field; the v1 case is still worked with v1's form."""
    folder = write_plan(tmp_path / "v1", one_task_plan(timer=None))
    desk = Desk.open(session_factory, now, [folder])
    old_case = desk.start("mini", {}, "handler1")
    stricter = {"components": [{"key": "note", "type": "textfield", "label": "Note", "validate": {"required": True}},
                               {"key": "reason", "type": "textfield", "label": "Reason",
                                "validate": {"required": True}}]}
    write_plan(folder, one_task_plan(timer=None, task_name="Verify v2"), forms={"mini_note": stricter})
    [result] = desk.do(plans.deploy, plans.Bundle.from_paths([folder]), "owner", now)
    assert (result.version, result.created) == (2, True)
    new_case = desk.start("mini", {}, "handler1")
    assert desk.task(new_case, "Task_Verify").name == "Verify v2"
    with pytest.raises(FormInvalid):
        desk.complete(new_case, "Task_Verify", {"note": "ok"})
    assert desk.task(old_case, "Task_Verify").name == "Verify"
    assert desk.complete(old_case, "Task_Verify", {"note": "ok"}).case_completed


def test_a_case_saved_by_a_newer_serializer_is_refused_not_misread(mini):
    number = mini.start("mini", {}, "handler1")
    with transaction(mini.session_factory) as session:
        session.execute(update(Case).where(Case.number == number).values(serializer_version="9.0"))
    with pytest.raises(CaseEngineError, match="serializer 9.0"):
        mini.complete(number, "Task_Verify", {"note": "ok"})


def test_completion_racing_the_timer_worker_has_exactly_one_winner(mini):
    """At the deadline a handler submits while the worker escalates: one of them wins, cleanly."""
    outcomes = {}
    for attempt in range(4):
        number = mini.start("mini", {}, "handler1")
        task = mini.task(number, "Task_Verify")
        late = mini.now + timedelta(hours=24, seconds=1)
        barrier = threading.Barrier(2)

        def submit():
            barrier.wait()
            try:
                mini.do(cases.complete_task, task.id, "handler1", {"note": "ok"}, late)
                outcomes[(attempt, "handler")] = "won"
            except Conflict as exc:
                outcomes[(attempt, "handler")] = type(exc).__name__

        def sweep():
            barrier.wait()
            outcomes[(attempt, "worker")] = timers.sweep(mini.session_factory, late).fired

        threads = [threading.Thread(target=submit), threading.Thread(target=sweep)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        handler_won = outcomes[(attempt, "handler")] == "won"
        worker_fired = outcomes[(attempt, "worker")] == 1
        assert handler_won != worker_fired, outcomes
        open_now = [t.element_id for t in mini.open_tasks(number)]
        assert open_now == ([] if handler_won else ["Task_Escalated"])
        with transaction(mini.session_factory, readonly=True) as session:
            case_id = cases.get_case(session, number).id
            kinds = session.execute(select(AuditEvent.kind).where(AuditEvent.case_id == case_id)).scalars().all()
        assert kinds.count("task_completed") == int(handler_won)
        assert kinds.count("timer_fired") == int(worker_fired)
