"""The timer worker: escalation when a deadline passes, exactly once across workers."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from engine.cases import runtime, timers
from engine.db import transaction
from engine.models import AuditEvent, Case, Task, TaskStatus, Timer, TimerStatus
from tests.samples import one_task_plan, write_plan
from tests.support import Desk


@pytest.fixture
def mini(session_factory, now, tmp_path):
    return Desk.open(session_factory, now, [write_plan(tmp_path / "plans", one_task_plan())])


def count(desk, query):
    with transaction(desk.session_factory, readonly=True) as session:
        return session.execute(query).scalar_one()


def test_timer_row_holds_spiffworkflows_own_due_time(mini):
    number = mini.start("mini", {}, "handler1")
    with transaction(mini.session_factory, readonly=True) as session:
        case = session.execute(select(Case).where(Case.number == number)).scalar_one()
        [row] = session.execute(select(Timer).where(Timer.case_id == case.id)).scalars().all()
        workflow = runtime.restore(case.workflow_state, runtime_plan(case))
        [waiting] = workflow.get_tasks(state=runtime.TaskState.WAITING)
    assert row.due_at == runtime.timer_due(waiting) == mini.now + timedelta(hours=24)
    assert (row.element_id, row.attached_to, row.status) == ("Timer_Deadline", "Task_Verify", TimerStatus.WAITING)


def runtime_plan(case):
    from engine.plans.versions import spec_cache
    return spec_cache.get(case.plan_version)


def test_nothing_fires_before_the_deadline(mini):
    number = mini.start("mini", {}, "handler1")
    result = mini.pass_time(timedelta(hours=23, minutes=59))
    assert result.fired == 0
    assert [t.element_id for t in mini.open_tasks(number)] == ["Task_Verify"]


def test_missed_deadline_escalates_to_the_next_role_and_is_audited(mini):
    number = mini.start("mini", {}, "handler1")
    result = mini.pass_time(timedelta(hours=24, seconds=1))
    assert (result.fired, result.cases, result.failed) == (1, 1, [])
    [task] = mini.open_tasks(number)
    assert (task.element_id, task.role, task.escalated_from) == ("Task_Escalated", "office_director", "Task_Verify")
    with transaction(mini.session_factory, readonly=True) as session:
        events = session.execute(select(AuditEvent).where(AuditEvent.case_number == number)
                                 .order_by(AuditEvent.seq)).scalars().all()
        missed = session.execute(select(Task).where(Task.element_id == "Task_Verify")).scalar_one()
    assert [e.kind for e in events][-4:] == ["timer_fired", "task_cancelled", "task_ready", "escalated"]
    escalation = events[-1]
    assert escalation.payload["missed_role"] == "handler"
    assert escalation.payload["to"][0]["role"] == "office_director"
    assert missed.status == TaskStatus.CANCELLED
    assert mini.pass_time(timedelta(days=3)).fired == 0, "a fired timer never fires again"


def test_completing_in_time_cancels_the_timer(mini):
    number = mini.start("mini", {}, "handler1")
    mini.complete(number, "Task_Verify", {"note": "ok"})
    assert mini.pass_time(timedelta(days=2)).fired == 0
    assert count(mini, select(func.count(Timer.id)).where(Timer.status == TimerStatus.CANCELLED)) == 1


def test_a_failing_case_is_recorded_and_does_not_stop_the_sweep(mini):
    broken, healthy = mini.start("mini", {}, "handler1"), mini.start("mini", {}, "handler1")
    with transaction(mini.session_factory) as session:
        session.execute(update(Case).where(Case.number == broken).values(workflow_state={"tasks": "garbage"}))
    result = mini.pass_time(timedelta(hours=25))
    assert result.fired == 1 and [number for number, _ in result.failed] == [broken]
    assert [t.role for t in mini.open_tasks(healthy)] == ["office_director"]
    with transaction(mini.session_factory, readonly=True) as session:
        case = session.execute(select(Case).where(Case.number == broken)).scalar_one()
        timer = session.execute(select(Timer).where(Timer.case_id == case.id)).scalar_one()
        failures = session.execute(select(func.count(AuditEvent.seq)).where(
            AuditEvent.case_id == case.id, AuditEvent.kind == "timer_failed")).scalar_one()
    assert case.incident and timer.attempts == 1 and timer.last_error and failures == 1
    assert timer.fire_at > mini.now, "a failed timer is retried later, not in a tight loop"
    assert mini.pass_time(timedelta(seconds=1)).failed == []


def test_the_sweep_reads_only_cases_whose_timers_are_due(mini):
    due_soon = mini.start("mini", {}, "handler1")
    first_deadline = mini.now + timedelta(hours=24)
    mini.now += timedelta(hours=12)
    not_due = mini.start("mini", {}, "handler1")
    with transaction(mini.session_factory) as session:
        claim = timers.claim_due(session, first_deadline + timedelta(seconds=1), 100, "w1", timedelta(minutes=1))
        due_id = session.execute(select(Case.id).where(Case.number == due_soon)).scalar_one()
    assert (claim.case_ids, claim.timers) == ([due_id], 1)
    assert not_due != due_soon

