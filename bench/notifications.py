"""What notifications cost a case's steps, and what the near-deadline sweep costs as open cases grow.

1. Cases per second through general_complaint (register, then claim and complete five
   tasks) with the notification hook on (bell rows for every holder, a mail row for a user
   with an address, a webhook row) against the hook switched off, in the same process,
   interleaved rounds, medians; on SQLite and, with --postgres or
   PLANFLOW_BENCH_POSTGRES_URL, on PostgreSQL (in a schema of its own, dropped afterwards).
2. One near-deadline sweep with nothing due, with few and with many open tasks waiting for
   their warning: the index keeps it flat.

    .venv/bin/python bench/notifications.py [--cases N] [--rounds R] [--postgres URL]
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
from engine.models import DeadlineWarning, DeadlineWarningStatus, Task  # noqa: E402
from engine.notifications import events, near_deadlines, preferences, webhooks  # noqa: E402
from engine.people import users  # noqa: E402
from engine.people.roles import ROLES  # noqa: E402
from engine.plans import versions as plans  # noqa: E402

os.environ.setdefault("PLANFLOW_SMTP_HOST", "127.0.0.1")  # mail rows are written (nothing is sent here)

from throughput import persisted_case  # noqa: E402 — the same case as the throughput bench walks


def prepared(url: str, now: datetime):
    engine = make_engine(url)
    create_schema(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        plans.deploy(session, plans.Bundle.from_paths([ROOT / "processes", ROOT / "forms"]), "bench", now)
        users.add_user(session, "intake1", ["intake"], "bench")
        users.add_user(session, "all_roles", [r for r, role in ROLES.items() if role.works_cases], "bench")
        for role in ("handler", "office_director", "leadership"):
            users.add_user(session, f"{role}_peer", [role], "bench")
        preferences.set_preferences(session, "all_roles", email="all@example.cn", muted_events=[],
                                    channels=["app", "email"], quiet_from=None, quiet_until=None, daily_digest=False)
        webhooks.add_webhook(session, "duty-room", "http://127.0.0.1:9/robot", "bench", now)
    persisted_case(factory, now)  # warm the spec cache and the pool
    return engine, factory


def rate(run, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        run()
    return n / (time.perf_counter() - started)


def step_figures(label: str, factory, now, cases: int, rounds: int) -> None:
    hook = events.on_step
    on, off = [], []
    try:
        for _ in range(rounds):
            events.on_step = hook
            on.append(rate(lambda: persisted_case(factory, now), cases))
            events.on_step = lambda *args, **kwargs: None
            off.append(rate(lambda: persisted_case(factory, now), cases))
    finally:
        events.on_step = hook
    with_hook, without = statistics.median(on), statistics.median(off)
    print(f"{label}: {cases} cases x {rounds} rounds (medians): notifications on {with_hook:.1f} cases/s, "
          f"off {without:.1f} cases/s, ratio on/off {with_hook / without:.2f}")


def sweep_figures(label: str, factory, now, sizes: list[int], repeats: int = 20) -> None:
    """Time a sweep with nothing due while `size` warnings wait in the future."""
    with transaction(factory, readonly=True) as session:
        case_id = session.execute(select(Task.case_id).limit(1)).scalar_one()
    results, added = [], 0
    for size in sizes:
        with transaction(factory) as session:
            # Open tasks, each with its warning due in 20 days: what many open cases look like to the sweep.
            fresh = range(added, size)
            ids = session.execute(insert(Task).returning(Task.id), [
                {"case_id": case_id, "spiff_task_id": f"bench-{i}", "element_id": "Task_Bench", "name": "bench",
                 "role": "handler", "status": "open", "created_at": now, "due_at": now + timedelta(days=30),
                 "due_sort": now + timedelta(days=30)} for i in fresh]).scalars().all()
            session.execute(insert(DeadlineWarning), [
                {"task_id": task_id, "case_id": case_id, "due_at": now + timedelta(days=30),
                 "warn_at": now + timedelta(days=20), "status": DeadlineWarningStatus.WAITING} for task_id in ids])
        with factory.kw["bind"].begin() as conn:
            conn.execute(text("ANALYZE deadline_warnings"))  # as autovacuum would after a load this size
        added = size
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            near_deadlines.sweep(factory, now)
            times.append(time.perf_counter() - started)
        results.append((size, statistics.median(times) * 1000))
    line = ", ".join(f"{size:,} waiting: {ms:.2f} ms" for size, ms in results)
    print(f"{label}: one near-deadline sweep with nothing due (median of {repeats}): {line}; "
          f"ratio largest/smallest {results[-1][1] / results[0][1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("PLANFLOW_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as folder:
        engine, factory = prepared(f"sqlite:///{folder}/bench.sqlite3", now)
        step_figures("SQLite", factory, now, args.cases, args.rounds)
        sweep_figures("SQLite", factory, now, [1_000, 100_000])
        engine.dispose()
    if args.postgres:
        schema = f"planflow_bench_notify_{os.getpid()}"
        with make_engine(args.postgres).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{args.postgres}{'&' if '?' in args.postgres else '?'}options=-csearch_path%3D{schema}"
        try:
            engine, factory = prepared(url, now)
            step_figures("PostgreSQL", factory, now, args.cases, args.rounds)
            sweep_figures("PostgreSQL", factory, now, [1_000, 100_000])
            engine.dispose()
        finally:
            with make_engine(args.postgres).begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


if __name__ == "__main__":
    main()
