"""Deadline functions for BPMN expressions: working_days(n), working_hours(n), calendar_days(n).

A process owner writes `working_days(3)` as a timer value. The function counts from
the engine's "now" — the moment the timer starts waiting — on the organisation's
calendar, and returns the due date-time as UTC ISO text. Timers that call these
functions are date timers whatever element the modeler used (see `bpmn.py`).
"""
from __future__ import annotations

import contextlib
import contextvars
import re
from engine.calendar import WorkingCalendar
from engine.clock import current_time

_active: contextvars.ContextVar[WorkingCalendar | None] = contextvars.ContextVar("planflow_calendar", default=None)
# Deadlines computed while the calendar was active: due ISO text -> years guessed on the weekday rule.
_computed: contextvars.ContextVar[dict[str, tuple[int, ...]] | None] = contextvars.ContextVar(
    "planflow_deadlines", default=None)
_CALL = re.compile(r"\b(working_days|working_hours|calendar_days)\s*\(")


def uses_calendar(expression: str | None) -> bool:
    """True when the expression calls one of the calendar functions."""
    return bool(expression and _CALL.search(expression))


@contextlib.contextmanager
def using_calendar(calendar: WorkingCalendar):
    """Make `calendar` the one expressions count deadlines on, for this thread or task."""
    token, computed = _active.set(calendar), _computed.set({})
    try:
        yield
    finally:
        _computed.reset(computed)
        _active.reset(token)


def active_calendar() -> WorkingCalendar:
    calendar = _active.get()
    if calendar is None:
        raise RuntimeError("no working calendar is active: run expressions inside runtime.running()")
    return calendar


def _count(method: str, n, unit: str) -> str:
    if isinstance(n, bool) or not isinstance(n, (int, float)) or n <= 0:
        raise ValueError(f"{unit} must be a positive number, got {n!r}")
    if method != "add_working_hours" and not float(n).is_integer():
        raise ValueError(f"{unit} must be a whole number, got {n!r}")
    if n > 3660:
        raise ValueError(f"{unit} of {n} is not a plausible deadline")
    start = current_time()
    count = n if method == "add_working_hours" else int(n)
    deadline = getattr(active_calendar(), method)(start, count)
    due = deadline.due.isoformat()
    computed = _computed.get()
    if computed is not None:
        computed[due] = deadline.provisional_years
    return due


def working_days(n) -> str:
    """Due at the end of the n-th working day after today (today not counted)."""
    return _count("add_working_days", n, "working days")


def working_hours(n) -> str:
    """Due after n office hours on working days."""
    return _count("add_working_hours", n, "working hours")


def calendar_days(n) -> str:
    """Due at the end of the n-th day after today; a last day that is off moves to the next working day."""
    return _count("add_calendar_days", n, "calendar days")


EXPRESSION_FUNCTIONS = {"working_days": working_days, "working_hours": working_hours,
                        "calendar_days": calendar_days}


def provisional_years(due_text: str) -> tuple[int, ...] | None:
    """The years a deadline computed in this run had to guess; None if no calendar function computed it now."""
    return (_computed.get() or {}).get(due_text)
