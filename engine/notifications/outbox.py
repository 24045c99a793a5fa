"""Write notifications into the outbox: one row per recipient and channel, in the caller's transaction.

Nothing is sent here. The in-app row is the bell entry itself (sent on writing); mail and
webhook rows wait for the sender (engine.notifications.sender), which the worker runs.
Quiet hours and the daily digest only set when a mail row becomes due: an urgent
notification is always due at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, insert, select
from sqlalchemy.orm import Session

from engine.calendar.local_time import zone
from engine.models import Notification, NotificationPreference, NotificationStatus, User, UserRole, Webhook
from engine.notifications import preferences
from engine.notifications.settings import NotifySettings, parse_clock, step_settings

APP, EMAIL, WEBHOOK = "app", "email", "webhook"
_HOLDERS, _PEOPLE = "planflow.notifications.holders", "planflow.notifications.people"
_WEBHOOKS = "planflow.notifications.webhooks"


@dataclass
class Announcement:
    """One happening worth telling people about."""

    event: str            # a key of templates.EVENTS
    key: str              # names the happening, e.g. "ready:42"
    payload: dict
    case_id: int | None = None
    task_id: int | None = None
    urgent: bool = False
    webhooks: bool = True  # also tell the webhooks that listen for this event
    recipients: list[str] = field(default_factory=list)


def role_holders(session: Session, role: str) -> list[str]:
    """Active users holding `role`, by name.

    Read once per transaction with each holder's language and preferences, which `write`
    then finds without a query of its own: a step's notifications cost one read per role.
    """
    cache = session.info.setdefault(_HOLDERS, {})
    if role not in cache:
        rows = session.execute(_ROLE_HOLDERS, {"role": role}).all()
        _remember(session, rows)
        cache[role] = [name for name, _, _ in rows]
    return cache[role]


def _people():
    return select(User.username, User.locale, NotificationPreference).outerjoin(
        NotificationPreference, NotificationPreference.username == User.username)


# Built once: a step runs them for every role it notifies.
_ROLE_HOLDERS = _people().join(UserRole, UserRole.user_id == User.id) \
    .where(UserRole.role == bindparam("role"), User.active.is_(True)).order_by(User.username)
_PEOPLE_NAMED = _people().where(User.username.in_(bindparam("names", expanding=True)))
_ACTIVE_WEBHOOKS = select(Webhook).where(Webhook.active.is_(True)).order_by(Webhook.id)


def _remember(session: Session, rows) -> None:
    known = session.info.setdefault(_PEOPLE, {})
    for name, locale, row in rows:
        known[name] = (locale, preferences.from_row(row, name))


def _people_named(session: Session, names: list[str]) -> dict[str, tuple[str, preferences.Preferences]]:
    known = session.info.setdefault(_PEOPLE, {})
    missing = [n for n in names if n not in known]
    if missing:
        _remember(session, session.execute(_PEOPLE_NAMED, {"names": missing}).all())
    return {n: known[n] for n in names if n in known}


def _active_webhooks(session: Session) -> list[Webhook]:
    if _WEBHOOKS not in session.info:
        session.info[_WEBHOOKS] = list(session.execute(_ACTIVE_WEBHOOKS).scalars())
    return session.info[_WEBHOOKS]


def already_announced(session: Session, key: str) -> bool:
    return session.execute(select(exists().where(Notification.event_key == key))).scalar()


def write(session: Session, announcement: Announcement, now: datetime, settings: NotifySettings | None = None) -> int:
    """Put the announcement's rows into the outbox; returns how many rows were written."""
    settings = settings or step_settings()
    people = _people_named(session, sorted(set(announcement.recipients)))
    rows = []
    for name, (locale, pref) in people.items():
        if pref.wants(announcement.event, APP):
            rows.append(_row(announcement, APP, name, None, locale, now, now, NotificationStatus.SENT, sent_at=now))
        if pref.email and settings.mail.configured and pref.wants(announcement.event, EMAIL):
            due, digest = _mail_due(pref, announcement.urgent, now, settings)
            rows.append(_row(announcement, EMAIL, name, pref.email, locale, now, due, NotificationStatus.PENDING,
                             digest=digest))
    if announcement.webhooks:
        for hook in _active_webhooks(session):
            if not hook.events or announcement.event in hook.events:
                rows.append(_row(announcement, WEBHOOK, hook.name, hook.url, hook.locale, now, now,
                                 NotificationStatus.PENDING))
    if rows:  # one statement (batched by the driver layer), compiled once: a VALUES list would compile anew each time
        session.execute(insert(Notification.__table__), rows)
    return len(rows)


def _row(a: Announcement, channel, recipient, address, locale, now, due, status, sent_at=None, digest=False) -> dict:
    return {"event": a.event, "event_key": a.key[:80], "channel": channel, "recipient": recipient,
            "address": address, "locale": locale or "zh_CN", "urgent": a.urgent, "digest": digest,
            "case_id": a.case_id, "task_id": a.task_id, "payload": a.payload, "status": status, "created_at": now,
            "next_attempt_at": due, "attempts": 0, "last_error": None, "sent_at": sent_at, "read_at": None}


def _mail_due(pref: preferences.Preferences, urgent: bool, now: datetime, settings: NotifySettings):
    """When a mail row should go: now, after the user's quiet hours, or with the next daily digest."""
    if urgent:
        return now, False
    if pref.daily_digest:
        return next_digest_time(now, settings.digest_at), True
    return pref.quiet_end(now) or now, False


def next_digest_time(now: datetime, digest_at: str) -> datetime:
    hour, minute = parse_clock(digest_at, "PLANFLOW_NOTIFY_DIGEST_AT")
    local = now.astimezone(zone())
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    return at.astimezone(now.tzinfo)
