"""A complaint registered after its first deadline had already passed: the missed deadline is on record.

The boundary timer is due the moment the case starts, so the engine fires it in the
registration step itself: the task it guards is never offered to anyone. That miss must
still reach the audit trail, the timer rows and the compliance review like any other.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.calendar.working_days import WorkingCalendar
from engine.cases import use_cases as cases
from engine.db import transaction
from engine.models import Timer, TimerStatus
from engine.views.review import deadline_outcomes
from tests.samples import REGISTRATION


def test_a_first_contact_deadline_missed_before_registration_is_recorded_as_missed(desk):
    received = desk.now - timedelta(days=3)
    number = desk.start("general_complaint", {**REGISTRATION, "received_at": received.isoformat()})
    due = received + timedelta(hours=24)
    with transaction(desk.session_factory, readonly=True) as session:
        case = cases.get_case(session, number)
        events = [(e.kind, e.element_id, e.payload) for e in cases.case_history(session, case.id)]
        timers = session.execute(select(Timer).where(Timer.case_id == case.id)).scalars().all()
        outcomes = deadline_outcomes(session, case.id, desk.now, WorkingCalendar())
        open_tasks = [t.element_id for t in cases.case_tasks(session, case.id) if t.status.value == "open"]
    assert open_tasks == ["Task_FirstContactEscalated"]
    fired = [p for kind, element, p in events if kind == "timer_fired" and element == "Timer_FirstContact24h"]
    assert len(fired) == 1 and fired[0]["attached_to"] == "Task_FirstContact"
    [escalation] = [p for kind, _e, p in events if kind == "escalated"]
    assert escalation["missed_task"] == "Task_FirstContact"
    assert [t["element_id"] for t in escalation["to"]] == ["Task_FirstContactEscalated"]
    [row] = [t for t in timers if t.element_id == "Timer_FirstContact24h"]
    assert row.status == TimerStatus.FIRED and row.due_at == due and row.fired_at == desk.now
    [missed] = [o for o in outcomes if o.element_id == "Task_FirstContact"]
    assert missed.outcome == "escalated" and missed.due_at == due
