"""Each timer worker's heartbeat: after every sweep, a row saying who it is, when it last swept and how long it took.

The row also carries the worker's running histograms (timer lateness, sweep duration)
as bucket counts, so `/metrics` on any web process can report them from the database:
workers need no HTTP port of their own and may run on other hosts.

Lateness (fired_at − due_at) is taken from the Timer rows the worker's own transactions
mark fired and commit, by listening to its sessions: whatever the sweep does inside,
what reaches the database is what is counted, and a rolled-back firing is not.
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from engine.calendar.clock import utcnow
from engine.db import transaction
from engine.models import Case, Timer, TimerStatus, WorkerHeartbeat

# Seconds. Lateness at the default 1 s poll is mostly under 2 s; the long tail shows an outage or a backlog.
LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
SWEEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
FORGET_AFTER = timedelta(days=7)  # rows of workers gone this long are deleted (their series end)
_PENDING = "planflow_fired_lateness"


@dataclass
class Histogram:
    """Cumulative bucket counts, as Prometheus keeps them (`counts[i]`: observations ≤ `buckets[i]`)."""

    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    sum: float = 0.0
    count: int = 0

    def __post_init__(self):
        self.counts = self.counts or [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.sum += value
        self.count += 1

    def as_dict(self) -> dict:
        return {"buckets": list(self.buckets), "counts": list(self.counts), "sum": self.sum, "count": self.count}


@dataclass
class WorkerFigures:
    """What one worker process has done since it started."""

    name: str
    started_at: datetime
    sweeps: int = 0
    timers_fired: int = 0
    lateness: Histogram = field(default_factory=lambda: Histogram(LATENESS_BUCKETS))
    sweep_seconds: Histogram = field(default_factory=lambda: Histogram(SWEEP_BUCKETS))
    pid: int = field(default_factory=os.getpid)


_figures: WorkerFigures | None = None


def worker_name() -> str:
    """PLANFLOW_WORKER_NAME (systemd: the unit's instance), else host:pid."""
    return os.environ.get("PLANFLOW_WORKER_NAME") or f"{socket.gethostname()}:{os.getpid()}"


def figures() -> WorkerFigures:
    """This process's figures, started afresh in a forked child."""
    global _figures
    if _figures is None or _figures.pid != os.getpid():
        _figures = WorkerFigures(worker_name(), utcnow())
    return _figures


def sweep_and_beat(sweep, session_factory: sessionmaker):
    """Run `sweep(session_factory)`, then write this worker's heartbeat; return the sweep's result.

    This is the one call the timer worker's loop makes (engine/cases/timers.py run_worker).
    """
    _watch_fired_timers(session_factory)
    started = time.perf_counter()
    result = sweep(session_factory)
    beat(session_factory, time.perf_counter() - started)
    return result


def beat(session_factory: sessionmaker, sweep_seconds: float, now: datetime | None = None) -> None:
    """Record one finished sweep of `sweep_seconds` in this worker's row."""
    now = now or utcnow()
    mine = figures()
    first = mine.sweeps == 0
    mine.sweeps += 1
    mine.sweep_seconds.observe(sweep_seconds)
    with transaction(session_factory) as session:
        if first:
            session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen < now - FORGET_AFTER))
        row = session.get(WorkerHeartbeat, mine.name)
        if row is None:
            row = WorkerHeartbeat(name=mine.name)
            session.add(row)
        row.host, row.pid, row.started_at = socket.gethostname(), mine.pid, mine.started_at
        row.last_seen, row.last_sweep_seconds = now, sweep_seconds
        row.sweeps, row.timers_fired = mine.sweeps, mine.timers_fired
        row.stats = {"lateness_seconds": mine.lateness.as_dict(), "sweep_seconds": mine.sweep_seconds.as_dict()}


def _watch_fired_timers(session_factory: sessionmaker) -> None:
    if not event.contains(session_factory, "after_flush", _note_fired):
        event.listen(session_factory, "after_flush", _note_fired)
        event.listen(session_factory, "after_commit", _count_fired)
        event.listen(session_factory, "after_rollback", _forget_fired)


def _note_fired(session: Session, _flush_context) -> None:
    # After a flush the session still lists what it flushed, with each attribute's history.
    for row in session.dirty:
        if isinstance(row, Timer) and TimerStatus.FIRED in inspect(row).attrs.status.history.added:
            # A drill's timer fires on its simulated clock: its lateness says nothing about this worker.
            if row.fired_at and row.due_at and session.get(Case, row.case_id).drill_id is None:
                session.info.setdefault(_PENDING, []).append((row.fired_at - row.due_at).total_seconds())


def _count_fired(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    mine = figures()
    for seconds in pending:
        mine.lateness.observe(max(seconds, 0.0))
    mine.timers_fired += len(pending)


def _forget_fired(session: Session) -> None:
    session.info.pop(_PENDING, None)
