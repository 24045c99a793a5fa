"""The engine's notion of "now", shared with SpiffWorkflow's timer code.

SpiffWorkflow 3.2 reads `datetime.now(timezone.utc)` inside its timer event
definitions, so a deadline could only be tested by sleeping. Every use case takes
`now` as an argument; `engine_time(now)` makes SpiffWorkflow see that same instant
while the case runs. The clock is a context variable, so concurrent threads
(web requests, worker sweeps) each see their own time.
"""
from __future__ import annotations

import contextlib
import contextvars
from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

_current: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("planflow_now", default=None)


class _EngineDatetime(datetime):
    """`datetime` whose `now()` answers the engine's current time when one is set."""

    @classmethod
    def now(cls, tz=None):
        pinned = _current.get()
        if pinned is None:
            return datetime.now(tz)
        return pinned.astimezone(tz) if tz is not None else pinned.astimezone().replace(tzinfo=None)


spiff_timer.datetime = _EngineDatetime


def current_time() -> datetime:
    """The engine's "now" while a case runs (see engine_time), else the real time."""
    return _current.get() or utcnow()


def utcnow() -> datetime:
    """The real current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """Normalise an aware datetime to UTC; a naive one is refused, it has no meaning here."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: PlanFlow needs timezone-aware times")
    return moment.astimezone(timezone.utc)


@contextlib.contextmanager
def engine_time(now: datetime):
    """Run SpiffWorkflow as if the time were `now`."""
    token = _current.set(as_utc(now))
    try:
        yield
    finally:
        _current.reset(token)
