"""Deadline functions for BPMN expressions and scripts.

`working_days(n)`, `working_hours(n)`, `calendar_days(n)`, `calendar_hours(n)` and
`end_of_day()` give a due date-time as UTC ISO text. They count from `since` — the
moment the complaint was received, as the case data holds it (`received_at`) — or,
without it, from the engine's "now" (the moment the timer starts waiting or the script
runs). Timers that call these functions are date timers whatever element the modeler
used (see `bpmn.py`).

The functions take plain data (numbers, ISO text) and validate it themselves: they are
called from the sandbox and must stay callable across a process boundary.
"""
from __future__ import annotations

import contextlib
import contextvars
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, NamedTuple

from engine.calendar.clock import current_time
from engine.calendar.working_days import ONE_DAY, WorkingCalendar


class Computation(NamedTuple):
    """One call of a deadline function: enough to compute it again on a newer calendar."""

    function: str
    n: float | None
    start: str  # the UTC ISO moment it counted from
    years: tuple[int, ...]  # years without the yearly notice that it had to guess


_active: contextvars.ContextVar[WorkingCalendar | None] = contextvars.ContextVar("planflow_calendar", default=None)
# Deadlines computed while the calendar was active, by due ISO text.
_computed: contextvars.ContextVar[dict[str, Computation] | None] = contextvars.ContextVar(
    "planflow_deadlines", default=None)
# Where a workflow keeps its provisional deadlines between runs (workflow-level data, not case data),
# so one a script computed keeps its flag when a timer reads it later and can be computed again.
PROVISIONAL_KEY = "planflow_provisional_deadlines"
FUNCTION_NAMES = ("working_days", "working_hours", "calendar_days", "calendar_hours", "end_of_day")
_CALL = re.compile(r"\b(" + "|".join(FUNCTION_NAMES) + r")\s*\(")
# Bounds for `since`: a receipt before 1949 or after 2200 is a typing error, not a date.
_EARLIEST, _LATEST = 1949, 2200


def uses_calendar(expression: str | None) -> bool:
    """True when the expression calls one of the deadline functions."""
    return bool(expression and _CALL.search(expression))


@contextlib.contextmanager
def using_calendar(calendar: WorkingCalendar | Callable[[], WorkingCalendar]):
    """Make `calendar` the one expressions count deadlines on, for this thread or task.

    A function instead of a calendar is called the first time a deadline is counted: a
    step that counts none never reads the calendar's revision from the database.
    """
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
    if not isinstance(calendar, WorkingCalendar):
        calendar = calendar()
        _active.set(calendar)
    return calendar


def start_moment(since=None) -> datetime:
    """The aware moment a deadline counts from: `since` (ISO text, date or datetime) or the engine's now.

    A value without an offset is read as the organisation's local time (the calendar's zone).
    """
    if since is None:
        return current_time()
    zone = active_calendar().zone
    if isinstance(since, str):
        text = since.strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"since must be the date-time the complaint was received as ISO text "
                             f"(e.g. 2027-02-03T10:30 or 2027-02-03T10:30:00+08:00), got {since!r}") from None
    elif isinstance(since, datetime):
        moment = since
    elif isinstance(since, date):
        moment = datetime.combine(since, time(0))
    else:
        raise ValueError(f"since must be ISO date-time text or a datetime, got {type(since).__name__} {since!r}")
    if not _EARLIEST <= moment.year <= _LATEST:
        raise ValueError(f"since {since!r} is not a plausible date of receipt")
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(timezone.utc)


def _check_count(n, unit: str, whole: bool) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, float)) or n <= 0:
        raise ValueError(f"{unit} must be a positive number, got {n!r}")
    if whole and not float(n).is_integer():
        raise ValueError(f"{unit} must be a whole number, got {n!r}")
    if n > 3660:
        raise ValueError(f"{unit} of {n} is not a plausible deadline")


def _record(function: str, n, start: datetime, due: datetime, provisional_years: tuple[int, ...] = ()) -> str:
    text = due.astimezone(timezone.utc).isoformat()
    computed = _computed.get()
    if computed is not None:
        computed[text] = Computation(function, n, start.isoformat(), provisional_years)
    return text


def _count(function: str, method: str, n, unit: str, since) -> str:
    hours = method == "add_working_hours"
    _check_count(n, unit, whole=not hours)
    start = start_moment(since)
    deadline = getattr(active_calendar(), method)(start, n if hours else int(n))
    return _record(function, n, start, deadline.due, deadline.provisional_years)


def working_days(n, since=None) -> str:
    """Due at the end of the n-th working day after the day of `since` (that day not counted)."""
    return _count("working_days", "add_working_days", n, "working days", since)


def working_hours(n, since=None) -> str:
    """Due after n office hours on working days, counted from `since`."""
    return _count("working_hours", "add_working_hours", n, "working hours", since)


def calendar_days(n, since=None) -> str:
    """Due at the end of the n-th day after the day of `since`; a last day that is off moves to the next working day."""
    return _count("calendar_days", "add_calendar_days", n, "calendar days", since)


def calendar_hours(n, since=None) -> str:
    """Due exactly n hours (round the clock, holidays included) after `since`."""
    _check_count(n, "calendar hours", whole=False)
    start = start_moment(since)
    return _record("calendar_hours", n, start, start + timedelta(hours=n))


def end_of_day(since=None) -> str:
    """Due at 24:00 local time of the calendar day of `since` ("本日内"), holidays included."""
    calendar = active_calendar()
    start = start_moment(since)
    day = start.astimezone(calendar.zone).date()
    return _record("end_of_day", None, start, datetime.combine(day + ONE_DAY, time(0), tzinfo=calendar.zone))


EXPRESSION_FUNCTIONS = {"working_days": working_days, "working_hours": working_hours,
                        "calendar_days": calendar_days, "calendar_hours": calendar_hours,
                        "end_of_day": end_of_day}


def provisional_years(due_text, workflow_data: dict | None = None) -> tuple[int, ...] | None:
    """The years a deadline had to guess; None if no deadline function computed it.

    Looks at this run first, then at the provisional deadlines the workflow kept from
    earlier runs (`keep_provisional`), e.g. one a script task computed before its timer started.
    """
    if not isinstance(due_text, str):
        return None
    computation = (_computed.get() or {}).get(due_text)
    if computation is not None:
        return computation.years
    kept = (workflow_data or {}).get(PROVISIONAL_KEY, {}).get(due_text)
    return tuple(kept["years"]) if kept else None


def keep_provisional(workflow_data: dict) -> None:
    """Keep this run's provisional deadlines in the workflow's data, to be flagged and computed again later."""
    kept = workflow_data.setdefault(PROVISIONAL_KEY, {})
    for text, computation in (_computed.get() or {}).items():
        if computation.years:
            kept[text] = {"function": computation.function, "n": computation.n, "start": computation.start,
                          "years": list(computation.years)}
    if not kept:
        del workflow_data[PROVISIONAL_KEY]


def recompute(due_text, workflow_data: dict):
    """`due_text` computed again on the active calendar if the workflow kept it as provisional, else unchanged.

    The new value is recorded in this run like any other, so `keep_provisional` keeps it
    only while it is still provisional.
    """
    kept = (workflow_data or {}).get(PROVISIONAL_KEY, {})
    call = kept.get(due_text) if isinstance(due_text, str) else None
    if call is None:
        return due_text
    function = EXPRESSION_FUNCTIONS[call["function"]]
    args = () if call["n"] is None else (call["n"],)
    new_text = function(*args, since=call["start"])
    del kept[due_text]
    return new_text
