"""Timer workers: drain rate with 1, 2 and 4 worker processes, sweep cost at 100,000 vs 100 waiting
timers with and without planner statistics, and how late timers fire at the default poll interval.

- Drain (PostgreSQL): sets of due timers are parked, the worker processes (`planflow worker`) are
  started and seen sweeping, then one set is released; the drain time runs from the release to the
  last `fired_at`. Worker counts are interleaved across rounds (1, 2, 4 then 4, 2, 1 …); medians.
  Every timer must fire exactly once (its TIMER_FIRED events are counted).
- Sweep cost (SQLite and PostgreSQL): one `timers.sweep` when nothing is due, over a table of 100
  vs 100,000 waiting timers, rounds interleaved, medians; first without statistics (PostgreSQL's
  autovacuum is off for the table), then after ANALYZE.
- Lateness (SQLite and PostgreSQL): one worker at the default poll interval while timers come due
  one after another; fired_at − due_at.

Targets (issue 16): 2 workers ≥ 1.7× the drain rate of 1, none fired twice; sweep cost ratio ≤ 1.5;
lateness p99 ≤ 1.5 s. The drain's ratios are bounded by the machine's cores and by whatever else
runs on it: the figures are printed with the core count and load average.

    .venv/bin/python bench/timers.py [--timers 300] [--rounds 2] [--large 100000] [--only drain,sweep,lateness]

PostgreSQL: PLANFLOW_BENCH_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
each store is a schema of this run's own, dropped at the end.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text, update  # noqa: E402

from engine.calendar.clock import utcnow  # noqa: E402
from engine.cases import timers  # noqa: E402
from engine.cases import use_cases as cases  # noqa: E402
from engine.db import create_schema, make_engine, make_session_factory, transaction  # noqa: E402
from engine.models import AuditEvent, Timer, TimerStatus, WorkerHeartbeat  # noqa: E402
from engine.people import users  # noqa: E402
from engine.plans import versions as plans  # noqa: E402

POSTGRES_URL = os.environ.get("PLANFLOW_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PARKED = datetime(9000, 1, 1, tzinfo=timezone.utc)
APP_NAME = f"planflow-bench-timers-{os.getpid()}"  # the workers' PostgreSQL connections, to watch their waits
DEADLINE = timedelta(hours=1)
PLAN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_TimerBench"
    targetNamespace="http://planflow.bench">
  <bpmn:process id="timer_bench" name="Timer bench" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_Handler" name="handler">
        <bpmn:flowNodeRef>Start_Case</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Answer</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_Case</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_Director" name="office_director"><bpmn:flowNodeRef>Task_Escalated</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="Start_Case"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Answer" name="Answer" camunda:formKey="bench_note"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="Timer_Deadline" attachedToRef="Task_Answer">
      <bpmn:outgoing>Flow_Late</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Task_Escalated" name="Escalated" camunda:formKey="bench_note"><bpmn:incoming>Flow_Late</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End_Case"><bpmn:incoming>Flow_2</bpmn:incoming><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start_Case" targetRef="Task_Answer"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_Answer" targetRef="End_Case"/>
    <bpmn:sequenceFlow id="Flow_Late" sourceRef="Timer_Deadline" targetRef="Task_Escalated"/>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_Escalated" targetRef="End_Case"/>
  </bpmn:process>
</bpmn:definitions>"""
FORMS = {"bench_note": {"components": [{"id": "note", "key": "note", "type": "textfield", "label": "Note"}]}}


class Store:
    """A fresh PlanFlow database with the bench plan deployed: a SQLite file, or a PostgreSQL schema."""

    def __init__(self, backend: str, tag: str, folder: str):
        self.backend = backend
        if backend == "sqlite":
            self.url = f"sqlite:///{folder}/timers-{tag}.sqlite3"
        else:
            self.schema = f"bench_timers_{os.getpid()}_{tag}"
            with make_engine(POSTGRES_URL).begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
                conn.execute(text(f"CREATE SCHEMA {self.schema}"))
            joiner = "&" if "?" in POSTGRES_URL else "?"
            self.url = f"{POSTGRES_URL}{joiner}options=-csearch_path%3D{self.schema}"
        self.engine = make_engine(self.url)
        create_schema(self.engine)
        self.session_factory = make_session_factory(self.engine)
        now = utcnow()
        with transaction(self.session_factory) as session:
            bundle = plans.Bundle({"timer_bench.bpmn": PLAN}, {}, FORMS, [])
            plans.deploy(session, bundle, "bench", now)
            users.add_user(session, "handler1", ["handler"], "bench-password")
            users.add_user(session, "director1", ["office_director"], "bench-password")

    def close(self) -> None:
        self.engine.dispose()
        if self.backend != "sqlite":
            with make_engine(POSTGRES_URL).begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))

    def start_cases(self, started: list[datetime]) -> list[int]:
        """One case per start time (its timer is due an hour later); their ids."""
        ids = []
        for first in range(0, len(started), 25):
            with transaction(self.session_factory) as session:
                ids += [cases.start_case(session, "timer_bench", {}, "handler1", moment).id
                        for moment in started[first:first + 25]]
        return ids

    def count(self, query) -> int:
        with transaction(self.session_factory, readonly=True) as session:
            return session.execute(query).scalar_one()


@contextlib.contextmanager
def stores(backend: str, tags: list[str]):
    folder = tempfile.mkdtemp(prefix="planflow-bench-timers-")
    made = []
    try:
        for tag in tags:
            made.append(Store(backend, tag, folder))
        yield made
    finally:
        for store in made:
            store.close()
        shutil.rmtree(folder, ignore_errors=True)


# --- worker processes -----------------------------------------------------------------------------

def start_workers(store: Store, n: int, interval: float | None) -> list[subprocess.Popen]:
    """`planflow worker` processes (webapp.cli is the installed `planflow` script)."""
    command = [sys.executable, "-m", "webapp.cli", "worker"]
    if interval is not None:
        command += ["--interval", str(interval)]
    env = {**os.environ, "PLANFLOW_DATABASE_URL": store.url, "PGAPPNAME": APP_NAME}
    env.pop("PLANFLOW_WORKER_INTERVAL", None)
    return [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for _ in range(n)]


def wait_until_sweeping(store: Store, workers: list[subprocess.Popen], timeout: float = 120.0) -> None:
    """Until every worker has written its heartbeat (it has finished a sweep)."""
    pids = [w.pid for w in workers]
    deadline = time.monotonic() + timeout
    while store.count(select(func.count()).select_from(WorkerHeartbeat).where(WorkerHeartbeat.pid.in_(pids))) < len(pids):
        dead = [w for w in workers if w.poll() is not None]
        if dead:
            raise RuntimeError(f"a worker exited: {dead[0].stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start sweeping in time")
        time.sleep(0.05)


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def cpu_seconds(workers: list[subprocess.Popen]) -> float | None:
    """CPU time the worker processes have used so far (Linux /proc; None elsewhere)."""
    total = 0
    try:
        for worker in workers:
            fields = Path(f"/proc/{worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])   # utime, stime
    except (OSError, IndexError, ValueError):
        return None
    return total / os.sysconf("SC_CLK_TCK")


def backend_waits(store: Store) -> tuple[int, int]:
    """(the workers' connections running a statement, those of them waiting for a lock) right now."""
    with store.engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT count(*) FILTER (WHERE state = 'active'), "
            "count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock') "
            "FROM pg_stat_activity WHERE application_name = :app"), {"app": APP_NAME}).one())


def fired_once(store: Store, case_ids: list[int]) -> tuple[int, int]:
    """(timers fired, timers with more than one TIMER_FIRED event) among the cases."""
    with transaction(store.session_factory, readonly=True) as session:
        per_case = session.execute(select(AuditEvent.case_id, func.count(AuditEvent.seq))
                                   .where(AuditEvent.kind == "timer_fired", AuditEvent.case_id.in_(case_ids))
                                   .group_by(AuditEvent.case_id)).all()
    return len(per_case), sum(1 for _, n in per_case if n > 1)


# --- drain ---------------------------------------------------------------------------------------

def drain(n_timers: int, rounds: int, counts=(1, 2, 4), interval: float = 0.1) -> None:
    print(f"\nDrain on PostgreSQL: {n_timers} due timers per run, `planflow worker --interval {interval:g}`, "
          f"{rounds} round(s) interleaved")
    plan = [k for r in range(rounds) for k in (counts if r % 2 == 0 else tuple(reversed(counts)))]
    with stores("postgresql", ["drain"]) as (store,):
        started = time.perf_counter()
        long_ago = utcnow() - 2 * DEADLINE
        sets = [store.start_cases([long_ago] * n_timers) for _ in plan]
        with transaction(store.session_factory) as session:
            session.execute(update(Timer).values(fire_at=PARKED))
        print(f"  {len(plan) * n_timers} cases started in {time.perf_counter() - started:.0f} s; "
              f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}")
        rates: dict[int, list[float]] = {k: [] for k in counts}
        for k, case_ids in zip(plan, sets):
            workers = start_workers(store, k, interval)
            try:
                wait_until_sweeping(store, workers)
                cpu_before = cpu_seconds(workers)
                released = utcnow()
                with transaction(store.session_factory) as session:
                    session.execute(update(Timer).where(Timer.case_id.in_(case_ids)).values(fire_at=Timer.due_at))
                waiting = select(func.count(Timer.id)).where(Timer.case_id.in_(case_ids),
                                                             Timer.status == TimerStatus.WAITING)
                limit = time.monotonic() + 600
                active = lock_waits = 0
                while store.count(waiting) and time.monotonic() < limit:
                    sampled = backend_waits(store)
                    active, lock_waits = active + sampled[0], lock_waits + sampled[1]
                    time.sleep(0.1)
                cpu_after = cpu_seconds(workers)
            finally:
                stop_workers(workers)
            last = store.count(select(func.max(Timer.fired_at)).where(Timer.case_id.in_(case_ids)))
            fired, twice = fired_once(store, case_ids)
            with transaction(store.session_factory, readonly=True) as session:
                shares = sorted(n for (n,) in session.execute(select(func.count(Timer.id)).where(
                    Timer.case_id.in_(case_ids)).group_by(Timer.claimed_by)))
            seconds = (last - released).total_seconds()
            rates[k].append(n_timers / seconds)
            # Busy: the workers' CPU time over their wall time. Near 100 % they wait for nothing (no lock
            # queue); below, for the database or for a core the machine's other processes hold.
            busy = (f"{(cpu_after - cpu_before) / (k * seconds):4.0%} busy" if None not in (cpu_before, cpu_after)
                    else "busy n/a")
            print(f"  {k} worker(s): {seconds:6.2f} s, {n_timers / seconds:6.1f} timers/s; fired {fired}/{n_timers}, "
                  f"fired twice: {twice}; per worker {shares}, {busy}; load {os.getloadavg()[0]:.1f}; "
                  f"waiting for a lock in {lock_waits} of {active} sampled busy connections")
            if fired != n_timers or twice:
                print("  !! not every timer fired exactly once")
        base = statistics.median(rates[counts[0]])
        for k in counts:
            print(f"  median {k} worker(s): {statistics.median(rates[k]):6.1f} timers/s = "
                  f"{statistics.median(rates[k]) / base:.2f}x one worker" + ("   (target >= 1.7x)" if k == 2 else ""))


# --- sweep cost ----------------------------------------------------------------------------------

def fill(store: Store, waiting: int) -> None:
    """`waiting` waiting timers, none due, on one real case (bulk rows: only the read path is measured)."""
    [case_id] = store.start_cases([utcnow()])
    now = utcnow()
    batch = 10_000
    for first in range(0, waiting, batch):
        with transaction(store.session_factory) as session:
            session.execute(insert(Timer), [{
                "case_id": case_id, "spiff_task_id": f"bench-{i}", "element_id": "Timer_Deadline",
                "due_at": now + timedelta(days=1, minutes=i % 100_000), "fire_at": now + timedelta(days=1, minutes=i % 100_000),
                "started_at": now, "provisional_years": [], "attempts": 0, "status": TimerStatus.WAITING,
            } for i in range(first, min(waiting, first + batch))])
    if store.backend == "sqlite":
        # Fold the write-ahead log into the file, as SQLite does by itself once it grows: a large
        # bulk insert has had it done, a small one not, and reads through a long log are slower.
        connection = store.engine.raw_connection()
        try:
            busy, _, _ = connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert not busy, "the checkpoint could not complete"
        finally:
            connection.close()
    else:
        with transaction(store.session_factory) as session:
            session.execute(text("ALTER TABLE timers SET (autovacuum_enabled = false)"))


def plan_of(store: Store) -> str:
    """The line of the due-timer query's plan that reads the timers table."""
    query = timers.due_timers(utcnow(), timers.DEFAULT_BATCH)
    compiled = query.compile(dialect=store.engine.dialect)
    params = {k: v.astimezone(timezone.utc).replace(tzinfo=None) if isinstance(v, datetime) else v
              for k, v in compiled.params.items()}
    with store.engine.connect() as conn:
        if store.backend == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}",
                                        tuple(params[k] for k in compiled.positiontup)).all()
            lines = [str(row[-1]) for row in rows]
        else:
            lines = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}", params).all()]
    return next((line.strip() for line in lines if "timers" in line), " / ".join(lines))


def sweep_cost(backend: str, small: int, large: int, rounds: int = 61) -> None:
    print(f"\nSweep cost on {backend}: one sweep with nothing due, {large:,} vs {small:,} waiting timers, "
          f"{rounds} interleaved rounds, medians")
    with stores(backend, ["small", "large"]) as (few, many):
        fill(few, small)
        fill(many, large)
        for phase in ("no statistics", "after ANALYZE"):
            if phase == "after ANALYZE":
                for store in (few, many):
                    with transaction(store.session_factory) as session:
                        session.execute(text("ANALYZE"))
            times = {few: [], many: []}
            for r in range(rounds + 1):
                for store in ((few, many) if r % 2 else (many, few)):
                    started = time.perf_counter()
                    result = timers.sweep(store.session_factory)
                    if r:  # the first round warms caches and connections
                        times[store].append(time.perf_counter() - started)
                    assert result.fired == 0
            small_ms, large_ms = (statistics.median(times[s]) * 1000 for s in (few, many))
            # On a machine whose cores other processes hold, a sweep is now and then paused for a
            # scheduler slice (several ms); the fastest round shows the sweep's own cost.
            small_min, large_min = (min(times[s]) * 1000 for s in (few, many))
            print(f"  {phase:14}: {small:,}: {small_ms:6.2f} ms   {large:,}: {large_ms:6.2f} ms   "
                  f"ratio {large_ms / small_ms:.2f}x (target <= 1.5x); fastest rounds {small_min:.2f} vs "
                  f"{large_min:.2f} ms = {large_min / small_min:.2f}x")
            print(f"  {'':14}  plan at {large:,}: {plan_of(many)}")


# --- lateness ------------------------------------------------------------------------------------

def lateness(backend: str, n_timers: int, window: float) -> None:
    print(f"\nLateness on {backend}: {n_timers} timers coming due over {window:g} s, one worker at the default "
          "poll interval")
    with stores(backend, ["late"]) as (store,):
        started = time.perf_counter()
        store.start_cases([utcnow() - DEADLINE])          # calibrate: how long a start takes here
        per_case = time.perf_counter() - started
        first_due = utcnow() + timedelta(seconds=per_case * n_timers * 2 + 20)
        spacing = timedelta(seconds=window / n_timers)
        dues = [first_due + i * spacing for i in range(n_timers)]
        case_ids = store.start_cases([due - DEADLINE for due in dues])
        workers = start_workers(store, 1, None)
        try:
            wait_until_sweeping(store, workers)
            ready = utcnow()
            if ready > first_due:
                print(f"  (setup overran: timers due before {ready.isoformat()} are left out)")
            pause = (dues[-1] - utcnow()).total_seconds() + 5
            time.sleep(max(pause, 0))
            limit = time.monotonic() + 120
            waiting = select(func.count(Timer.id)).where(Timer.case_id.in_(case_ids), Timer.status == TimerStatus.WAITING)
            while store.count(waiting) and time.monotonic() < limit:
                time.sleep(0.2)
        finally:
            stop_workers(workers)
        with transaction(store.session_factory, readonly=True) as session:
            rows = session.execute(select(Timer.due_at, Timer.fired_at).where(Timer.case_id.in_(case_ids))).all()
        late = sorted((fired - due).total_seconds() for due, fired in rows if fired is not None and due > ready)
        fired, twice = fired_once(store, case_ids)
        if not late:
            print("  nothing measured")
            return
        quantiles = statistics.quantiles(late, n=100, method="inclusive")
        print(f"  {len(late)} timers: p50 {quantiles[49]:.2f} s, p90 {quantiles[89]:.2f} s, p99 {quantiles[98]:.2f} s "
              f"(target <= 1.5 s), max {late[-1]:.2f} s; fired {fired}/{n_timers}, fired twice: {twice}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timers", type=int, default=300, help="due timers per drain run")
    parser.add_argument("--rounds", type=int, default=2, help="drain rounds (each runs 1, 2 and 4 workers)")
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--late", type=int, default=200, help="timers in the lateness run")
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which they come due")
    parser.add_argument("--only", default="drain,sweep,lateness")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if "sweep" in parts:
        for backend in ("sqlite", "postgresql"):
            sweep_cost(backend, args.small, args.large)
    if "drain" in parts:
        drain(args.timers, args.rounds)
    if "lateness" in parts:
        for backend in ("postgresql", "sqlite"):
            lateness(backend, args.late, args.window)


if __name__ == "__main__":
    main()
