"""Each user's notification preferences: which events, which channels, quiet hours, daily digest."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar.local_time import zone
from engine.errors import PlanFlowError
from engine.models import NotificationPreference
from engine.notifications.settings import parse_clock
from engine.notifications.templates import EVENTS
from engine.people.users import get_user

USER_CHANNELS = ("app", "email")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Preferences:
    username: str
    email: str | None = None
    muted_events: frozenset = frozenset()
    channels: tuple = USER_CHANNELS
    quiet_from: str | None = None
    quiet_until: str | None = None
    daily_digest: bool = False
    extra: dict = field(default_factory=dict)

    def wants(self, event: str, channel: str) -> bool:
        return event not in self.muted_events and channel in self.channels

    def quiet_end(self, now: datetime) -> datetime | None:
        """If `now` falls in this user's quiet hours, when they end (aware UTC); else None."""
        if not (self.quiet_from and self.quiet_until):
            return None
        local = now.astimezone(zone())
        start, end = time(*parse_clock(self.quiet_from, "quiet hours")), time(*parse_clock(self.quiet_until, "quiet hours"))
        clock = local.time()
        inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
        if not inside:
            return None
        ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if ends <= local:
            ends += timedelta(days=1)
        return ends.astimezone(now.tzinfo)


def from_row(row: NotificationPreference | None, username: str) -> Preferences:
    if row is None:
        return Preferences(username)
    return Preferences(username, row.email, frozenset(row.muted_events or ()),
                       tuple(c for c in (row.channels or []) if c in USER_CHANNELS), row.quiet_from, row.quiet_until,
                       bool(row.daily_digest))


def load_many(session: Session, usernames: list[str]) -> dict[str, Preferences]:
    """Preferences of several users in one query (defaults for users who never set any)."""
    rows = {r.username: r for r in session.execute(
        select(NotificationPreference).where(NotificationPreference.username.in_(usernames))).scalars()} if usernames else {}
    return {name: from_row(rows.get(name), name) for name in usernames}


def get_preferences(session: Session, username: str) -> Preferences:
    return load_many(session, [username])[username]


def set_preferences(session: Session, username: str, *, email: str | None, muted_events: list[str],
                    channels: list[str], quiet_from: str | None, quiet_until: str | None,
                    daily_digest: bool) -> Preferences:
    """Save a user's preferences; anything unreadable is refused with what to write instead."""
    get_user(session, username)
    email = (email or "").strip() or None
    if email and not _EMAIL.match(email):
        raise PlanFlowError(f"{email!r} is not an e-mail address")
    unknown = [e for e in muted_events if e not in EVENTS]
    if unknown:
        raise PlanFlowError(f"unknown event(s): {', '.join(unknown)} (known: {', '.join(EVENTS)})")
    bad = [c for c in channels if c not in USER_CHANNELS]
    if bad:
        raise PlanFlowError(f"unknown channel(s): {', '.join(bad)} (known: {', '.join(USER_CHANNELS)})")
    quiet_from, quiet_until = (quiet_from or "").strip() or None, (quiet_until or "").strip() or None
    if bool(quiet_from) != bool(quiet_until):
        raise PlanFlowError("quiet hours need both a start and an end, e.g. 22:00 and 07:30")
    for value in (quiet_from, quiet_until):
        if value:
            parse_clock(value, "quiet hours")
    if quiet_from and quiet_from == quiet_until:
        raise PlanFlowError("quiet hours cannot start and end at the same time")
    row = session.get(NotificationPreference, username)
    if row is None:
        row = NotificationPreference(username=username)
        session.add(row)
    row.email, row.muted_events, row.channels = email, sorted(set(muted_events)), [c for c in USER_CHANNELS if c in channels]
    row.quiet_from, row.quiet_until, row.daily_digest = quiet_from, quiet_until, bool(daily_digest)
    session.flush()
    return from_row(row, username)
