"""Near-deadline warnings: a warning time per open task with a deadline, swept by its index.

The warning row is written with the task (or moved with its deadline) in the step's
transaction; the worker reads only rows whose `warn_at` has come (index on status,
warn_at), so the sweep costs the same with ten open cases or a hundred thousand. The
rule — a share of the time ("80%") or a time before ("60m") — is the plan's own
(`planflow notifications warn-at`) or PLANFLOW_NOTIFY_WARN.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.base import NO_VALUE, NEVER_SET

from engine.db import transaction
from engine.models import (
    Case,
    DeadlineWarning,
    DeadlineWarningStatus,
    NotificationPlanSetting,
    Task,
    TaskStatus,
)
from engine.notifications.outbox import Announcement, role_holders, write
from engine.notifications.settings import NotifySettings, parse_warn, warn_time

_MOVED = "planflow.notifications.moved_deadlines"


@event.listens_for(Task.due_at, "set")
def _deadline_set(task: Task, value, old, _initiator) -> None:
    """Remember tasks whose deadline moved, so this step's hook moves their warning too."""
    if task.id is None or old in (NO_VALUE, NEVER_SET) or old == value:
        return
    session = object_session(task)
    if session is not None:
        session.info.setdefault(_MOVED, set()).add(task.id)


def rule_for(session: Session, plan_key: str) -> str:
    own = session.get(NotificationPlanSetting, plan_key)
    return own.warn if own is not None else NotifySettings.from_env().warn


def set_plan_rule(session: Session, plan_key: str, rule: str | None) -> None:
    """Give a plan its own near-deadline rule ('80%', '60m', '2h'); None goes back to the global one."""
    row = session.get(NotificationPlanSetting, plan_key)
    if rule is None:
        if row is not None:
            session.delete(row)
        return
    parse_warn(rule)
    if row is None:
        session.add(NotificationPlanSetting(plan_key=plan_key, warn=rule.strip()))
    else:
        row.warn = rule.strip()


def schedule(session: Session, case: Case, task: Task) -> DeadlineWarning | None:
    """Write the warning time of a new task that has a deadline still ahead of it."""
    if task.due_at is None or task.due_at <= task.created_at:
        return None
    warning = DeadlineWarning(task_id=task.id, case_id=case.id, due_at=task.due_at,
                              warn_at=warn_time(rule_for(session, case.plan_version.plan_key), task.created_at,
                                                task.due_at),
                              status=DeadlineWarningStatus.WAITING)
    session.add(warning)
    return warning


def follow_moves(session: Session) -> None:
    """Move the warnings of tasks whose deadline moved in this transaction."""
    moved = session.info.pop(_MOVED, None)
    if not moved:
        return
    for task_id in sorted(moved):
        task = session.get(Task, task_id)
        if task is None or task.status != TaskStatus.OPEN or task.due_at is None:
            continue
        warning = session.execute(select(DeadlineWarning).where(DeadlineWarning.task_id == task_id)).scalar_one_or_none()
        if warning is None:
            schedule(session, task.case, task)
        elif warning.status == DeadlineWarningStatus.WAITING and warning.due_at != task.due_at:
            _rederive(session, warning, task)


def _rederive(session: Session, warning: DeadlineWarning, task: Task) -> None:
    warning.due_at = task.due_at
    warning.warn_at = warn_time(rule_for(session, task.case.plan_version.plan_key), task.created_at, task.due_at)


def sweep(session_factory, now: datetime, batch: int = 200) -> int:
    """Announce every near deadline whose warning time has come; returns how many were announced.

    Each batch is one transaction: the warnings are marked sent with the notifications they
    wrote, so a crash announces a batch again in full or not at all.
    """
    announced = 0
    while True:
        with transaction(session_factory) as session:
            due = list(session.execute(
                select(DeadlineWarning).where(DeadlineWarning.status == DeadlineWarningStatus.WAITING,
                                              DeadlineWarning.warn_at <= now)
                .order_by(DeadlineWarning.warn_at).limit(batch).with_for_update(skip_locked=True)).scalars())
            for warning in due:
                announced += _warn(session, warning, now)
        if len(due) < batch:
            return announced


def _warn(session: Session, warning: DeadlineWarning, now: datetime) -> int:
    task = session.get(Task, warning.task_id)
    if task is None or task.status != TaskStatus.OPEN or task.due_at is None or task.due_at <= now:
        warning.status = DeadlineWarningStatus.CANCELLED  # done, cancelled or already past: nothing to warn of
        return 0
    if task.due_at != warning.due_at:
        _rederive(session, warning, task)
        if warning.warn_at > now:
            return 0
    from engine.notifications.events import task_facts  # events imports this module

    recipients = [task.assignee] if task.assignee else role_holders(session, task.role)
    write(session, Announcement("deadline_near", f"near:{task.id}:{task.due_at.isoformat()}", task_facts(task.case, task),
                                task.case_id, task.id, task.case.grade == "urgent", recipients=recipients), now)
    warning.status = DeadlineWarningStatus.SENT
    return 1

