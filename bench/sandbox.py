"""What the sandbox process boundary costs: expressions/s and general_complaint cases/s, in-process vs boundary.

"In-process" runs the sandbox's interpreter inside this process, as PlanFlow did before
the boundary; "boundary" sends each evaluation to a warm sandbox process (memo off);
"+ memo" is the boundary as PlanFlow runs it, with the memo of expression values
(engine/sandbox/memo.py) answering repeated questions. All run in the same process,
alternating round by round, so the ratios are what to compare: machines here are noisy,
absolute figures are not.

    .venv/bin/python bench/sandbox.py [--cases N] [--rounds R] [--postgres URL]

PostgreSQL is measured when --postgres (or PLANFLOW_BENCH_POSTGRES_URL) names a server;
the bench works in a schema of its own and drops it afterwards.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.throughput import WORKER, persisted_case  # noqa: E402
from engine import sandbox
from engine.calendar.clock import engine_time  # noqa: E402
from engine.calendar.deadlines import EXPRESSION_FUNCTIONS, using_calendar  # noqa: E402
from engine.calendar.working_days import WorkingCalendar  # noqa: E402
from engine.db import create_schema, make_engine, make_session_factory, transaction  # noqa: E402
from engine.people import users  # noqa: E402
from engine.people.roles import ROLES  # noqa: E402
from engine.plans import versions as plans
from engine.sandbox import boundary, interpreter, memo  # noqa: E402

CASE_DATA = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "category": "service",
             "content": "快递延误" * 20, "grade": "general", "compensation_amount": 500,
             **{f"field{i}": f"value {i}" for i in range(25)}}
EXPRESSIONS = [
    ("gateway condition", "eval", 'grade == "urgent"'),
    ("DMN-style cell", "eval", "compensation_amount > 100 and compensation_amount <= 1000"),
    ("timer with working_days()", "eval", "working_days(3)"),
    ("script", "exec", "summary = {'grade': grade, 'amount': compensation_amount * 2}\nlevel = grade.upper()"),
]


def in_process_evaluate(source, data, functions, extra, time_limit):
    limit = sandbox.DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    return interpreter.evaluate(source, data, functions, extra, limit, sandbox.MAX_MEMORY_GROWTH)


def in_process_execute(source, data, functions, extra, time_limit):
    limit = sandbox.DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    results, removed = interpreter.script_changes(source, data, functions, extra, limit, sandbox.MAX_MEMORY_GROWTH)
    interpreter.apply_changes(data, results, removed)


THROUGH_THE_BOUNDARY = boundary.evaluate, boundary.execute
MEMO_ON = memo.SIZE or 4096      # the memo's size when it is on (PLANFLOW_SANDBOX_MEMO_SIZE, unless that is 0)
IN_PROCESS = in_process_evaluate, in_process_execute


@contextlib.contextmanager
def sandbox_mode(functions, memo_size=0):
    """Run every evaluation of the engine (and of this bench) in-process or through the boundary.

    The memo is off unless memo_size says otherwise, and starts empty either way.
    """
    saved, saved_size = (boundary.evaluate, boundary.execute), memo.shared.size
    boundary.evaluate, boundary.execute = functions
    memo.shared.clear()
    memo.shared.resize(memo_size)
    try:
        yield
    finally:
        boundary.evaluate, boundary.execute = saved
        memo.shared.resize(saved_size)


def counted(functions, calls: list):
    """evaluate/execute that append to calls each time they run (to count one case's sandbox calls)."""
    def wrap(function):
        def call(*args):
            calls.append(function.__name__)
            return function(*args)
        return call
    return tuple(wrap(function) for function in functions)


def expression_rate(mode, source, runs) -> float:
    data = dict(CASE_DATA)
    evaluate, execute = boundary.evaluate, boundary.execute
    run = evaluate if mode == "eval" else execute
    started = time.perf_counter()
    for _ in range(runs):
        run(source, data if mode == "eval" else dict(CASE_DATA), EXPRESSION_FUNCTIONS, None, None)
    return runs / (time.perf_counter() - started)


def prepare(url: str, plan_folders):
    engine = make_engine(url)
    create_schema(engine)
    session_factory = make_session_factory(engine)
    now = datetime.now(timezone.utc)
    with transaction(session_factory) as session:
        plans.deploy(session, plans.Bundle.from_paths(plan_folders), "bench", now)
        users.add_user(session, "intake1", ["intake"], "bench")
        users.add_user(session, WORKER, [r for r, role in ROLES.items() if role.works_cases], "bench")
    persisted_case(session_factory, now)   # warm the spec cache, the connection pool and the sandbox processes
    return engine, session_factory, now


def rate(run, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        run()
    return n / (time.perf_counter() - started)


def bench_expressions(runs: int, rounds: int) -> None:
    print(f"expressions/s, {runs} evaluations x {rounds} rounds (medians), case data of {len(CASE_DATA)} fields")
    print(f"  {'':28} {'in-process':>12} {'boundary':>12} {'ratio':>7}")
    with engine_time(datetime.now(timezone.utc)), using_calendar(WorkingCalendar()):
        for label, mode, source in EXPRESSIONS:
            rates = {"in": [], "out": []}
            for _ in range(rounds):
                for key, functions in (("in", IN_PROCESS), ("out", THROUGH_THE_BOUNDARY)):
                    with sandbox_mode(functions):
                        expression_rate(mode, source, 5)
                        rates[key].append(expression_rate(mode, source, runs))
            inside, outside = statistics.median(rates["in"]), statistics.median(rates["out"])
            print(f"  {label:28} {inside:12.0f} {outside:12.0f} {outside / inside:7.2f}")


def bench_memo(runs: int, rounds: int) -> None:
    """Evaluations/s of the same condition asked again and again, memo off against on."""
    print(f"\nrepeated conditions/s through the boundary, {runs} evaluations x {rounds} rounds (medians), "
          f"memo off vs on ({MEMO_ON} entries)")
    print(f"  {'':28} {'memo off':>12} {'memo on':>12} {'ratio':>7}")
    for label, mode, source in EXPRESSIONS[:2]:
        rates = {"off": [], "on": []}
        for _ in range(rounds):
            for key, size in (("off", 0), ("on", MEMO_ON)):
                with sandbox_mode(THROUGH_THE_BOUNDARY, size):
                    expression_rate(mode, source, 5)
                    rates[key].append(expression_rate(mode, source, runs))
        off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
        print(f"  {label:28} {off:12.0f} {on:12.0f} {on / off:7.1f}")


def bench_cases(label: str, url: str, cases_per_round: int, rounds: int, plan_folders) -> None:
    engine, session_factory, now = prepare(url, plan_folders)
    calls = []
    with sandbox_mode(counted(THROUGH_THE_BOUNDARY, calls), MEMO_ON):
        persisted_case(session_factory, now)   # fills the memo as a first case does
        before = sandbox.pool.shared().requests
        persisted_case(session_factory, now)
        trips = sandbox.pool.shared().requests - before
    modes = (("in", IN_PROCESS, 0), ("out", THROUGH_THE_BOUNDARY, 0), ("memo", THROUGH_THE_BOUNDARY, MEMO_ON))
    rates = {key: [] for key, _, _ in modes}
    for _ in range(rounds):
        for key, functions, memo_size in modes:
            with sandbox_mode(functions, memo_size):
                persisted_case(session_factory, now)   # the memo is as full as after the server's first case
                rates[key].append(rate(lambda: persisted_case(session_factory, now), cases_per_round))
    engine.dispose()
    inside, outside, memoised = (statistics.median(rates[key]) for key in ("in", "out", "memo"))
    print(f"  {label:10} {inside:10.1f} {outside:10.1f} {memoised:10.1f} {outside / inside:7.2f} "
          f"{memoised / inside:7.2f}   ({len(calls) // 2} sandbox calls per case, {trips} trips once the memo "
          f"has seen a case; boundary {(1 / outside - 1 / inside) * 1000:+.1f} ms, "
          f"+ memo {(1 / memoised - 1 / inside) * 1000:+.1f} ms per case)")


@contextlib.contextmanager
def postgres_schema(server_url: str):
    schema = f"planflow_bench_{os.getpid()}"
    admin = make_engine(server_url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{server_url}{'&' if '?' in server_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--expressions", type=int, default=2000)
    parser.add_argument("--skip-expressions", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--postgres", default=os.environ.get("PLANFLOW_BENCH_POSTGRES_URL"))
    parser.add_argument("--plans", type=Path, default=ROOT,
                        help="folder holding processes/ and forms/ (default: this checkout)")
    args = parser.parse_args()

    plan_folders = [args.plans / "processes", args.plans / "forms"]
    sandbox.evaluate("1", {})   # start the pool before anything is timed
    if not args.skip_expressions:
        bench_expressions(args.expressions, args.rounds)
        bench_memo(args.expressions, args.rounds)
    print(f"\ngeneral_complaint cases/s, {args.cases} cases x {args.rounds} rounds (medians), "
          f"start + claim + complete of 5 tasks")
    print(f"  {'':10} {'in-process':>10} {'boundary':>10} {'+ memo':>10} {'ratio':>7} {'+ memo':>7}")
    with tempfile.TemporaryDirectory() as folder:
        bench_cases("SQLite", f"sqlite:///{folder}/bench.sqlite3", args.cases, args.rounds, plan_folders)
    if args.postgres:
        with postgres_schema(args.postgres) as url:
            bench_cases("PostgreSQL", url, args.cases, args.rounds, plan_folders)
    else:
        print("  PostgreSQL: not measured (pass --postgres URL)")
    print(f"\nsandbox processes started: {sandbox.pool.shared().started}; "
          f"confinement: {sandbox.protections()['seccomp']}")


if __name__ == "__main__":
    main()
