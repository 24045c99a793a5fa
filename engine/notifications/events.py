"""Turn what happened to a case into announcements, in the same transaction as the change.

The hooks are one line each in the code that changes a case: `on_step` after a step's
rows are synced (runtime.settle), `on_reassigned` in reassign_task, `on_incident` where
an incident is recorded. Who hears what:

- a task is ready: the holders of its role (`task_ready`);
- a deadline fired and the case escalated: the holders of the new task's role (`escalated`)
  and whoever held the missed task, or its role when nobody had claimed it (`escalated_away`);
- a deadline fired without escalating (a non-interrupting timer): the task's holder (`deadline_passed`);
- a task reassigned: the person it now belongs to (`task_assigned`);
- a case graded urgent: leadership, the office director and the duty officers (`case_urgent`), once;
- an incident: the process owners (`incident`);
- a drill starts: its participants (`drill_started`).

A drill case's notifications are marked as a drill, go out at real time (its steps run on
the drill's simulated clock), and never reach webhooks: a group robot must not announce a
rehearsed escalation as a real one. Its tasks get no near-deadline warnings.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar.clock import utcnow
from engine.models import Case, Task, TaskStatus
from engine.notifications import near_deadlines
from engine.notifications.outbox import Announcement, already_announced, role_holders, write

URGENT_GRADE = "urgent"
URGENT_ROLES = ("leadership", "office_director", "duty_officer")
INCIDENT_ROLES = ("process_owner",)


def task_facts(case: Case, task: Task) -> dict:
    return {"case": case.number, "plan": case.plan_version.plan_key, "grade": case.grade,
            "drill": bool(getattr(case, "drill_id", None)), "task": task.name, "task_en": task.name_en, "role": task.role, "assignee": task.assignee,
            "due_at": task.due_at.isoformat() if task.due_at else None, "link": f"/tasks/{task.id}"}


def _is_urgent(case: Case) -> bool:
    return case.grade == URGENT_GRADE


def _holders(session: Session, task: Task) -> list[str]:
    return [task.assignee] if task.assignee else role_holders(session, task.role)


def on_step(session: Session, case: Case, outcome, now: datetime, actor: str) -> None:
    """Announce the tasks, deadlines and escalations one step produced (`outcome`: a rows.SyncOutcome)."""
    missed_by_element = {t.element_id: t for t in outcome.cancelled_tasks}
    urgent = _is_urgent(case)
    drill = bool(getattr(case, "drill_id", None))
    if drill:
        now = utcnow()  # the step ran at the drill's simulated time; people are told now
    for task in outcome.new_tasks:
        facts = task_facts(case, task)
        missed = missed_by_element.get(task.escalated_from) if task.escalated_from else None
        if missed is not None:
            facts.update(missed=missed.name, missed_en=missed.name_en, missed_role=missed.role,
                         due_at=missed.due_at.isoformat() if missed.due_at else None)
            write(session, Announcement("escalated", f"escalated:{task.id}", facts, case.id, task.id, True,
                                        webhooks=not drill, recipients=_holders(session, task)), now)
            write(session, Announcement("escalated_away", f"escalated_away:{task.id}", facts, case.id, missed.id,
                                        True, webhooks=False, recipients=_holders(session, missed)), now)
        else:
            write(session, Announcement("task_ready", f"ready:{task.id}", facts, case.id, task.id, urgent,
                                        webhooks=not drill, recipients=_holders(session, task)), now)
        if not drill:
            near_deadlines.schedule(session, case, task)
    _deadlines_passed(session, case, outcome, missed_by_element, now, drill)
    near_deadlines.follow_moves(session)
    if urgent and not outcome.completed:
        _announce_urgent(session, case, now, drill)


def _deadlines_passed(session, case, outcome, missed_by_element, now, drill) -> None:
    """A timer fired on a task that stays open (it records the miss): tell whoever holds the task."""
    for timer in outcome.fired_timers:
        if not timer.attached_to or timer.attached_to in missed_by_element:
            continue
        for task in session.execute(select(Task).where(Task.case_id == case.id, Task.element_id == timer.attached_to,
                                                       Task.status == TaskStatus.OPEN)).scalars():
            facts = task_facts(case, task)
            facts["due_at"] = timer.due_at.isoformat()
            write(session, Announcement("deadline_passed", f"passed:{timer.id}:{task.id}", facts, case.id, task.id,
                                        True, webhooks=not drill, recipients=_holders(session, task)), now)


def _announce_urgent(session: Session, case: Case, now: datetime, drill: bool) -> None:
    key = f"urgent:{case.id}"
    if already_announced(session, key):
        return
    recipients = sorted({name for role in URGENT_ROLES for name in role_holders(session, role)})
    write(session, Announcement("case_urgent", key, {"case": case.number, "plan": case.plan_version.plan_key,
                                                     "grade": case.grade, "drill": drill,
                                                     "link": f"/cases/{case.number}"},
                                case.id, None, True, webhooks=not drill, recipients=recipients), now)


def on_reassigned(session: Session, task: Task, previous: str | None, actor: str, reason: str, now: datetime) -> None:
    """Tell the new holder of a reassigned task."""
    facts = {**task_facts(task.case, task), "actor": actor, "reason": reason, "from": previous}
    write(session, Announcement("task_assigned", f"assigned:{task.id}:{now.isoformat()}", facts, task.case_id, task.id,
                                _is_urgent(task.case), webhooks=not facts["drill"], recipients=[task.assignee]), now)


def on_incident(session: Session, case: Case, message: str, now: datetime) -> None:
    """Tell the process owners that a case cannot go on, and why (the same error at most once a day)."""
    key = f"incident:{case.id}:{hashlib.sha256(message.encode()).hexdigest()[:16]}:{now.date().isoformat()}"
    if already_announced(session, key):
        return  # a retried timer or a resubmitted form failing the same way again
    drill = bool(getattr(case, "drill_id", None))
    write(session, Announcement("incident", key,
                                {"case": case.number, "plan": case.plan_version.plan_key, "grade": case.grade,
                                 "incident": message[:500], "drill": drill, "link": f"/cases/{case.number}"},
                                case.id, None, _is_urgent(case), webhooks=not drill,
                                recipients=role_holders(session, "process_owner")), now)


def on_drill_started(session: Session, drill, cases: list[Case], now: datetime) -> None:
    """Tell each participant of a drill that it started, and in which role."""
    number = cases[0].number if cases else ""
    for role, username in sorted((drill.participants or {}).items()):
        write(session, Announcement("drill_started", f"drill:{drill.id}:{username}:{role}",
                                    {"case": number, "plan": drill.plan_key, "title": drill.title or drill.plan_key,
                                     "role": role, "drill": True, "link": "/?list=mine"},
                                    cases[0].id if cases else None, None, False, webhooks=False,
                                    recipients=[username]), now)
