"""Timer workers claim due timers with a lease: they share a backlog, a dead worker's claims come back,
and finding what is due reads the waiting-timers index whatever the planner's statistics say."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, text, update

from engine.calendar.clock import utcnow
from engine.cases import timers
from engine.db import transaction
from engine.errors import PlanFlowError
from engine.models import AuditEvent, Case, Task, Timer, TimerStatus
from tests.samples import one_task_plan, write_plan
from tests.support import ROOT, Desk

LEASE = timedelta(minutes=1)


@pytest.fixture
def mini(session_factory, now, tmp_path):
    return Desk.open(session_factory, now, [write_plan(tmp_path / "plans", one_task_plan())])


def due_cases(desk, n: int) -> list[str]:
    """`n` cases whose 24 h deadline has passed, by the test's clock and by the real one."""
    desk.now = min(desk.now, utcnow()) - timedelta(days=2)
    return [desk.start("mini", {}, "handler1") for _ in range(n)]


def timer_rows(desk) -> list[Timer]:
    with transaction(desk.session_factory, readonly=True) as session:
        return list(session.execute(select(Timer).order_by(Timer.id)).scalars())


def fired_events_per_case(desk) -> dict[int, int]:
    with transaction(desk.session_factory, readonly=True) as session:
        return dict(session.execute(select(AuditEvent.case_id, func.count(AuditEvent.seq))
                                    .where(AuditEvent.kind == "timer_fired").group_by(AuditEvent.case_id)).all())


def test_a_claimed_timer_waits_for_its_lease_then_another_worker_fires_it(mini):
    due_cases(mini, 3)
    late = mini.now + timedelta(days=1, hours=1)
    with transaction(mini.session_factory) as session:
        claim = timers.claim_due(session, late, 100, "worker-that-died", LEASE)
    assert claim.timers == 3
    assert timers.sweep(mini.session_factory, late).fired == 0, "a claim under lease is left alone"
    assert timers.sweep(mini.session_factory, late + LEASE - timedelta(seconds=1)).fired == 0
    assert timers.sweep(mini.session_factory, late + LEASE).fired == 3
    rows = timer_rows(mini)
    assert {row.status for row in rows} == {TimerStatus.FIRED}
    assert {row.claimed_by for row in rows} == {timers.worker_id()}
    assert all(row.fired_at == late + LEASE for row in rows)
    assert sorted(fired_events_per_case(mini).values()) == [1, 1, 1]


def test_a_worker_whose_lease_lapsed_skips_what_the_next_worker_took_over(mini):
    [number] = due_cases(mini, 1)
    late = mini.now + timedelta(days=1, hours=1)
    with transaction(mini.session_factory) as session:
        [case_id] = timers.claim_due(session, late, 100, "slow", LEASE).case_ids
    with transaction(mini.session_factory) as session:
        assert timers.claim_due(session, late + LEASE, 100, "next", LEASE).case_ids == [case_id]
    with transaction(mini.session_factory) as session:
        assert timers.fire_case_timers(session, case_id, late + LEASE, "slow") == 0
    with transaction(mini.session_factory) as session:
        assert timers.fire_case_timers(session, case_id, late + LEASE, "next") == 1
    with transaction(mini.session_factory) as session:
        assert timers.fire_case_timers(session, case_id, late + LEASE, "slow") == 0
    assert fired_events_per_case(mini) == {case_id: 1}
    assert [t.element_id for t in mini.open_tasks(number)] == ["Task_Escalated"]


def test_a_bad_lease_or_batch_setting_is_refused_by_name(mini, monkeypatch):
    monkeypatch.setenv(timers.LEASE_ENV, "soon")
    with pytest.raises(PlanFlowError, match=timers.LEASE_ENV):
        timers.sweep(mini.session_factory)
    monkeypatch.setenv(timers.LEASE_ENV, "30")
    monkeypatch.setenv(timers.BATCH_ENV, "0")
    with pytest.raises(PlanFlowError, match=timers.BATCH_ENV):
        timers.sweep(mini.session_factory)


def test_fired_at_is_when_each_case_really_fired(mini):
    due_cases(mini, 3)
    before = utcnow()
    assert timers.sweep(mini.session_factory, batch=2).fired == 3
    after = utcnow()
    rows = timer_rows(mini)
    with transaction(mini.session_factory, readonly=True) as session:
        stamps = dict(session.execute(select(AuditEvent.case_id, AuditEvent.occurred_at)
                                      .where(AuditEvent.kind == "timer_fired")).all())
    assert all(before <= row.fired_at <= after and row.fired_at == stamps[row.case_id] for row in rows)
    assert len({row.fired_at for row in rows}) == 3, "each case at the moment it was reached, not the sweep's start"


def worker_command(db_url: str, *options: str, lease_seconds: float = 3.0, batch: int = timers.DEFAULT_BATCH):
    """`planflow worker` (webapp.cli is the installed `planflow` script) with a short lease, and its environment."""
    env = {**os.environ, "PLANFLOW_DATABASE_URL": db_url, timers.LEASE_ENV: str(lease_seconds),
           timers.BATCH_ENV: str(batch)}
    return [sys.executable, "-m", "webapp.cli", "worker", *options], env


def test_two_worker_processes_share_the_due_timers_and_fire_each_exactly_once(mini, db_url):
    due_cases(mini, 80)
    command, env = worker_command(db_url, "--once")
    workers = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    reported = sum(int(line.split()[1]) for out, _ in outputs for line in out.splitlines() if line.startswith("fired "))
    rows = timer_rows(mini)
    with transaction(mini.session_factory, readonly=True) as session:
        escalated = session.execute(select(func.count(Task.id)).where(Task.element_id == "Task_Escalated")).scalar_one()
    assert reported == escalated == len(rows) == 80 and {row.status for row in rows} == {TimerStatus.FIRED}
    assert sorted(fired_events_per_case(mini).values()) == [1] * 80, "each timer fired exactly once"
    # Which worker got how many depends on when each started; that they share at all is bench/timers.py's job.
    assert None not in {row.claimed_by for row in rows} and len({row.claimed_by for row in rows}) <= 2


def test_a_killed_workers_claims_are_fired_by_another_worker_after_the_lease(mini, db_url):
    due_cases(mini, 20)
    command, env = worker_command(db_url, batch=100)  # it claims all 20 at once, then fires them one by one
    doomed = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not any(row.claimed_by for row in timer_rows(mini)):
            assert doomed.poll() is None and time.monotonic() < deadline, "the worker never claimed anything"
            time.sleep(0.005)
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    left = [row for row in timer_rows(mini) if row.status == TimerStatus.WAITING]
    assert left and all(row.claimed_by and row.lease_until > utcnow() for row in left), \
        "killed in the middle of its batch, the worker leaves claimed timers behind"
    dead = {row.claimed_by for row in left}

    assert timers.sweep(mini.session_factory).fired == 0, "nobody takes the dead worker's timers while its lease holds"
    time.sleep(max(0.0, (max(row.lease_until for row in left) - utcnow()).total_seconds()) + 0.1)
    command, env = worker_command(db_url, "--once")
    finished = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert finished.returncode == 0, finished.stderr
    assert f"fired {len(left)} timer(s)" in finished.stdout

    rows = timer_rows(mini)
    assert {row.status for row in rows} == {TimerStatus.FIRED}
    taken_over = [row for row in rows if row.id in {r.id for r in left}]
    assert all(row.claimed_by not in dead for row in taken_over)
    assert sorted(fired_events_per_case(mini).values()) == [1] * 20, "none fired twice"


def explain(session, statement) -> str:
    """The database's plan for `statement`, as one string (nothing is executed)."""
    compiled = statement.compile(dialect=session.bind.dialect)
    params = {key: value.astimezone(timezone.utc).replace(tzinfo=None) if hasattr(value, "tzinfo") else value
              for key, value in compiled.params.items()}
    connection = session.connection()
    if session.bind.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}",
                                          tuple(params[key] for key in compiled.positiontup)).all()
        return "\n".join(str(row[-1]) for row in rows)
    return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}", params).all())


def claim_statement(now):
    """The claim as the sweep issues it, without running it."""
    picked = timers.due_timers(now, timers.DEFAULT_BATCH).with_for_update(skip_locked=True).scalar_subquery()
    return update(Timer).where(Timer.id.in_(picked)).values(claimed_by="explain").returning(Timer.case_id)


def test_finding_due_timers_reads_the_waiting_index_before_and_after_analyze(mini):
    [number] = due_cases(mini, 1)
    now = utcnow()
    with transaction(mini.session_factory) as session:
        case_id = session.execute(select(Case.id).where(Case.number == number)).scalar_one()
        rows = [{"case_id": case_id, "spiff_task_id": f"bulk-{i}", "element_id": "Timer_Deadline",
                 "due_at": now + timedelta(days=1 + i % 300), "fire_at": now + timedelta(days=1 + i % 300),
                 "started_at": now, "provisional_years": [], "attempts": 0,
                 "status": TimerStatus.FIRED if i % 3 else TimerStatus.WAITING} for i in range(6000)]
        session.execute(insert(Timer), rows)
    plans = {}
    for stage in ("without statistics", "after ANALYZE"):
        with transaction(mini.session_factory) as session:
            if stage == "after ANALYZE":
                session.execute(text("ANALYZE"))
            plans[stage] = explain(session, claim_statement(now))
    for stage, plan in plans.items():
        assert "ix_timers_waiting" in plan, f"{stage}:\n{plan}"
        whole_table = [line for line in plan.splitlines() if "Seq Scan on timers" in line or line.strip() == "SCAN timers"]
        assert not whole_table, f"{stage}:\n{plan}"
