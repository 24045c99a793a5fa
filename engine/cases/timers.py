"""The timer sweep: fire every due timer exactly once, whatever the number of workers.

The sweep reads the indexed `timers` table, so cases without a due timer are never
loaded. Each case fires in its own transaction under the case row lock (SQLite:
the write lock); a second worker that reaches the same case afterwards finds its
timers no longer waiting and skips it. A case that fails is recorded on its timer
and the case, retried later with a growing delay, and never stops the sweep.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case as sql_case
from sqlalchemy import func, select, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine.calendar.clock import utcnow
from engine.cases import runtime
from engine.cases.use_cases import flush_case, lock_case
from engine.db import transaction
from engine.errors import PlanFlowError
from engine.models import Case, Timer, TimerStatus
from engine.ops import heartbeat
from engine.plans.versions import spec_cache
from engine.records import audit

log = logging.getLogger(__name__)
WORKER = "timer-worker"
MAX_RETRY_DELAY = timedelta(hours=1)
NOT_DUE_RETRY = timedelta(minutes=1)  # a row past its engine due time that did not fire: look again later


@dataclass
class SweepResult:
    fired: int = 0
    cases: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def due_case_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Cases with at least one waiting timer due by `now`, earliest first."""
    earliest = func.min(Timer.fire_at)
    rows = session.execute(
        select(Timer.case_id).where(Timer.status == TimerStatus.WAITING, Timer.fire_at <= now)
        .group_by(Timer.case_id).order_by(earliest).limit(limit))
    return [case_id for (case_id,) in rows]


def fire_case_timers(session: Session, case_id: int, now: datetime) -> int:
    """Fire the due timers of one case; return how many fired (0 if another worker got there first)."""
    case = lock_case(session, case_id)
    still_due = session.execute(select(func.count(Timer.id)).where(
        Timer.case_id == case_id, Timer.status == TimerStatus.WAITING, Timer.fire_at <= now)).scalar_one()
    if not still_due:
        return 0
    outcome = runtime.advance(session, case, spec_cache.get(case.plan_version), now, WORKER,
                              lambda workflow: workflow.refresh_timers())
    case.incident = None
    flush_case(session, case)
    return len(outcome.fired_timers)


def _record_failure(session_factory: sessionmaker, case_id: int, now: datetime, error: Exception) -> str:
    message = str(error) or error.__class__.__name__
    with transaction(session_factory) as session:
        case = session.get(Case, case_id)
        timers = session.execute(select(Timer).where(
            Timer.case_id == case_id, Timer.status == TimerStatus.WAITING, Timer.fire_at <= now)).scalars().all()
        for timer in timers:
            timer.attempts += 1
            timer.last_error = message
            timer.fire_at = now + min(timedelta(seconds=30 * 2 ** (timer.attempts - 1)), MAX_RETRY_DELAY)
        case.incident = f"timer failed: {message}"
        audit.record(session, audit.EventKind.TIMER_FAILED, WORKER, now, case=case,
                     element_id=timers[0].element_id if timers else None,
                     payload={"error": message, "attempts": max((t.attempts for t in timers), default=0)})
    return case.number


def _repair_not_due(session_factory: sessionmaker, case_id: int, now: datetime) -> int:
    """Move rows that look due but that the engine did not fire to the engine's due time; return how many.

    Such rows (a `fire_at` earlier than SpiffWorkflow's own due time) would otherwise come
    first in every batch and starve the timers behind them. The update only touches rows
    still waiting, so a worker that fired them in between is left alone.
    """
    later = now + NOT_DUE_RETRY
    with transaction(session_factory) as session:
        return session.execute(
            update(Timer).where(Timer.case_id == case_id, Timer.status == TimerStatus.WAITING, Timer.fire_at <= now)
            .values(fire_at=sql_case((Timer.due_at > now, Timer.due_at), else_=later))).rowcount


def _database_unusable(error: Exception) -> bool:
    """True for a database that cannot be reached or read, as opposed to a case's own data failing."""
    return isinstance(error, DBAPIError) and not isinstance(error, (IntegrityError, DataError))


def sweep(session_factory: sessionmaker, now: datetime | None = None, batch: int = 100) -> SweepResult:
    """Fire what is due at `now` (default: the real time); one failing case never stops the others."""
    now = now or utcnow()
    result = SweepResult()
    seen: set[int] = set()
    while True:
        with transaction(session_factory, readonly=True) as session:
            case_ids = [i for i in due_case_ids(session, now, batch) if i not in seen]
        if not case_ids:
            return result
        seen.update(case_ids)
        for case_id in case_ids:
            try:
                with transaction(session_factory) as session:
                    fired = fire_case_timers(session, case_id, now)
            except (PlanFlowError, Exception) as exc:  # noqa: BLE001 — a broken case must not stop the sweep
                if _database_unusable(exc):
                    raise  # not this case's fault: the worker waits the outage out (engine/cli.py supervise)
                log.warning("timers of case %s failed: %s", case_id, exc)
                number = _record_failure(session_factory, case_id, now, exc)
                result.failed.append((number, str(exc)))
                continue
            if fired:
                result.fired += fired
                result.cases += 1
            elif _repair_not_due(session_factory, case_id, now):
                log.warning("case %s: timer rows looked due but the engine does not consider them due; "
                            "moved to the engine's due time", case_id)


def run_worker(session_factory: sessionmaker, interval: float, once: bool = False, echo=print) -> None:
    """Poll for due timers every `interval` seconds until interrupted.

    With `once`, sweep until nothing is due any more and return (for cron and tests).
    """
    while True:
        result = heartbeat.sweep_and_beat(sweep, session_factory)  # and record this worker's heartbeat
        audit.anchor_if_due(session_factory, utcnow())
        if result.fired or result.failed:
            echo(f"fired {result.fired} timer(s) in {result.cases} case(s); {len(result.failed)} case(s) failed")
        for number, error in result.failed:
            echo(f"  {number}: {error}")
        if once and not result.fired and not result.failed:
            return
        if not once:
            time.sleep(interval)
