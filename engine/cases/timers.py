"""The timer sweep: fire every due timer exactly once, however many workers run.

A worker claims a batch of due timers in one short transaction — on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so two workers take different rows instead of queueing on the
same ones; on SQLite the database write lock makes the claim atomic — and holds them for
a lease: the claim moves `fire_at` to the lease's end, so the rows leave the due range for
every other worker, and come back by themselves if the worker dies.

Each claimed case then fires in its own transaction under the case row lock, through
`runtime.advance`, at the real time it fires (that is what `fired_at` records). A worker
that finds its claim already fired, cancelled, or taken over by another worker after its
lease lapsed skips the case, so no timer fires twice. A case that fails is recorded on
its timer and the case, retried later with a growing delay, and never stops the sweep.
A full batch means more is due: the worker claims the next one at once.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, literal_column, select, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session, object_session, sessionmaker

from engine.calendar.clock import utcnow
from engine.cases import runtime
from engine.cases.use_cases import flush_case, lock_case
from engine.db import transaction
from engine.drills import clock as drill_clock
from engine.drills import injects as drill_injects
from engine.errors import PlanFlowError
from engine.models import Case, Timer, TimerStatus
from engine.notifications import events as notification_events
from engine.notifications import worker as notifications
from engine.ops import heartbeat
from engine.plans.versions import spec_cache
from engine.records import audit

log = logging.getLogger(__name__)
WORKER = "timer-worker"  # the actor the audit trail names
BATCH_ENV = "PLANFLOW_TIMER_BATCH"
DEFAULT_BATCH = 10  # small, so that workers share a backlog evenly; a claim costs little next to a firing
LEASE_ENV = "PLANFLOW_TIMER_LEASE_SECONDS"
DEFAULT_LEASE_SECONDS = 60.0
MAX_RETRY_DELAY = timedelta(hours=1)
NOT_DUE_RETRY = timedelta(minutes=1)  # a row past its engine due time that did not fire: look again later
# Written out rather than bound, so that both databases see the predicate of the partial index ix_timers_waiting.
_WAITING = literal_column(f"'{TimerStatus.WAITING.value}'")


@dataclass
class SweepResult:
    fired: int = 0
    cases: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Claim:
    case_ids: list[int]   # earliest due first
    timers: int           # rows claimed: a full batch means more may be due


def _positive_setting(name: str, default, kind):
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if not value > 0:
        raise PlanFlowError(f"{name} must be a positive {'whole ' if kind is int else ''}number, not {raw!r}")
    return value


def lease() -> timedelta:
    """How long a claim holds before another worker may take the timers (PLANFLOW_TIMER_LEASE_SECONDS)."""
    return timedelta(seconds=_positive_setting(LEASE_ENV, DEFAULT_LEASE_SECONDS, float))


def batch_size() -> int:
    """How many due timers a worker claims at a time (PLANFLOW_TIMER_BATCH)."""
    return _positive_setting(BATCH_ENV, DEFAULT_BATCH, int)


_worker: tuple[int, str] | None = None


def worker_id() -> str:
    """This process's name on its claims; the token tells apart a restarted worker that got the same pid."""
    global _worker
    if _worker is None or _worker[0] != os.getpid():
        _worker = (os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}")
    return _worker[1]


def due_timers(now: datetime, limit: int) -> Select:
    """The ids of the first `limit` waiting timers due by `now`, in firing order.

    The shape is kept for ix_timers_waiting: an equality on the literal status and a range
    and order on `fire_at`, nothing grouped, so both planners read only the due rows
    whether or not the table has statistics (tests/engine/test_timer_claims.py checks the plan).
    """
    return (select(Timer.id).where(Timer.status == _WAITING, Timer.fire_at <= now)
            .order_by(Timer.fire_at).limit(limit))


def claim_due(session: Session, now: datetime, limit: int, worker: str, hold: timedelta) -> Claim:
    """Claim up to `limit` due timers for `worker` until `now + hold`; return their cases, earliest due first."""
    until = now + hold
    picked = due_timers(now, limit).with_for_update(skip_locked=True).scalar_subquery()
    rows = session.execute(update(Timer).where(Timer.id.in_(picked))
                           .values(claimed_by=worker, lease_until=until, fire_at=until)
                           .returning(Timer.case_id, Timer.due_at)).all()
    earliest: dict[int, datetime] = {}
    for case_id, due_at in rows:
        earliest[case_id] = min(due_at, earliest.get(case_id, due_at))
    return Claim(sorted(earliest, key=earliest.__getitem__), len(rows))


def fire_case_timers(session: Session, case_id: int, now: datetime, worker: str | None = None) -> int:
    """Fire the due timers of one case that `worker` claimed; return how many fired.

    0 when the claim was fired or cancelled meanwhile, or taken over by another worker
    after the lease lapsed: the case row lock orders the two, and the second finds nothing.
    """
    worker = worker or worker_id()
    case = lock_case(session, case_id)
    claimed = session.execute(select(Timer).where(
        Timer.case_id == case_id, Timer.status == TimerStatus.WAITING, Timer.claimed_by == worker)).scalars().all()
    if not claimed:
        return 0
    outcome = runtime.advance(session, case, spec_cache.get(case.plan_version), now, WORKER,
                              lambda workflow: workflow.refresh_timers())
    case.incident = None
    for timer in claimed:
        if timer.status == TimerStatus.WAITING:
            _release_not_due(case, timer, now)
    flush_case(session, case)
    return len(outcome.fired_timers)


def _release_not_due(case: Case, timer: Timer, now: datetime) -> None:
    """Give back a claimed timer the engine did not fire, due again at the engine's own due time.

    A row whose `fire_at` was earlier than SpiffWorkflow's due time would otherwise come
    first in every batch and starve the timers behind it.
    """
    due = drill_clock.real_fire_at(object_session(case), case, timer.due_at)  # a drill's timer: its real time
    if due > now:
        timer.fire_at = due
    else:
        log.warning("case %s: timer %s looked due but the engine did not fire it; looking again in %s",
                    case.number, timer.element_id, NOT_DUE_RETRY)
        timer.fire_at = now + NOT_DUE_RETRY
    timer.claimed_by = timer.lease_until = None


def _record_failure(session_factory: sessionmaker, case_id: int, now: datetime, error: Exception,
                    worker: str) -> str:
    message = str(error) or error.__class__.__name__
    with transaction(session_factory) as session:
        case = session.get(Case, case_id)
        if case is None:
            return f"case {case_id} (deleted meanwhile)"
        timers = session.execute(select(Timer).where(
            Timer.case_id == case_id, Timer.status == TimerStatus.WAITING, Timer.claimed_by == worker)).scalars().all()
        for timer in timers:
            timer.attempts += 1
            timer.last_error = message
            timer.fire_at = now + min(timedelta(seconds=30 * 2 ** (timer.attempts - 1)), MAX_RETRY_DELAY)
            timer.claimed_by = timer.lease_until = None
        case.incident = f"timer failed: {message}"
        notification_events.on_incident(session, case, case.incident, now)
        audit.record(session, audit.EventKind.TIMER_FAILED, WORKER, now, case=case,
                     element_id=timers[0].element_id if timers else None,
                     payload={"error": message, "attempts": max((t.attempts for t in timers), default=0)})
    return case.number


def _database_unusable(error: Exception) -> bool:
    """True for a database that cannot be reached or read, as opposed to a case's own data failing."""
    return isinstance(error, DBAPIError) and not isinstance(error, (IntegrityError, DataError))


def sweep(session_factory: sessionmaker, now: datetime | None = None, batch: int | None = None) -> SweepResult:
    """Fire what is due; one failing case never stops the others.

    Without `now` each case fires at the real time it is reached (so `fired_at` is the
    true firing time); with `now` (tests, drills) everything happens at that moment.
    """
    worker, hold, batch = worker_id(), lease(), batch or batch_size()
    drill_injects.sweep(session_factory, now or utcnow())  # drills' injects fall due on the same sweep
    result = SweepResult()
    while True:
        with transaction(session_factory) as session:
            claim = claim_due(session, now or utcnow(), batch, worker, hold)
        for case_id in claim.case_ids:
            _fire(session_factory, case_id, now or utcnow(), worker, result)
        if claim.timers < batch:
            return result


def _fire(session_factory: sessionmaker, case_id: int, now: datetime, worker: str, result: SweepResult) -> None:
    try:
        with transaction(session_factory) as session:
            fired = fire_case_timers(session, case_id, now, worker)
    except (PlanFlowError, Exception) as exc:  # noqa: BLE001 — a broken case must not stop the sweep
        if _database_unusable(exc):
            raise  # not this case's fault: the worker waits the outage out (engine/cli.py supervise)
        log.warning("timers of case %s failed: %s", case_id, exc)
        result.failed.append((_record_failure(session_factory, case_id, now, exc, worker), str(exc)))
        return
    if fired:
        result.fired += fired
        result.cases += 1


def run_worker(session_factory: sessionmaker, interval: float, once: bool = False, echo=print) -> None:
    """Poll for due timers every `interval` seconds until interrupted.

    With `once`, sweep until nothing is due any more and return (for cron and tests).
    """
    while True:
        result = heartbeat.sweep_and_beat(sweep, session_factory)  # and record this worker's heartbeat
        audit.anchor_if_due(session_factory, utcnow())
        notifications.run_once(session_factory, echo=echo)  # near deadlines, then mail and webhooks
        if result.fired or result.failed:
            echo(f"fired {result.fired} timer(s) in {result.cases} case(s); {len(result.failed)} case(s) failed")
        for number, error in result.failed:
            echo(f"  {number}: {error}")
        if once and not result.fired and not result.failed:
            return
        if not once:
            time.sleep(interval)
