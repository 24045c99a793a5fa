"""Inbox pages by cursor: every row once and in order while the list changes, clear refusals of foreign
cursors, and query plans that read the lists' indexes (not the whole table) once the table is large."""
from __future__ import annotations

import base64
import json
import random
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text, update

from engine.models import NO_DEADLINE, Task, TaskStatus
from engine.people import users
from engine.views import inbox
from engine.views.cursor import BadCursor
from tests.engine.task_rows import insert_tasks

WALKER = "walker1"


@pytest.fixture
def walker(desk):
    """A user holding two roles, so the queue merges two index ranges."""
    desk.do(users.add_user, WALKER, ["handler", "intake"], "secret")
    return desk


def read_page(desk, which: str, cursor: str | None, per_page: int, username: str = WALKER) -> inbox.InboxPage:
    def read(session):
        user = users.get_user(session, username)
        return inbox.task_list(session, user, which, desk.now, inbox.InboxFilter(cursor=cursor, per_page=per_page))
    return desk.do(read)


def list_order(desk, which: str, ids) -> list[int]:
    """`ids` in the order the list promises: escalated first, then soonest due, then id (done: latest first)."""
    def keys(session):
        tasks = session.execute(select(Task).where(Task.id.in_(list(ids)))).scalars()
        if which == "done":
            return sorted(tasks, key=lambda t: (t.completed_at, t.id), reverse=True)
        return sorted(tasks, key=lambda t: (t.escalated_from is None, t.due_sort, t.id))
    return [t.id for t in desk.do(keys)]


def row_maker(desk, which: str, rng: random.Random):
    """New rows for list `which`, crowded onto a few due (or completion) times so ties are many."""
    moments = [desk.now + timedelta(hours=h) for h in (1, 2, 3)] + [NO_DEADLINE]
    done_at = [desk.now - timedelta(minutes=m) for m in (0, 5, 10)]

    def make(count: int) -> list[dict]:
        rows = []
        for _ in range(count):
            row = {"role": rng.choice(["handler", "intake"]), "due_sort": rng.choice(moments),
                   "escalated_from": "Task_Missed" if rng.random() < 0.2 else None}
            if which == "mine":
                row["assignee"] = WALKER
            if which == "done":
                row.update(status=TaskStatus.COMPLETED, assignee=WALKER, completed_by=WALKER,
                           completed_at=rng.choice(done_at))
            rows.append(row)
        return rows
    return make


def take_off_list(desk, which: str, ids: list[int]) -> None:
    """The rows leave the list: completed by someone (for done: the completion is handed to another user)."""
    values = {"completed_by": "someone"} if which == "done" else \
        {"status": TaskStatus.COMPLETED, "completed_by": "someone", "completed_at": desk.now}
    desk.do(lambda s: s.execute(update(Task).where(Task.id.in_(ids)).values(**values)))


@pytest.mark.parametrize("which", inbox.LISTS)
def test_a_walk_by_cursor_shows_every_row_once_in_list_order_while_rows_come_and_go(walker, which):
    desk, rng = walker, random.Random(16)
    make = row_maker(desk, which, rng)
    initial = desk.do(insert_tasks, desk.now, make(60))
    seen, gone, cursor = [], set(), None
    while True:
        page = read_page(desk, which, cursor, per_page=7)
        seen += [t.id for t in page.tasks]
        if not page.has_next:
            break
        cursor = page.next_cursor
        added = desk.do(insert_tasks, desk.now, make(3))   # some land before the cursor, some after
        leaving = rng.sample(sorted(set(initial + added) - gone), 2)
        take_off_list(desk, which, leaving)
        gone |= set(leaving)
    assert len(seen) == len(set(seen)), "no row twice"
    assert set(initial) - gone <= set(seen), "every row that stayed on the list was shown"
    assert seen == list_order(desk, which, seen), "in the list's order, across page boundaries"


@pytest.mark.parametrize("which", inbox.LISTS)
def test_previous_pages_walk_back_to_the_first_page(walker, which):
    desk = walker
    desk.do(insert_tasks, desk.now, row_maker(desk, which, random.Random(7))(23))
    forward, page = [], read_page(desk, which, None, per_page=5)
    assert page.previous_cursor is None
    while True:
        forward.append([t.id for t in page.tasks])
        if not page.has_next:
            break
        page = read_page(desk, which, page.next_cursor, per_page=5)
    assert [len(p) for p in forward] == [5, 5, 5, 5, 3]
    backward = []
    while page.has_previous:
        page = read_page(desk, which, page.previous_cursor, per_page=5)
        backward.append([t.id for t in page.tasks])
    assert backward == forward[-2::-1]


def test_going_back_past_rows_that_left_shows_a_whole_first_page(walker):
    desk = walker
    ids = desk.do(insert_tasks, desk.now, [{"role": "handler", "due_sort": desk.now + timedelta(hours=h)}
                                           for h in range(1, 11)])
    second = read_page(desk, "queue", read_page(desk, "queue", None, per_page=4).next_cursor, per_page=4)
    take_off_list(desk, "queue", ids[:2])
    first = read_page(desk, "queue", second.previous_cursor, per_page=4)
    assert [t.id for t in first.tasks] == ids[2:6] and first.previous_cursor is None


def _forged(fields) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "not-a-cursor", "%%%", "é", "x" * 500, _forged({"a": 1}), _forged([1, "queue", 0, "2026-03-02T01:00:00", 5, 0]),
    _forged([1, "queue", 2, "2026-03-02T01:00:00+00:00", 5, 0]), _forged([1, "queue", 0, "yesterday", 5, 0]),
    _forged([1, "queue", 0, "2026-03-02T01:00:00+00:00", 2**40, 0]), _forged([2, "queue", 0, "2026-03-02", 5, 0]),
    _forged([1, "queue", 0, "2026-03-02T01:00:00+00:00", "5", 0]),
])
def test_a_cursor_the_list_did_not_give_out_is_refused_by_name(walker, cursor):
    with pytest.raises(BadCursor, match="not one the 'queue' list gave out"):
        read_page(walker, "queue", cursor, per_page=5)


def test_a_cursor_of_another_list_is_refused(walker):
    desk = walker
    desk.do(insert_tasks, desk.now, [{"role": "handler"} for _ in range(3)])
    cursor = read_page(desk, "queue", None, per_page=1).next_cursor
    assert read_page(desk, "queue", cursor, per_page=1).tasks
    with pytest.raises(BadCursor, match="'mine' list"):
        read_page(desk, "mine", cursor, per_page=1)
    with pytest.raises(BadCursor, match="'done' list"):
        read_page(desk, "done", cursor.replace("queue", "done"), per_page=1)


# --- the query plans, at a size where a full scan or a sort would show ------------------------------------------

LARGE = 20_000


def large_inbox(desk, analyzed: bool) -> None:
    """A deep handler queue (ties on the due time included), a few escalations, other roles' work,
    and many tasks claimed and completed by handler1 and others; then, if `analyzed`, fresh planner
    statistics (without, the planner goes by its defaults, as on a new database)."""
    rng = random.Random(5)
    moments = [desk.now + timedelta(minutes=rng.randrange(0, 20_000)) for _ in range(2_000)] + [NO_DEADLINE]
    rows = [{"role": "handler", "due_sort": rng.choice(moments)} for _ in range(LARGE)]
    rows += [{"role": "handler", "due_sort": rng.choice(moments), "escalated_from": "Task_Missed"}
             for _ in range(20)]
    rows += [{"role": rng.choice(["intake", "legal", "pr"]), "due_sort": rng.choice(moments)} for _ in range(5_000)]
    for who in ("handler1", "handler2", "handler3"):
        rows += [{"role": "handler", "due_sort": rng.choice(moments), "assignee": who} for _ in range(1_000)]
        rows += [{"role": "handler", "due_sort": rng.choice(moments), "assignee": who,
                  "escalated_from": "Task_Missed"} for _ in range(5)]
        rows += [{"role": "handler", "status": TaskStatus.COMPLETED, "assignee": who, "completed_by": who,
                  "completed_at": desk.now - timedelta(minutes=rng.randrange(0, 50_000))} for _ in range(3_000)]
    for start in range(0, len(rows), 5_000):
        desk.do(insert_tasks, desk.now, rows[start:start + 5_000])
    if analyzed:
        desk.do(lambda session: session.execute(text("ANALYZE")))


def planned_statements(desk, read) -> list[tuple[str, object]]:
    """The SQL statements `read(session)` sends that read the tasks table."""
    bind = desk.session_factory.kw["bind"]
    sent = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if " tasks" in statement and not statement.startswith("EXPLAIN"):
            sent.append((statement, parameters))
    event.listen(bind, "before_cursor_execute", capture)
    try:
        desk.do(read)
    finally:
        event.remove(bind, "before_cursor_execute", capture)
    return sent


def plan_problems(session, statement: str, parameters, index: str) -> dict[str, list[str]]:
    """What in the statement's plan grows with the table, by kind: a full scan of tasks ("scan"), a sort of
    more than the merged page ("sort"), tasks read without `index` ("index")."""
    if session.bind.dialect.name == "sqlite":
        steps = session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        details = [detail for _, _, _, detail in steps]
        return {"scan": [d for d in details if d.startswith("SCAN tasks")],
                # Only the merge of the lanes' few rows may be sorted: a sort inside a subquery is a lane's rows.
                "sort": [d for _, parent, _, d in steps if "TEMP B-TREE" in d and parent],
                "index": [] if any(index in d for d in details) else details}
    plan = session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()
    nodes = list(_plan_nodes(plan[0]["Plan"]))
    return {"scan": [n["Node Type"] for n in nodes if n.get("Relation Name") == "tasks" and "Seq" in n["Node Type"]],
            "sort": [str(n.get("Sort Key")) for n in nodes if n["Node Type"] == "Sort"
                     and not any(m["Node Type"] == "Limit" for m in _plan_nodes(n))],
            "index": [] if any(n.get("Index Name") == index for n in nodes) else
            [f"{n['Node Type']} {n.get('Index Name') or ''}" for n in nodes]}


def _plan_nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


LISTS = [("queue", "ix_tasks_queue_due"), ("mine", "ix_tasks_claimed"), ("done", "ix_tasks_done")]


def test_each_list_reads_its_index_in_order_without_and_with_statistics(desk):
    # One large inbox per database, read first as a new database's planner sees it, then after ANALYZE.
    large_inbox(desk, analyzed=False)
    for analyzed in (False, True):
        if analyzed:
            desk.do(lambda session: session.execute(text("ANALYZE")))
        for which, index in LISTS:
            check_list_plan(desk, which, index, analyzed)


def check_list_plan(desk, which: str, index: str, analyzed: bool) -> None:
    def read_three_pages(session):
        user = users.get_user(session, "handler1")
        first = inbox.task_list(session, user, which, desk.now, inbox.InboxFilter(per_page=50))
        second = inbox.task_list(session, user, which, desk.now, inbox.InboxFilter(cursor=first.next_cursor))
        inbox.task_list(session, user, which, desk.now, inbox.InboxFilter(cursor=second.previous_cursor))
        inbox.list_count(session, user, which, desk.now)
    statements = planned_statements(desk, read_three_pages)
    assert len(statements) >= 4
    for statement, parameters in statements:
        problems = desk.do(plan_problems, statement, parameters, index)
        if "escalated_from IS NOT NULL" in statement and which == "queue":   # a few rows, in an index of their own
            problems = desk.do(plan_problems, statement, parameters, "ix_tasks_queue_escalated")
        elif "escalated_from IS NOT NULL" in statement:   # a few of the user's own rows: any index will do
            problems = {"scan": problems["scan"]}
        elif "count(*)" in statement:   # a count needs its rows, not their order
            problems.pop("sort")
        if not analyzed and desk.session_factory.kw["bind"].dialect.name == "postgresql":
            # PostgreSQL without statistics (before autovacuum's first ANALYZE) goes by defaults that vary
            # with what else the server is doing: it may pick another index and sort a page, or (to count a
            # user's claimed tasks) read the table. Only after ANALYZE, checked next, must it use the index.
            continue
        assert not any(problems.values()), f"{which}, {'after' if analyzed else 'without'} ANALYZE: " \
                                            f"{statement}\n{problems}"
