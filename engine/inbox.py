"""What a user may see in their inbox: three lists read from indexed task rows.

`mine` = open tasks I claimed, `queue` = open, unclaimed tasks of my roles, `done` =
tasks I completed. Pages are fetched with one extra row to know whether another page
follows: no COUNT over a queue that may hold tens of thousands of tasks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Case, PlanVersion, Task, TaskStatus, User

LISTS = ("mine", "queue", "done")
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class InboxFilter:
    plan: str | None = None
    grade: str | None = None
    overdue: bool = False
    page: int = 1
    per_page: int = 50


@dataclass
class InboxPage:
    tasks: list[Task] = field(default_factory=list)
    page: int = 1
    per_page: int = 50
    has_next: bool = False


def task_list(session: Session, user: User, which: str, now: datetime,
              filters: InboxFilter = InboxFilter()) -> InboxPage:
    """One page of a user's list, soonest due first (done: most recently completed first)."""
    if which not in LISTS:
        raise ValueError(f"unknown list '{which}' (one of {', '.join(LISTS)})")
    query = select(Task)
    if which == "mine":
        query = query.where(Task.assignee == user.username, Task.status == TaskStatus.OPEN)
    elif which == "queue":
        query = query.where(Task.role.in_(sorted(user.role_keys)), Task.status == TaskStatus.OPEN,
                            Task.assignee.is_(None))
    else:
        query = query.where(Task.completed_by == user.username, Task.status == TaskStatus.COMPLETED)
    if filters.plan or filters.grade:
        query = query.join(Case, Case.id == Task.case_id)
        if filters.plan:
            query = query.join(PlanVersion, PlanVersion.id == Case.plan_version_id) \
                .where(PlanVersion.plan_key == filters.plan)
        if filters.grade:
            query = query.where(Case.grade == filters.grade)
    if filters.overdue:
        query = query.where(Task.due_at < now)
    if which == "done":
        query = query.order_by(Task.completed_at.desc(), Task.id.desc())
    else:
        query = query.order_by(Task.due_sort, Task.id)
    per_page = max(1, min(filters.per_page, MAX_PER_PAGE))
    page = max(1, filters.page)
    rows = list(session.execute(query.offset((page - 1) * per_page).limit(per_page + 1)).scalars())
    return InboxPage(rows[:per_page], page, per_page, has_next=len(rows) > per_page)


def claimable_and_mine(session: Session, user: User, now: datetime, limit: int = MAX_PER_PAGE) -> list[Task]:
    """Open tasks a user holds or may claim, soonest due first (the CLI's `tasks`)."""
    mine = task_list(session, user, "mine", now, InboxFilter(per_page=limit)).tasks
    queue = task_list(session, user, "queue", now, InboxFilter(per_page=limit)).tasks
    return sorted(mine + queue, key=lambda t: (t.due_sort, t.id))[:limit]
