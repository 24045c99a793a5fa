"""Fixtures for walking any plan: straight through in memory, and persisted with reloads."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.calendar.working_days import WorkingCalendar
from engine.db import transaction
from engine.models import PlanVersion
from engine.plans.versions import spec_cache
from tests.support import InMemoryWalk, PersistedWalk


@pytest.fixture(params=["in_memory", "persisted"])
def walk(request, db_url, now):  # `now` is here so tests can parametrize it for the desk
    """`walk(plan_key, data)` starts a case of a deployed plan in the requested mode.

    in_memory: one SpiffWorkflow object, never saved. persisted: every step goes through
    the database with the spec cache dropped first, as if each ran in a fresh process.
    """
    if request.param == "in_memory" and not db_url.startswith("sqlite"):
        pytest.skip("an in-memory walk never touches the database: it runs once, on SQLite")
    desk = request.getfixturevalue("desk")
    def start(plan_key: str, data: dict):
        if request.param == "persisted":
            return PersistedWalk(desk, plan_key, data)
        with transaction(desk.session_factory, readonly=True) as session:
            version = session.execute(select(PlanVersion).where(PlanVersion.plan_key == plan_key)
                                      .order_by(PlanVersion.version.desc()).limit(1)).scalar_one()
            plan = spec_cache.get(version)
        return InMemoryWalk(plan, data, desk.now)
    return start


def expect(case, *tasks):
    """Assert exactly these (element, role) tasks are open; return their due times by element."""
    ready = case.ready()
    assert [(element, role) for element, role, _ in ready] == sorted(tasks)
    return {element: due for element, _, due in ready}


CALENDAR = WorkingCalendar()


def working_days(case, n):
    """Where n working days from the case's "now" end, on the calendar the engine uses."""
    return CALENDAR.add_working_days(case.now, n).due


def calendar_days(case, n):
    """Where n calendar days from the case's "now" end (a last day off moves to the next working day)."""
    return CALENDAR.add_calendar_days(case.now, n).due


# The shared closing steps (complaint_closure), as most plans' tests walk them.
FEEDBACK = {"feedback_note": "已反馈", "feedback_channel": "phone"}
SATISFIED = {"satisfied": "yes", "visit_note": "满意"}
ARCHIVE = {"archive_note": "归档", "outcome": "upheld", "prevention_analysis": "no"}


def walk_closure(case, *also_open) -> None:
    """Feedback (due in 2 working days), a satisfied return visit, archive — while `also_open` stay open."""
    due = expect(case, ("Task_Feedback", "handler"), *also_open)
    assert due["Task_Feedback"] == working_days(case, 2)
    case.complete("Task_Feedback", FEEDBACK)
    expect(case, ("Task_ReturnVisit", "intake"), *also_open)
    case.complete("Task_ReturnVisit", SATISFIED)
    expect(case, ("Task_Archive", "office_director"), *also_open)
    case.complete("Task_Archive", ARCHIVE)
