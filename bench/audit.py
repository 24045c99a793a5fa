"""Audit trail cost and parallelism.

1. What an append costs: transactions of 5 events on one case (SQLite file), µs per event,
   and the Ed25519 signature alone.
2. With PostgreSQL (`--postgres URL`): transactions that append 3 events to a case and then
   hold the transaction 100 ms (the engine work around an append), run by 1 and by 2
   processes on different cases. With one chain-head lock for everything the second
   process adds nothing (ratio ≈ 1); with a chain per case it should come close to 2.

    .venv/bin/python bench/audit.py [--events 2000] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from engine.cases import use_cases as cases  # noqa: E402
from engine.db import create_schema, make_engine, make_session_factory, transaction  # noqa: E402
from engine.people import users
from engine.plans import versions as plans
from engine.records import audit
from engine.records.audit import keys  # noqa: E402

NOW = datetime.now(timezone.utc)
REGISTRATION = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "content": "快递延误"}
HOLD_SECONDS = 0.1


def deployed(url: str, case_count: int) -> tuple:
    factory = make_session_factory(make_engine(url))
    create_schema(factory.kw["bind"])
    with transaction(factory) as session:
        plans.deploy(session, plans.Bundle.from_paths([ROOT / "processes", ROOT / "forms"]), "bench", NOW)
        users.add_user(session, "intake1", ["intake"], "bench")
    ids = []
    for _ in range(case_count):
        with transaction(factory) as session:
            ids.append(cases.start_case(session, "general_complaint", REGISTRATION, "intake1", NOW).id)
    return factory, ids


def append_cost(events: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        factory, [case_id] = deployed(f"sqlite:///{folder}/bench.sqlite3", 1)
        in_record = 0.0
        for _ in range(events // 5):
            with transaction(factory) as session:
                case = cases.lock_case(session, case_id)
                started = time.perf_counter()
                for i in range(5):
                    audit.record(session, audit.EventKind.TASK_CLAIMED, "bench", NOW, case=case, payload={"i": i})
                session.flush()
                in_record += time.perf_counter() - started
        per_event = in_record / (events // 5 * 5) * 1e6
        signer = keys.signer()
        started = time.perf_counter()
        for _ in range(2000):
            signer.sign(b"0" * 64)
        signing = (time.perf_counter() - started) / 2000 * 1e6
        with transaction(factory, readonly=True) as session:
            started = time.perf_counter()
            report = audit.verify_chain(session)
            verifying = (time.perf_counter() - started) / max(report.events_checked, 1) * 1e6
    print(f"append (SQLite, 5 per transaction, record() and the flush of its rows): {per_event:.0f} µs/event; "
          f"of which signing {signing:.0f} µs; verify: {verifying:.0f} µs/event ({report})")


def _writer(url: str, case_id: int, count: int, start, done) -> None:
    factory = make_session_factory(make_engine(url))
    start.wait()
    for _ in range(count):
        with transaction(factory) as session:
            case = cases.lock_case(session, case_id)
            for i in range(3):
                audit.record(session, audit.EventKind.TASK_CLAIMED, "bench", NOW, case=case, payload={"i": i})
            session.flush()
            time.sleep(HOLD_SECONDS)
    done.put(time.monotonic())


def parallel(url: str, count: int, processes: int, case_ids: list[int]) -> float:
    """Transactions per second with `processes` writers, each on its own case."""
    context = multiprocessing.get_context("spawn")
    start, done = context.Event(), context.Queue()
    workers = [context.Process(target=_writer, args=(url, case_ids[i], count, start, done)) for i in range(processes)]
    for worker in workers:
        worker.start()
    time.sleep(2)
    began = time.monotonic()
    start.set()
    ends = [done.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    return processes * count / (max(ends) - began)


def parallel_figures(server_url: str, count: int) -> None:
    schema = "planflow_bench_audit"
    with make_engine(server_url).begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{server_url}{'&' if '?' in server_url else '?'}options=-csearch_path%3D{schema}"
    try:
        _, case_ids = deployed(url, 2)
        one = parallel(url, count, 1, case_ids)
        two = parallel(url, count, 2, case_ids)
        print(f"PostgreSQL, {count} transactions per writer holding {HOLD_SECONDS * 1000:.0f} ms each: "
              f"1 writer {one:.1f}/s, 2 writers {two:.1f}/s, ratio {two / one:.2f}")
    finally:
        make_engine(url).dispose()
        with make_engine(server_url).begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--transactions", type=int, default=30, help="per writer, in the PostgreSQL figure")
    parser.add_argument("--postgres", help="a PostgreSQL URL for the parallel figure")
    args = parser.parse_args()
    append_cost(args.events)
    if args.postgres:
        parallel_figures(args.postgres, args.transactions)


if __name__ == "__main__":
    main()
