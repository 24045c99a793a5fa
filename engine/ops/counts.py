"""What `/metrics` reads from the database at scrape time: counts over indexed columns, and the workers' rows.

Counts taken from the database are the same whichever web process answers the scrape,
and right after a restart; the workers' own histograms come from their heartbeat rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from engine.models import (Case, CaseStatus, PlanVersion, Task, TaskStatus, Timer, TimerStatus,
                           WorkerHeartbeat)


@dataclass
class Counts:
    cases: dict[tuple[str, str], int] = field(default_factory=dict)   # (plan, status) → cases
    open_tasks: dict[str, int] = field(default_factory=dict)          # role → open tasks
    overdue_tasks: dict[str, int] = field(default_factory=dict)       # role → open tasks past their deadline
    timers_due: int = 0
    incidents: int = 0
    workers: list[WorkerHeartbeat] = field(default_factory=list)


def read(session: Session, now: datetime) -> Counts:
    counts = Counts()
    # Drill cases are rehearsals: real work's figures never count them (their deadlines run on a simulated clock).
    per_version = session.execute(select(Case.plan_version_id, Case.status, func.count())
                                  .where(Case.drill_id.is_(None))
                                  .group_by(Case.plan_version_id, Case.status)).all()
    plans = dict(session.execute(select(PlanVersion.id, PlanVersion.plan_key)).all()) if per_version else {}
    for version_id, status, n in per_version:
        key = (plans.get(version_id, "?"), CaseStatus(status).value)
        counts.cases[key] = counts.cases.get(key, 0) + n
    # Statuses written out, not bound: both databases then see that a query keeps within a partial index.
    open_task = Task.status == _literal(TaskStatus.OPEN)
    real_task = Task.case_id.in_(select(Case.id).where(Case.drill_id.is_(None)))
    counts.open_tasks = dict(session.execute(select(Task.role, func.count()).where(open_task, real_task)
                                             .group_by(Task.role)).all())
    counts.overdue_tasks = dict(session.execute(select(Task.role, func.count())
                                                .where(open_task, real_task, Task.due_at < now)
                                                .group_by(Task.role)).all())
    # The worker's backlog: a drill's timers are mapped to real time and are the worker's work too.
    counts.timers_due = session.execute(select(func.count()).select_from(Timer).where(
        Timer.status == _literal(TimerStatus.WAITING), Timer.fire_at <= now)).scalar_one()
    counts.incidents = session.execute(select(func.count()).select_from(Case).where(
        Case.status == _literal(CaseStatus.RUNNING), Case.incident.is_not(None), Case.drill_id.is_(None))).scalar_one()
    counts.workers = list(session.execute(select(WorkerHeartbeat).order_by(WorkerHeartbeat.name)).scalars())
    return counts


def _literal(status):
    return literal_column(f"'{status.value}'")
