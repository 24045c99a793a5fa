"""The team view for supervisors: every open task by plan, grade and role, with who holds it.

Read from indexed task rows joined to their case and plan version; nothing here loads a
workflow. A supervisor reassigns with `cases.reassign_task`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.use_cases import SUPERVISOR_ROLES
from engine.errors import PermissionDenied
from engine.models import Case, PlanVersion, Task, TaskStatus, User, UserRole
from engine.views.inbox import due_soon

# The page lists at most this many tasks; the counts cover every open task.
MAX_LISTED = 500
STATES = ("overdue", "escalated", "due_soon", "open")


@dataclass(frozen=True)
class TeamTask:
    task: Task
    plan_key: str
    plan_name: str
    state: str  # one of STATES: the most pressing that applies


@dataclass
class TeamView:
    tasks: list[TeamTask] = field(default_factory=list)
    # (plan key, grade or "", role) -> Counter of states, plus "total"
    groups: dict[tuple[str, str, str], Counter] = field(default_factory=dict)
    plan_names: dict[str, str] = field(default_factory=dict)
    holders: dict[str, list[str]] = field(default_factory=dict)  # role -> usernames holding it
    truncated: bool = False


def is_supervisor(user: User) -> bool:
    return bool(user.role_keys & SUPERVISOR_ROLES)


def team_view(session: Session, viewer: User, now: datetime, share: float, plan: str | None = None,
              state: str | None = None) -> TeamView:
    """Every open task, the most pressing first (overdue, escalated, due soon, then by due time)."""
    if not is_supervisor(viewer):
        raise PermissionDenied(f"the team view is for {', '.join(sorted(SUPERVISOR_ROLES))}")
    query = (select(Task, PlanVersion.plan_key, PlanVersion.name)
             .join(Case, Case.id == Task.case_id).join(PlanVersion, PlanVersion.id == Case.plan_version_id)
             .where(Task.status == TaskStatus.OPEN, Case.drill_id.is_(None))  # drills are not real work
             .order_by(Task.due_sort, Task.id))
    if plan:
        query = query.where(PlanVersion.plan_key == plan)
    view = TeamView()
    listed = []
    for task, plan_key, plan_name in session.execute(query):
        current = _state(task, now, share)
        view.plan_names[plan_key] = plan_name or plan_key
        counts = view.groups.setdefault((plan_key, task.case.grade or "", task.role), Counter())
        counts["total"] += 1
        counts["overdue"] += current == "overdue"
        counts["escalated"] += bool(task.escalated_from)
        counts["due_soon"] += due_soon(task, now, share)
        if state is None or state == current or (state == "escalated" and task.escalated_from):
            listed.append(TeamTask(task, plan_key, plan_name or plan_key, current))
    listed.sort(key=lambda t: (STATES.index(t.state), t.task.due_sort, t.task.id))
    view.truncated = len(listed) > MAX_LISTED
    view.tasks = listed[:MAX_LISTED]
    roles = sorted({t.task.role for t in view.tasks})
    for role, username in session.execute(select(UserRole.role, User.username).join(User, User.id == UserRole.user_id)
                                          .where(UserRole.role.in_(roles), User.active.is_(True))
                                          .order_by(User.username)):
        view.holders.setdefault(role, []).append(username)
    return view


def _state(task: Task, now: datetime, share: float) -> str:
    if task.due_at is not None and task.due_at <= now:
        return "overdue"
    if task.escalated_from:
        return "escalated"
    if due_soon(task, now, share):
        return "due_soon"
    return "open"
