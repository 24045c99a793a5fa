"""Inbox speed: a queue of 100,000 open tasks against one of 1,000, interleaved, on SQLite and PostgreSQL.

Two databases are filled for each backend, one per size, and the planner statistics are
refreshed (ANALYZE). Then rounds alternate between them, each round timing every measure once
on each size (which size goes first alternates too), so load from elsewhere on the machine falls
on both alike. Measured: the engine's queue page (first page, and a page from a cursor halfway
down), the tab counts, the rendered inbox page and the API list. Rows are bulk-inserted (cases
with their task rows, as the engine leaves them: open, claimed, escalated, done, other roles')
because only the read path is measured; creating 100,000 cases through the engine would take an
hour. Target: every ratio (100,000 / 1,000) ≤ 1.5 — the cost must not grow with the queue.

PostgreSQL: PLANFLOW_BENCH_POSTGRES_URL, else PLANFLOW_TEST_POSTGRES_URL; the bench works in a
schema of its own and drops it at the end. Without either, SQLite only.

    .venv/bin/python bench/inbox.py [--small 1000] [--large 100000] [--rounds 15] [--backend sqlite]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from engine.db import create_schema, make_engine, make_session_factory, transaction  # noqa: E402
from engine.models import NO_DEADLINE, Case, CaseStatus, PlanVersion, Task, TaskStatus  # noqa: E402
from engine.people import tokens, users  # noqa: E402
from engine.plans import versions as plans  # noqa: E402
from engine.views import inbox  # noqa: E402
from engine.views.cursor import Cursor  # noqa: E402
from webapp import create_app  # noqa: E402

NOW = datetime.now(timezone.utc).replace(microsecond=0)
PER_PAGE = 50
MEASURES = ("engine: first page", "engine: page from a cursor", "engine: tab counts", "inbox page (HTTP)",
            "API list (HTTP)")


def task_rows(open_tasks: int) -> list[dict]:
    """The handler queue (due times crowded onto 2,000 moments, some without a deadline), a few escalated,
    tasks claimed by handler1, tasks handler1 completed and other roles' work, in proportion to the queue."""
    rows = []
    for i in range(open_tasks):
        due = NO_DEADLINE if i % 20 == 0 else NOW + timedelta(minutes=(i * 37) % 2000 * 5)
        rows.append({"role": "handler", "due_sort": due})
    rows += [{"role": "handler", "due_sort": NOW + timedelta(hours=i), "escalated_from": "Task_Missed"}
             for i in range(5)]
    rows += [{"role": "handler", "due_sort": NOW + timedelta(hours=i), "assignee": "handler1"} for i in range(20)]
    rows += [{"role": "handler", "status": TaskStatus.COMPLETED, "assignee": "handler1", "completed_by": "handler1",
              "completed_at": NOW - timedelta(minutes=i)} for i in range(open_tasks // 2)]
    rows += [{"role": ("intake", "legal", "pr")[i % 3], "due_sort": NOW + timedelta(minutes=i)}
             for i in range(open_tasks // 10)]
    return rows


def populate(session_factory, open_tasks: int) -> None:
    with transaction(session_factory) as session:
        plans.deploy(session, plans.Bundle.from_paths([ROOT / "processes", ROOT / "forms"]), "bench", NOW)
        users.add_user(session, "handler1", ["handler"], "bench")
        version_id = session.execute(select(PlanVersion.id).where(PlanVersion.plan_key == "general_complaint")
                                     ).scalar_one()
    rows, batch = task_rows(open_tasks), 5000
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        with transaction(session_factory) as session:
            session.execute(insert(Case), [{
                "id": start + i + 1, "number": f"TS-2026-{start + i + 1:07d}", "plan_version_id": version_id,
                "status": CaseStatus.RUNNING, "started_by": "intake1", "started_at": NOW - timedelta(hours=i % 72),
                "workflow_state": {}, "serializer_version": "1.5", "library_version": "3.2.0", "revision": 1,
                "grade": ("general", "major", "urgent")[i % 3], "complainant": "王女士", "contact": "13800000000",
            } for i in range(len(chunk))])
            session.execute(insert(Task), [{
                "case_id": start + i + 1, "spiff_task_id": f"00000000-0000-0000-0000-{start + i + 1:012d}",
                "element_id": "Task_VerifyNegotiate", "name": "核实与协商", "name_en": "Verify and negotiate",
                "form_key": "gc_answer", "status": TaskStatus.OPEN, "created_at": NOW - timedelta(hours=i % 72),
                "due_provisional": False, **row,
                "due_at": None if row.get("due_sort", NO_DEADLINE) == NO_DEADLINE else row["due_sort"],
                "due_sort": row.get("due_sort", NO_DEADLINE),
            } for i, row in enumerate(chunk)])


class Inbox:
    """One filled database and the ways of reading its queue."""

    def __init__(self, url: str, open_tasks: int):
        self.open_tasks = open_tasks
        self.engine = make_engine(url)
        create_schema(self.engine)
        self.sessions = make_session_factory(self.engine)
        populate(self.sessions, open_tasks)
        with self.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
        self.halfway = self._halfway_cursor()
        app = create_app({"SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}, session_factory=self.sessions)
        self.client = app.test_client()
        self.client.post("/login", data={"username": "handler1", "password": "bench"})
        with transaction(self.sessions) as session:
            self.headers = {"Authorization": f"Bearer {tokens.create_token(session, 'handler1', NOW)}"}

    def _halfway_cursor(self) -> str:
        with transaction(self.sessions, readonly=True) as session:
            due, task_id = session.execute(
                select(Task.due_sort, Task.id).where(Task.role == "handler", Task.status == TaskStatus.OPEN,
                                                     Task.assignee.is_(None), Task.escalated_from.is_(None))
                .order_by(Task.due_sort, Task.id).offset(self.open_tasks // 2).limit(1)).one()
        return Cursor("queue", 1, due, task_id, backward=False).encode()

    def run(self, measure: str) -> None:
        if measure.startswith("engine"):
            with transaction(self.sessions, readonly=True) as session:
                user = users.get_user(session, "handler1")
                if measure == "engine: tab counts":
                    assert inbox.list_count(session, user, "queue", NOW) == min(self.open_tasks + 5, inbox.COUNT_CAP)
                    inbox.list_count(session, user, "mine", NOW)
                    return
                cursor = self.halfway if measure == "engine: page from a cursor" else None
                page = inbox.task_list(session, user, "queue", NOW, inbox.InboxFilter(cursor=cursor))
                assert len(page.tasks) == PER_PAGE and page.has_next
        elif measure == "inbox page (HTTP)":
            response = self.client.get("/?list=queue")
            assert response.status_code == 200 and response.data.count(b"data-task-id") == PER_PAGE
        else:
            response = self.client.get("/api/v1/tasks?list=queue", headers=self.headers)
            assert response.status_code == 200 and len(response.get_json()["tasks"]) == PER_PAGE

    def close(self) -> None:
        self.engine.dispose()


def timed_ms(action) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def compare(small: Inbox, large: Inbox, rounds: int) -> dict[str, tuple[float, float]]:
    """Median ms per measure for (small, large), over interleaved rounds."""
    times = {(measure, size): [] for measure in MEASURES for size in ("small", "large")}
    for measure in MEASURES:   # warm caches, compiled statements and connections
        small.run(measure), large.run(measure)
    for round_number in range(rounds):
        order = (("small", small), ("large", large)) if round_number % 2 == 0 else (("large", large), ("small", small))
        for measure in MEASURES:
            for size, box in order:
                times[(measure, size)].append(timed_ms(lambda: box.run(measure)))
    return {m: (statistics.median(times[(m, "small")]), statistics.median(times[(m, "large")])) for m in MEASURES}


def report(backend: str, sizes: tuple[int, int], rounds: int, medians: dict) -> list[float]:
    print(f"\n{backend}: handler queue, page of {PER_PAGE}, medians of {rounds} interleaved rounds, after ANALYZE")
    print(f"  {'':30} {f'{sizes[0]:,} ms':>12} {f'{sizes[1]:,} ms':>12} {'ratio':>7}")
    ratios = []
    for measure, (small, large) in medians.items():
        ratios.append(large / small)
        print(f"  {measure:30} {small:12.2f} {large:12.2f} {large / small:7.2f}")
    return ratios


def postgres_url() -> str | None:
    return os.environ.get("PLANFLOW_BENCH_POSTGRES_URL") or os.environ.get("PLANFLOW_TEST_POSTGRES_URL")


def bench_backend(backend: str, args, folder: str) -> list[float]:
    if backend == "sqlite":
        small = Inbox(f"sqlite:///{folder}/inbox-small.sqlite3", args.small)
        large = Inbox(f"sqlite:///{folder}/inbox-large.sqlite3", args.large)
        try:
            return report("SQLite", (args.small, args.large), args.rounds, compare(small, large, args.rounds))
        finally:
            small.close(), large.close()
    server = postgres_url()
    schemas = [f"planflow_bench_inbox_{os.getpid()}_{size}" for size in ("small", "large")]
    admin = make_engine(server)
    boxes = []
    try:
        with admin.begin() as connection:
            for schema in schemas:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                connection.execute(text(f"CREATE SCHEMA {schema}"))
        for schema, size in zip(schemas, (args.small, args.large)):
            joiner = "&" if "?" in server else "?"
            boxes.append(Inbox(f"{server}{joiner}options=-csearch_path%3D{schema}", size))
        return report("PostgreSQL", (args.small, args.large), args.rounds, compare(*boxes, args.rounds))
    finally:
        for box in boxes:
            box.close()
        with admin.begin() as connection:
            for schema in schemas:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append",
                        help="repeat for both (default: SQLite, and PostgreSQL when a URL is set)")
    args = parser.parse_args()
    backends = args.backend or (["sqlite", "postgresql"] if postgres_url() else ["sqlite"])
    if "postgresql" in backends and not postgres_url():
        parser.error("set PLANFLOW_BENCH_POSTGRES_URL (or PLANFLOW_TEST_POSTGRES_URL) for PostgreSQL")
    ratios = []
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            ratios += bench_backend(backend, args, folder)
    print(f"\nworst ratio {max(ratios):.2f} (target ≤ 1.5)")


if __name__ == "__main__":
    main()
