"""Deadlines a script computes keep their provisional flag and move when the year's calendar is loaded."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine.calendar.loading import load_calendar_file
from engine.db import transaction
from engine.models import AuditEvent, Timer, TimerStatus
from tests.conftest import SHANGHAI
from tests.engine.test_deadlines import YEAR_2027
from tests.samples import one_task_plan, write_plan
from tests.support import Desk


def script_deadline_plan():
    """A script sets `due = working_days(3)`; the task's timer (a date timer) reads `due`, again on every loop."""
    xml = one_task_plan(script="due = working_days(3)", timer="due")
    return xml.replace('<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">due</bpmn:timeDuration>',
                       '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">due</bpmn:timeDate>')


def test_a_deadline_computed_by_a_script_stays_provisional_when_a_later_timer_reads_it(session_factory, tmp_path):
    # Wed 3 Feb 2027, no notice yet: Thu 4 (1); 春节 5–10 Feb off by statute; Thu 11 (2), Fri 12 (3).
    received = datetime(2027, 2, 3, 10, 0, tzinfo=SHANGHAI)
    provisional_due = datetime(2027, 2, 13, tzinfo=SHANGHAI)
    desk = Desk.open(session_factory, received, [write_plan(tmp_path / "plans", script_deadline_plan())])
    number = desk.start("mini", {}, "handler1")
    task = desk.task(number, "Task_Verify")
    assert (task.due_at, task.due_provisional) == (provisional_due, True)

    desk.now += timedelta(hours=2)
    desk.complete(number, "Task_Verify", {"note": "loop"})  # the timer starts again, in a later run
    task = desk.task(number, "Task_Verify")
    assert (task.due_at, task.due_provisional) == (provisional_due, True)
    with transaction(session_factory, readonly=True) as session:
        waiting = session.execute(select(Timer).where(Timer.status == TimerStatus.WAITING)).scalar_one()
    assert waiting.provisional_years == [2027]


def test_loading_the_year_moves_a_script_deadline_from_the_moment_the_script_ran(session_factory, tmp_path):
    received = datetime(2027, 2, 3, 10, 0, tzinfo=SHANGHAI)
    desk = Desk.open(session_factory, received, [write_plan(tmp_path / "plans", script_deadline_plan())])
    number = desk.start("mini", {}, "handler1")
    desk.now += timedelta(days=1)
    desk.complete(number, "Task_Verify", {"note": "loop"})

    notice = tmp_path / "2027.yaml"
    notice.write_text(YEAR_2027, encoding="utf-8")
    result = desk.do(load_calendar_file, notice, "process_owner1", desk.now)
    # Counted again from Wed 3 Feb (when the script ran), not from the load or the loop:
    # Thu 4 (1), Sun 14 worked (2), Mon 15 (3).
    new_due = datetime(2027, 2, 16, tzinfo=SHANGHAI)
    assert [(c, e, n) for c, e, _, n in result.moved] == [(number, "Timer_Deadline", new_due)]
    task = desk.task(number, "Task_Verify")
    assert (task.due_at, task.due_provisional) == (new_due, False)
    with transaction(session_factory, readonly=True) as session:
        moved = session.execute(select(AuditEvent).where(AuditEvent.kind == "deadline_recomputed")).scalar_one()
    assert moved.payload["still_provisional_years"] == []

    desk.complete(number, "Task_Verify", {"note": "loop"})  # the case data holds the new deadline too
    assert desk.task(number, "Task_Verify").due_at == new_due
    desk.now = new_due - timedelta(seconds=1)
    assert desk.pass_time(timedelta(0)).fired == 0
    assert desk.pass_time(timedelta(seconds=2)).fired == 1


def test_training_school_final_plan_deadline_is_provisional_and_moves_when_2027_is_loaded(session_factory, tmp_path):
    """训练学校 "接到投诉后5个工作日内" across Spring Festival 2027, before and after the year's notice."""
    from tests.processes.test_training_school_complaint import APPROVE, MEETING, OPINION, registration
    from tests.support import PLAN_PATHS

    received = datetime(2027, 2, 3, 10, 0, tzinfo=SHANGHAI)
    desk = Desk.open(session_factory, received, PLAN_PATHS)
    number = desk.start("training_school_complaint", registration("hq", "problem"))
    for element_id, data in [("Task_MeetParent", MEETING), ("Task_HandlingOpinion", OPINION),
                             ("Task_ApproveOpinion", APPROVE)]:
        desk.now += timedelta(hours=2)
        desk.complete(number, element_id, data)
    # Thu 4 (1); 5–10 Feb off by statute (除夕–初三 and 补假); Thu 11 (2), Fri 12 (3), Mon 15 (4), Tue 16 (5).
    task = desk.task(number, "Task_NegotiateFinal")
    assert (task.due_at, task.due_provisional) == (datetime(2027, 2, 17, tzinfo=SHANGHAI), True)

    notice = tmp_path / "2027.yaml"
    notice.write_text(YEAR_2027, encoding="utf-8")
    desk.do(load_calendar_file, notice, "process_owner1", desk.now)
    # With the notice: Thu 4 (1), Sun 14 worked (2), Mon 15 (3), Tue 16 (4), Wed 17 (5).
    task = desk.task(number, "Task_NegotiateFinal")
    assert (task.due_at, task.due_provisional) == (datetime(2027, 2, 18, tzinfo=SHANGHAI), False)
