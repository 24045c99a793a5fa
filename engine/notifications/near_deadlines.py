"""Near-deadline warnings: a warning time per open task with a deadline, swept by its index.

The warning row is written with the task (or moved with its deadline) in the step's
transaction; the worker reads only rows whose `warn_at` has come (index on status,
warn_at), so the sweep costs the same with ten open cases or a hundred thousand. The
rule — a share of the time ("80%") or a time before ("60m") — is the plan's own
(`planflow notifications warn-at`) or PLANFLOW_NOTIFY_WARN.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import event, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.base import NEVER_SET, NO_VALUE

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
from engine.notifications.settings import parse_warn, step_settings, warn_time

log = logging.getLogger(__name__)
_MOVED = "planflow.notifications.moved_deadlines"
_RULES = "planflow.notifications.plan_rules"


@event.listens_for(Task.due_at, "set")
def _deadline_set(task: Task, value, old, _initiator) -> None:
    """Remember tasks whose deadline moved, so this step's hook moves their warning too."""
    if task.id is None or old in (NO_VALUE, NEVER_SET) or old == value:
        return
    session = object_session(task)
    if session is not None:
        session.info.setdefault(_MOVED, set()).add(task.id)


def rule_for(session: Session, plan_key: str) -> str:
    """The plan's near-deadline rule, else the global one (read once per plan and transaction)."""
    rules = session.info.setdefault(_RULES, {})
    if plan_key not in rules:
        own = session.get(NotificationPlanSetting, plan_key)
        rules[plan_key] = own.warn if own is not None else step_settings().warn
    return rules[plan_key]


def set_plan_rule(session: Session, plan_key: str, rule: str | None) -> None:
    """Give a plan its own near-deadline rule ('80%', '60m', '2h'); None goes back to the global one."""
    session.info.pop(_RULES, None)
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
        try:
            with transaction(session_factory) as session:
                due = list(session.execute(_due(now, batch)).scalars())
                done = sum(_warn(session, warning, now) for warning in due)
        except DBAPIError:
            raise
        except Exception:  # noqa: BLE001 — one broken warning must not hold back the others
            log.exception("near-deadline batch failed; warning one by one")
            done, due = _one_by_one(session_factory, now, batch)
        announced += done
        if len(due) < batch:
            return announced


def _due(now: datetime, batch: int):
    return (select(DeadlineWarning).where(DeadlineWarning.status == DeadlineWarningStatus.WAITING,
                                          DeadlineWarning.warn_at <= now)
            .order_by(DeadlineWarning.warn_at).limit(batch).with_for_update(skip_locked=True))


def _one_by_one(session_factory, now: datetime, batch: int) -> tuple[int, list]:
    """Each due warning in its own transaction; one that fails is cancelled (and logged) so the rest go out."""
    with transaction(session_factory, readonly=True) as session:
        ids = list(session.execute(select(DeadlineWarning.id).where(
            DeadlineWarning.status == DeadlineWarningStatus.WAITING, DeadlineWarning.warn_at <= now)
            .order_by(DeadlineWarning.warn_at).limit(batch)).scalars())
    done = 0
    for warning_id in ids:
        try:
            with transaction(session_factory) as session:
                warning = session.get(DeadlineWarning, warning_id)
                if warning is not None and warning.status == DeadlineWarningStatus.WAITING:
                    done += _warn(session, warning, now)
        except DBAPIError:
            raise
        except Exception:  # noqa: BLE001
            log.exception("near-deadline warning %s failed; cancelled", warning_id)
            with transaction(session_factory) as session:
                session.execute(update(DeadlineWarning).where(DeadlineWarning.id == warning_id)
                                .values(status=DeadlineWarningStatus.CANCELLED))
    return done, ids


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

