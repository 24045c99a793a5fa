"""What a user may see in their inbox: three lists read from indexed task rows.

`mine` = open tasks I claimed, `queue` = open, unclaimed tasks of my roles, `done` =
tasks I completed. Pages are fetched with one extra row to know whether another page
follows: no COUNT over a queue that may hold tens of thousands of tasks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.models import Case, PlanVersion, Task, TaskStatus, User
from engine.people.privacy import may_see_contact

LISTS = ("mine", "queue", "done")
MAX_PER_PAGE = 200
# Tab counts stop here ("999+"): counting a queue of 100,000 rows on every page would cost as much as it.
COUNT_CAP = 1000
# More escalated tasks than this in one list are paged as ordinary ones (soonest due first).
MAX_ESCALATED = 500


@dataclass(frozen=True)
class InboxFilter:
    plan: str | None = None
    grade: str | None = None
    overdue: bool = False
    # A case number (or part of it), a complainant or a phone number; see `_searched`.
    search: str | None = None
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
    """One page of a user's list: escalated tasks first, then soonest due (done: most recently completed first)."""
    per_page = max(1, min(filters.per_page, MAX_PER_PAGE))
    page = max(1, filters.page)
    offset = (page - 1) * per_page
    query = _filtered(_listed(select(Task), user, which), user, now, filters)
    if which == "done":
        query = query.order_by(Task.completed_at.desc(), Task.id.desc())
        rows = list(session.execute(query.offset(offset).limit(per_page + 1)).scalars())
        return InboxPage(rows[:per_page], page, per_page, has_next=len(rows) > per_page)
    escalated = _escalated(session, user, which, now, filters)
    if len(escalated) >= MAX_ESCALATED:  # an escalation storm: page everything by due time alone
        escalated = []
    rows = escalated[offset:offset + per_page + 1]
    wanted = per_page + 1 - len(rows)
    if wanted > 0:
        ordinary = query.where(Task.escalated_from.is_(None)) if escalated else query
        skip = max(0, offset - len(escalated))
        rows += session.execute(ordinary.order_by(Task.due_sort, Task.id).offset(skip).limit(wanted)).scalars()
    return InboxPage(rows[:per_page], page, per_page, has_next=len(rows) > per_page)


def list_count(session: Session, user: User, which: str, now: datetime, filters: InboxFilter = InboxFilter(),
               cap: int = COUNT_CAP) -> int:
    """How many tasks a list holds, counted up to `cap` (a tab shows "999+" beyond)."""
    ids = _filtered(_listed(select(Task.id), user, which), user, now, filters).limit(cap).subquery()
    return session.execute(select(func.count()).select_from(ids)).scalar_one()


def _listed(query, user: User, which: str, reach_escalated: bool = False):
    if which not in LISTS:
        raise ValueError(f"unknown list '{which}' (one of {', '.join(LISTS)})")
    # For the escalated rows the list's own columns are wrapped, so the planner reaches them through
    # ix_tasks_escalated (a handful of rows) instead of walking the whole queue in due order.
    role = func.coalesce(Task.role, "") if reach_escalated else Task.role
    assignee = func.coalesce(Task.assignee, "") if reach_escalated else Task.assignee
    if which == "mine":
        return query.where(assignee == user.username, Task.status == TaskStatus.OPEN)
    if which == "queue":
        unclaimed = (assignee == "") if reach_escalated else Task.assignee.is_(None)
        return query.where(role.in_(sorted(user.role_keys)), Task.status == TaskStatus.OPEN, unclaimed)
    return query.where(Task.completed_by == user.username, Task.status == TaskStatus.COMPLETED)


def _filtered(query, user: User, now: datetime, filters: InboxFilter):
    search = (filters.search or "").strip()
    if filters.plan or filters.grade or search:
        query = query.join(Case, Case.id == Task.case_id)
        if filters.plan:
            query = query.join(PlanVersion, PlanVersion.id == Case.plan_version_id) \
                .where(PlanVersion.plan_key == filters.plan)
        if filters.grade:
            query = query.where(Case.grade == filters.grade)
        if search:
            query = query.where(_searched(search, may_see_contact(user)))
    if filters.overdue:
        query = query.where(Task.due_at < now)
    return query


def _searched(text: str, sees_identity: bool):
    """Case number contains the text; complainant or phone contains it, or equals it for roles that see
    them masked (they find a case by the full name or number they were given, never by guessing parts)."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    number = Case.number.like(pattern, escape="\\")
    if sees_identity:
        return or_(number, Case.complainant.like(pattern, escape="\\"), Case.contact.like(pattern, escape="\\"))
    return or_(number, Case.complainant == text, Case.contact == text)


def _escalated(session: Session, user: User, which: str, now: datetime, filters: InboxFilter) -> list[Task]:
    query = _filtered(_listed(select(Task), user, which, reach_escalated=True), user, now, filters)
    query = query.where(Task.escalated_from > "").order_by(Task.due_sort, Task.id).limit(MAX_ESCALATED)
    return list(session.execute(query).scalars())


def plan_choices(session: Session) -> list[tuple[str, str]]:
    """Every deployed plan as (key, name of its current version), by key."""
    names: dict[str, str] = {}
    for key, name in session.execute(select(PlanVersion.plan_key, PlanVersion.name)
                                     .order_by(PlanVersion.plan_key, PlanVersion.version)):
        names[key] = name or key
    return sorted(names.items())


def due_soon(task: Task, now: datetime, share: float) -> bool:
    """Whether an open task is in the last `share` of the time it was given (and not yet overdue)."""
    if task.status != TaskStatus.OPEN or task.due_at is None or task.due_at <= now:
        return False
    return task.due_at - now <= (task.due_at - task.created_at) * share


def claimable_and_mine(session: Session, user: User, now: datetime, limit: int = MAX_PER_PAGE) -> list[Task]:
    """Open tasks a user holds or may claim, escalated first, then soonest due (the CLI's `tasks`)."""
    mine = task_list(session, user, "mine", now, InboxFilter(per_page=limit)).tasks
    queue = task_list(session, user, "queue", now, InboxFilter(per_page=limit)).tasks
    return sorted(mine + queue, key=lambda t: (t.escalated_from is None, t.due_sort, t.id))[:limit]
