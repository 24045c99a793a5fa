"""What a user may see in their inbox: three lists read from indexed task rows, a page at a time.

`mine` = open tasks I claimed, `queue` = open, unclaimed tasks of my roles, `done` =
tasks I completed. Escalated tasks come first, then the soonest due, ties by id (done:
most recently completed first). Pages are keyset pages: a page starts after the row its
cursor names (engine/views/cursor.py), read from a partial index in that order
(engine/models.py, Task), so a page costs the same with a thousand open tasks or a
hundred thousand, and rows added or completed in between shift no other row. One extra
row tells whether another page follows: no COUNT over the whole queue.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from engine.models import Case, PlanVersion, Task, TaskStatus, User
from engine.people.privacy import may_see_contact
from engine.views.cursor import Cursor, decode

LISTS = ("mine", "queue", "done")
MAX_PER_PAGE = 200
# Tab counts stop here ("999+"): counting a queue of 100,000 rows on every page would cost as much as it.
COUNT_CAP = 1000


@dataclass(frozen=True)
class InboxFilter:
    plan: str | None = None
    grade: str | None = None
    overdue: bool = False
    # A case number (or part of it), a complainant or a phone number; see `_searched`.
    search: str | None = None
    # Where the page starts: a cursor an earlier page gave out (its next or previous), or the first page.
    cursor: str | None = None
    per_page: int = 50


@dataclass
class InboxPage:
    tasks: list[Task] = field(default_factory=list)
    per_page: int = 50
    next_cursor: str | None = None       # None: this is the last page
    previous_cursor: str | None = None   # None: this is the first page

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


@dataclass(frozen=True)
class _Section:
    """A stretch of a list in one order: one condition per index range it merges (each role of a queue)."""

    lanes: list
    sort: object               # the column it is ordered by, then by id
    descending: bool = False


# Written as literals, not parameters: a partial index is only used for a query whose condition shows it
# is within the index's own (see OPEN_QUEUE_SQL and its neighbours in engine/models.py).
_OPEN = Task.status == literal_column(f"'{TaskStatus.OPEN.value}'")
_COMPLETED = Task.status == literal_column(f"'{TaskStatus.COMPLETED.value}'")


def _sections(user: User, which: str) -> list[_Section]:
    if which not in LISTS:
        raise ValueError(f"unknown list '{which}' (one of {', '.join(LISTS)})")
    if which == "done":
        return [_Section([and_(Task.completed_by == user.username, _COMPLETED, Task.completed_at.is_not(None))],
                         Task.completed_at, descending=True)]
    if which == "mine":
        mine = and_(Task.assignee == user.username, _OPEN)
        return [_Section([and_(mine, Task.escalated_from.is_not(None))], Task.due_sort),
                _Section([and_(mine, Task.escalated_from.is_(None))], Task.due_sort)]
    roles = sorted(user.role_keys)
    return [_Section([and_(Task.role == role, _OPEN, Task.assignee.is_(None), Task.escalated_from.is_not(None))
                      for role in roles], Task.due_sort),
            _Section([and_(Task.role == role, _OPEN, Task.assignee.is_(None), Task.escalated_from.is_(None))
                      for role in roles], Task.due_sort)]


def task_list(session: Session, user: User, which: str, now: datetime,
              filters: InboxFilter = InboxFilter()) -> InboxPage:
    """One page of a user's list, from the start or from a cursor (BadCursor if it is not this list's)."""
    per_page = max(1, min(filters.per_page, MAX_PER_PAGE))
    sections = _sections(user, which)
    start = decode(filters.cursor, which, len(sections)) if filters.cursor else None
    rows = _walk(session, sections, start, per_page + 1, user, now, filters)
    if start is None or not start.backward:
        shown = rows[:per_page]
        after = _cursor(which, sections, shown[-1], backward=False) if len(rows) > per_page else None
        if start is None:
            before = None
        else:   # back from the first row shown, or from where this (emptied) page began
            before = _cursor(which, sections, shown[0], backward=True) if shown else \
                dataclasses.replace(start, backward=True).encode()
        return InboxPage([task for _, task in shown], per_page, after, before)
    if len(rows) <= per_page:   # back at the top: show the first page whole
        return task_list(session, user, which, now, dataclasses.replace(filters, cursor=None))
    shown = rows[:per_page][::-1]
    return InboxPage([task for _, task in shown], per_page, _cursor(which, sections, shown[-1], backward=False),
                     _cursor(which, sections, shown[0], backward=True))


def _cursor(which: str, sections: list[_Section], row: tuple[int, Task], backward: bool) -> str:
    section, task = row
    return Cursor(which, section, getattr(task, sections[section].sort.key), task.id, backward).encode()


def _walk(session: Session, sections: list[_Section], start: Cursor | None, wanted: int, user: User,
          now: datetime, filters: InboxFilter) -> list[tuple[int, Task]]:
    """Up to `wanted` rows from `start` on (or back from it), each with its section, section after section."""
    backward = start is not None and start.backward
    first = start.section if start is not None else 0
    order = range(first, -1, -1) if backward else range(first, len(sections))
    rows: list[tuple[int, Task]] = []
    for index in order:
        bound = start if start is not None and index == start.section else None
        found = _read(session, sections[index], bound, backward, wanted - len(rows), user, now, filters)
        rows += [(index, task) for task in found]
        if len(rows) >= wanted:
            break
    return rows


def _read(session: Session, section: _Section, bound: Cursor | None, backward: bool, limit: int, user: User,
          now: datetime, filters: InboxFilter) -> list[Task]:
    """The next `limit` rows of one section after `bound` (before it, going backward), in walking order.

    Each lane (a role's index range) is read on its own, in index order with a limit, and the few rows
    merged: a single query over several roles would have to sort all their rows. "After (time, id)" is
    two ranges, the rest of the rows at that very time and the rows after it, because SQLite searches a
    row value like (due_sort, id) > (?, ?) by its first column only, which would walk every row sharing
    the time (all the tasks without a deadline share one).
    """
    ascending = section.descending == backward
    key = section.sort

    def walked(query):
        order = (key.asc(), Task.id.asc()) if ascending else (key.desc(), Task.id.desc())
        return query.order_by(*order).limit(limit)

    def beyond(column, value):
        return column > value if ascending else column < value

    parts = []
    for lane in section.lanes:
        rows = _filtered(select(Task.id.label("id"), key.label("at")).where(lane), user, now, filters)
        if bound is None:
            parts.append(walked(rows))
        else:
            parts.append(walked(rows.where(key == bound.at, beyond(Task.id, bound.id))))
            parts.append(walked(rows.where(beyond(key, bound.at))))
    if not parts:
        return []
    picked = _union(parts)
    order = (picked.c.at.asc(), picked.c.id.asc()) if ascending else (picked.c.at.desc(), picked.c.id.desc())
    query = select(Task).join(picked, Task.id == picked.c.id).order_by(*order).limit(limit)
    return list(session.execute(query).scalars())


def list_count(session: Session, user: User, which: str, now: datetime, filters: InboxFilter = InboxFilter(),
               cap: int = COUNT_CAP) -> int:
    """How many tasks a list holds, counted up to `cap` (a tab shows "999+" beyond), from the list's indexes.

    Each lane is counted in its index's order although order does not matter to a count: without it
    PostgreSQL may read the table from the start until `cap` rows match, which is cheap only while
    most rows belong to the list.
    """
    sections = _sections(user, which)
    if which == "mine":   # one range of the claimed tasks' index holds both sections
        sections = [_Section([and_(Task.assignee == user.username, _OPEN)], Task.due_sort)]
    parts = [_filtered(select(Task.id.label("id")).where(lane), user, now, filters)
             .order_by(section.sort, Task.id).limit(cap)
             for section in sections for lane in section.lanes]
    if not parts:
        return 0
    capped = select(_union(parts).c.id).limit(cap).subquery()
    return session.execute(select(func.count()).select_from(capped)).scalar_one()


def _union(parts: list):
    """The rows of every part (each ordered and limited on its own), as one subquery."""
    if len(parts) == 1:
        return parts[0].subquery()
    # Each part in a subquery of its own: SQLite takes no ORDER BY or LIMIT on a bare member of a UNION.
    return union_all(*(select(*part.subquery().c) for part in parts)).subquery()


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
    if filters.overdue:   # due_sort too: the walk in due order then stops at `now` instead of the list's end
        query = query.where(Task.due_at < now, Task.due_sort < now)
    return query


def _searched(text: str, sees_identity: bool):
    """Case number contains the text; complainant or phone contains it, or equals it for roles that see
    them masked (they find a case by the full name or number they were given, never by guessing parts)."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    number = Case.number.like(pattern, escape="\\")
    if sees_identity:
        return or_(number, Case.complainant.like(pattern, escape="\\"), Case.contact.like(pattern, escape="\\"))
    return or_(number, Case.complainant == text, Case.contact == text)


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
