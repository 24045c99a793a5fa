"""The bell in the app: a user's notifications, the unread count, marking them read."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.models import Notification, NotificationStatus
from engine.notifications.outbox import APP

PAGE = 50


def _mine(username: str):
    return (Notification.recipient == username, Notification.channel == APP,
            Notification.status == NotificationStatus.SENT)


def unread_count(session: Session, username: str) -> int:
    return session.execute(select(func.count(Notification.id))
                           .where(*_mine(username), Notification.read_at.is_(None))).scalar_one()


def latest(session: Session, username: str, limit: int = PAGE, before_id: int | None = None) -> list[Notification]:
    """The user's notifications, newest first."""
    query = select(Notification).where(*_mine(username))
    if before_id:
        query = query.where(Notification.id < before_id)
    return list(session.execute(query.order_by(Notification.id.desc()).limit(limit)).scalars())


def mark_read(session: Session, username: str, now: datetime, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (the named ones, or all); returns how many changed."""
    query = update(Notification).where(*_mine(username), Notification.read_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    return session.execute(query.values(read_at=now)).rowcount


def undeliverable(session: Session, limit: int = 200) -> list[Notification]:
    """Mail and webhook rows that could not be delivered, newest first (for a process owner)."""
    return list(session.execute(select(Notification).where(Notification.status == NotificationStatus.UNDELIVERABLE)
                                .order_by(Notification.id.desc()).limit(limit)).scalars())


def pending(session: Session, limit: int = 200) -> list[Notification]:
    """Mail and webhook rows still waiting to go, soonest first."""
    return list(session.execute(select(Notification).where(Notification.status == NotificationStatus.PENDING)
                                .order_by(Notification.next_attempt_at, Notification.id).limit(limit)).scalars())


def get_mine(session: Session, username: str, notification_id: int) -> Notification | None:
    """One of the user's own notifications, or None (someone else's counts as none)."""
    return session.execute(select(Notification).where(*_mine(username), Notification.id == notification_id)
                           ).scalar_one_or_none()
