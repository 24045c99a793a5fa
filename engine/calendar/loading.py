"""Load an organisation's calendar overrides and move the provisional deadlines they settle.

A deadline that reached into a year without calendar data was computed on the weekday
rule and marked provisional. Once that year's data is loaded, each such waiting timer is
computed again from the moment it started waiting, with the same expression and case
data, and its timer (and the task's due time) moves; each move is audited. A timer that
reads a deadline a script computed earlier (`final_plan_due = working_days(5)`) gets
that deadline computed again from the same start; the case data holding it follows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import deadlines
from engine.calendar import store as calendar_store
from engine.calendar.working_days import OverridesError, parse_overrides
from engine.cases import runtime
from engine.cases.use_cases import flush_case, lock_case
from engine.errors import PlanFlowError
from engine.models import Timer, TimerStatus
from engine.plans.versions import spec_cache
from engine.records import audit


@dataclass
class CalendarLoad:
    days: int
    complete_years: list[int]
    moved: list[tuple[str, str, datetime, datetime]] = field(default_factory=list)  # case, element, old, new


def load_calendar_file(session: Session, path: Path, actor: str, now: datetime) -> CalendarLoad:
    """Store the file's overrides, then recompute every provisional deadline still waiting."""
    try:
        overrides = parse_overrides(Path(path))
    except (OverridesError, OSError) as exc:
        raise PlanFlowError(f"calendar file not loaded: {exc}") from None
    days, years = calendar_store.store_overrides(session, overrides, actor, now)
    audit.record(session, audit.EventKind.CALENDAR_LOADED, actor, now,
                 payload={"file": Path(path).name, "days": days, "complete_years": years})
    result = CalendarLoad(days, years)
    provisional = session.execute(select(Timer).where(Timer.status == TimerStatus.WAITING)
                                  .order_by(Timer.case_id, Timer.id)).scalars().all()
    for timer in [t for t in provisional if t.provisional_years]:
        moved = recompute_deadline(session, timer, actor, now)
        if moved is not None:
            result.moved.append(moved)
    return result


def recompute_deadline(session: Session, timer: Timer, actor: str, now: datetime):
    """Re-evaluate one waiting timer's value as of when it started; return the move, or None."""
    case = lock_case(session, timer.case_id)
    workflow = runtime.load(case, spec_cache.get(case.plan_version))
    spiff_task = workflow.get_task_from_id(UUID(timer.spiff_task_id))
    if spiff_task is None:
        return None
    old_due = timer.due_at
    with runtime.running(session, timer.started_at):
        value = workflow.script_engine.evaluate(spiff_task, spiff_task.task_spec.event_definition.expression)
        recomputed = deadlines.recompute(value, workflow.data)
        if recomputed != value:
            _replace_in_open_data(workflow, value, recomputed)
        spiff_task.internal_data["event_value"] = recomputed
        runtime.save(case, workflow)
        runtime.sync(session, case, workflow, now, actor)
    flush_case(session, case)
    if timer.due_at == old_due and timer.provisional_years:
        return None
    audit.record(session, audit.EventKind.DEADLINE_RECOMPUTED, actor, now, case=case, element_id=timer.element_id,
                 payload={"old_due_at": old_due.isoformat(), "new_due_at": timer.due_at.isoformat(),
                          "still_provisional_years": timer.provisional_years})
    return case.number, timer.element_id, old_due, timer.due_at


def _replace_in_open_data(workflow, old: str, new: str) -> None:
    """Case data still to be used that holds a recomputed deadline now holds its new value."""
    for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK):
        for key, value in task.data.items():
            if value == old:
                task.data[key] = new
