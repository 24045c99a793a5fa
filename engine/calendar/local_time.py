"""Times as people read them: in the organisation's zone (PLANFLOW_TIMEZONE), never UTC.

Stored times stay aware UTC and machine outputs (JSON, evidence files, CSV machine
columns) keep ISO text with an offset; every page, CLI line and CSV column meant for a
person goes through `local_time` or `due_time`.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.config import Settings


def zone(settings: Settings | None = None) -> ZoneInfo:
    """The organisation's time zone; an unknown name is a configuration error that says so."""
    name = (settings or Settings.from_env()).timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"PLANFLOW_TIMEZONE={name!r} is not a known time zone (e.g. Asia/Shanghai)") from None


def to_local(moment: datetime | str | None, settings: Settings | None = None) -> datetime | None:
    """An aware datetime (or ISO text with an offset) in the organisation's zone; None stays None."""
    if moment is None or moment == "":
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"cannot show naive time {moment.isoformat()}: its zone is unknown")
    return moment.astimezone(zone(settings))


def local_time(moment: datetime | str | None, settings: Settings | None = None) -> str:
    """'2026-03-02 09:00' in local time; '' for no time."""
    local = to_local(moment, settings)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def due_time(moment: datetime | str | None, settings: Settings | None = None) -> str:
    """A deadline as people read it: one that ends with a day shows as that day's 24:00, not the next 00:00."""
    local = to_local(moment, settings)
    if local is None:
        return ""
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return (local - timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def local_date(moment: datetime, settings: Settings | None = None) -> date:
    """The local calendar day of an aware moment."""
    return to_local(moment, settings).date()
