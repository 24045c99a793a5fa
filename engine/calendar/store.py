"""The organisation's working calendar: overrides kept in the database, one calendar object per revision.

Overrides are loaded with `planflow calendar load FILE`. Every process (web, workers)
rebuilds its calendar when the stored overrides change, so a notice loaded once is
seen everywhere; the check is one small query per use case.
"""
from __future__ import annotations

import threading
from datetime import datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.calendar.working_days import DayKind, DayOverride, Overrides, WorkingCalendar
from engine.config import Settings
from engine.models import CalendarCompleteYear, CalendarOverrideDay

_lock = threading.Lock()
_cached: dict[tuple, WorkingCalendar] = {}


def office_hours(settings: Settings) -> tuple[time, time]:
    opens, closes = settings.office_hours.split("-")
    return time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip())


_REVISION = select(
    select(func.count()).select_from(CalendarOverrideDay).scalar_subquery(),
    select(func.max(CalendarOverrideDay.loaded_at)).scalar_subquery(),
    select(func.count()).select_from(CalendarCompleteYear).scalar_subquery(),
    select(func.max(CalendarCompleteYear.loaded_at)).scalar_subquery(),
)


def _revision(session: Session) -> tuple:
    """What identifies the stored overrides' state, in one small query."""
    return tuple(session.execute(_REVISION).one())


def stored_overrides(session: Session) -> Overrides:
    days = tuple(DayOverride(row.day, DayKind(row.kind), row.name)
                 for row in session.execute(select(CalendarOverrideDay).order_by(CalendarOverrideDay.day)).scalars())
    years = frozenset(session.execute(select(CalendarCompleteYear.year)).scalars())
    return Overrides(days, years)


def current(session: Session, settings: Settings | None = None) -> WorkingCalendar:
    """The calendar as stored now (package data + overrides), built once per revision."""
    settings = settings or Settings.from_env()
    key = (_revision(session), settings.office_hours, settings.timezone)
    calendar = _cached.get(key)
    if calendar is None:
        opens, closes = office_hours(settings)
        calendar = WorkingCalendar(stored_overrides(session), opens=opens, closes=closes, zone=settings.timezone)
        with _lock:
            _cached.clear()
            _cached[key] = calendar
    return calendar


def store_overrides(session: Session, overrides: Overrides, actor: str, now: datetime) -> tuple[int, list[int]]:
    """Save a file's overrides: its days replace stored ones on the same dates; returns (days, years)."""
    for override in overrides.days:
        row = session.get(CalendarOverrideDay, override.day)
        if row is None:
            row = CalendarOverrideDay(day=override.day)
            session.add(row)
        row.kind, row.name, row.loaded_by, row.loaded_at = override.kind.value, override.name, actor, now
    for year in overrides.complete_years:
        row = session.get(CalendarCompleteYear, year) or CalendarCompleteYear(year=year)
        row.loaded_at = now
        session.add(row)
    session.flush()
    return len(overrides.days), sorted(overrides.complete_years)
