"""What a drill's controller sees live: the clock, each case, who holds what, what falls due next."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.drills import clock
from engine.drills.lifecycle import drill_cases, next_due
from engine.models import (
    Case,
    Drill,
    DrillInject,
    DrillObservation,
    PlanDrillSchedule,
    Task,
    TaskStatus,
    Timer,
    TimerStatus,
)


@dataclass
class DrillView:
    drill: Drill
    sim_now: datetime
    real_now: datetime
    next_due: datetime | None
    cases: list[Case] = field(default_factory=list)
    open_tasks: list[Task] = field(default_factory=list)
    waiting_timers: list[Timer] = field(default_factory=list)
    injects: list[DrillInject] = field(default_factory=list)
    observations: list[DrillObservation] = field(default_factory=list)

    def as_dict(self) -> dict:
        drill = self.drill
        return {"id": drill.id, "title": drill.title, "plan": drill.plan_key, "status": drill.status.value,
                "scale": drill.scale, "sim_now": self.sim_now.isoformat(), "real_now": self.real_now.isoformat(),
                "next_due": self.next_due.isoformat() if self.next_due else None,
                "participants": drill.participants,
                "cases": [{"number": c.number, "status": c.status.value, "incident": c.incident} for c in self.cases],
                "open_tasks": [{"id": t.id, "case": t.case.number, "name": t.name, "role": t.role,
                                "assignee": t.assignee, "due_at": t.due_at.isoformat() if t.due_at else None}
                               for t in self.open_tasks],
                "injects": [{"id": i.id, "title": i.title, "sim_at": i.sim_at.isoformat(), "status": i.status}
                            for i in self.injects]}


def drill_view(session: Session, drill: Drill, real_now: datetime) -> DrillView:
    cases = drill_cases(session, drill.id)
    ids = [c.id for c in cases]
    view = DrillView(drill, clock.sim_now(drill, real_now), real_now, next_due(session, drill), cases)
    if ids:
        view.open_tasks = list(session.execute(select(Task).where(Task.case_id.in_(ids), Task.status == TaskStatus.OPEN)
                                               .order_by(Task.due_sort, Task.id)).scalars())
        view.waiting_timers = list(session.execute(select(Timer).where(
            Timer.case_id.in_(ids), Timer.status == TimerStatus.WAITING).order_by(Timer.due_at)).scalars())
    view.injects = list(session.execute(select(DrillInject).where(DrillInject.drill_id == drill.id)
                                        .order_by(DrillInject.sim_at)).scalars())
    view.observations = list(session.execute(select(DrillObservation).where(DrillObservation.drill_id == drill.id)
                                             .order_by(DrillObservation.id)).scalars())
    return view


def list_drills(session: Session, plan_key: str | None = None) -> list[Drill]:
    query = select(Drill).order_by(Drill.id.desc())
    if plan_key:
        query = query.where(Drill.plan_key == plan_key)
    return list(session.execute(query).scalars())


@dataclass(frozen=True)
class DrillSchedule:
    plan_key: str
    last_drilled: datetime | None
    interval_months: int | None
    next_due: datetime | None
    overdue: bool


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
                           31, 31, 30, 31, 30, 31][month - 1])
    return moment.replace(year=year, month=month, day=day)


def schedules(session: Session, plan_keys: list[str], now: datetime) -> dict[str, DrillSchedule]:
    """Per plan: when it was last drilled (the last drill that ended), its interval, the next drill due."""
    last: dict[str, datetime] = {}
    for key, started in session.execute(select(Drill.plan_key, Drill.started_at).where(Drill.ended_at.is_not(None))):
        last[key] = max(started, last.get(key, started))
    intervals = dict(session.execute(select(PlanDrillSchedule.plan_key, PlanDrillSchedule.interval_months)).all())
    found = {}
    for key in plan_keys:
        months = intervals.get(key)
        due = _add_months(last[key], months) if months and key in last else None
        overdue = bool(months) and (key not in last or (due is not None and due < now))
        found[key] = DrillSchedule(key, last.get(key), months, due, overdue)
    return found
