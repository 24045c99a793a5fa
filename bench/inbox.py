"""Inbox speed: the queue of a role with 1,000 vs 100,000 open cases, in the same run.

Times the queue query (first page) and the rendered queue page. Rows are bulk-inserted
(cases with their open task rows, as the engine leaves them) because only the read
path is measured here; creating 100,000 cases through the engine would take an hour.
Target: ratio (100,000 / 1,000) ≤ 1.5 — the cost must not grow with the number of cases.

    .venv/bin/python bench/inbox.py [--small 1000] [--large 100000]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from engine.db import create_schema, make_engine, make_session_factory, transaction  # noqa: E402
from engine.models import Case, CaseStatus, PlanVersion, Task, TaskStatus  # noqa: E402
from engine.people import users  # noqa: E402
from engine.plans import versions as plans
from engine.views import inbox
from webapp import create_app  # noqa: E402

NOW = datetime.now(timezone.utc)


def populate(session_factory, open_cases: int) -> None:
    with transaction(session_factory) as session:
        plans.deploy(session, plans.Bundle.from_paths([ROOT / "processes", ROOT / "forms"]), "bench", NOW)
        users.add_user(session, "handler1", ["handler"], "bench")
        version_id = session.execute(select(PlanVersion.id).where(PlanVersion.plan_key == "general_complaint")
                                     ).scalar_one()
    batch = 5000
    for start in range(0, open_cases, batch):
        count = min(batch, open_cases - start)
        with transaction(session_factory) as session:
            session.execute(insert(Case), [{
                "id": start + i + 1, "number": f"TS-2026-{start + i + 1:06d}", "plan_version_id": version_id,
                "status": CaseStatus.RUNNING, "started_by": "intake1", "started_at": NOW - timedelta(hours=i % 72),
                "workflow_state": {}, "serializer_version": "1.5", "library_version": "3.2.0", "revision": 1,
                "grade": ("general", "major", "urgent")[i % 3], "complainant": "王女士", "contact": "13800000000",
            } for i in range(count)])
            session.execute(insert(Task), [{
                "case_id": start + i + 1, "spiff_task_id": f"00000000-0000-0000-0000-{start + i + 1:012d}",
                "element_id": "Task_VerifyNegotiate", "name": "核实与协商", "name_en": "Verify and negotiate",
                "role": "handler", "form_key": "gc_answer", "status": TaskStatus.OPEN,
                "created_at": NOW - timedelta(hours=i % 72), "due_at": NOW + timedelta(minutes=(i * 37) % 10000),
                "due_sort": NOW + timedelta(minutes=(i * 37) % 10000), "due_provisional": False,
            } for i in range(count)])


def median_ms(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(open_cases: int, folder: str, repeat: int) -> tuple[float, float]:
    engine = make_engine(f"sqlite:///{folder}/inbox-{open_cases}.sqlite3")
    create_schema(engine)
    session_factory = make_session_factory(engine)
    populate(session_factory, open_cases)

    def query():
        with transaction(session_factory, readonly=True) as session:
            user = users.get_user(session, "handler1")
            page = inbox.task_list(session, user, "queue", NOW)
            assert len(page.tasks) == 50 and page.has_next

    app = create_app({"SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}, session_factory=session_factory)
    client = app.test_client()
    client.post("/login", data={"username": "handler1", "password": "bench"})

    def page():
        response = client.get("/?list=queue")
        assert response.status_code == 200 and response.data.count(b"data-task-id") == 50

    query(), page()  # warm caches and connections
    result = median_ms(query, repeat), median_ms(page, repeat)
    engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        small = measure(args.small, folder, args.repeat)
        large = measure(args.large, folder, args.repeat)
    print(f"handler queue, first page of 50, medians of {args.repeat} (SQLite)")
    print(f"  {'open cases':>12} {'query ms':>10} {'page ms':>10}")
    print(f"  {args.small:>12,} {small[0]:>10.2f} {small[1]:>10.2f}")
    print(f"  {args.large:>12,} {large[0]:>10.2f} {large[1]:>10.2f}")
    print(f"  ratio large/small: query {large[0] / small[0]:.2f}, page {large[1] / small[1]:.2f} (target ≤ 1.5)")


if __name__ == "__main__":
    main()
