"""The sender: deliver pending mail and webhook rows from the outbox, at least once.

A run claims a batch by pushing its rows' next attempt a lease into the future (under the
row locks; on SQLite under the write lock), then sends each and marks it in a transaction
of its own. So a second sender never takes a row being sent, and a sender killed between
sending and marking leaves the row to come due again when the lease ends: that row goes
out a second time — the one duplicate at-least-once allows — and none is ever lost.
A failure is retried with a growing delay; a refusal for good, or too many attempts,
makes the row undeliverable (`planflow notifications list --undeliverable`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from engine.calendar.clock import utcnow
from engine.db import transaction
from engine.models import Notification, NotificationStatus, Webhook
from engine.notifications.channels import Mailer, Undeliverable, post_webhook
from engine.notifications.outbox import EMAIL, WEBHOOK
from engine.notifications.settings import NotifySettings
from engine.notifications.templates import render, render_digest

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(hours=1)


@dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0
    undeliverable: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Delivery:
    """One mail or webhook call: one row, or a user's digest rows together."""

    ids: tuple[int, ...]
    channel: str
    recipient: str
    address: str | None
    locale: str
    attempts: int
    items: tuple[tuple[str, dict, int, bool, str], ...]  # (event, payload, id, urgent, created_at)
    digest: bool
    hook: tuple[str, str, str] | None  # (url, style, secret) of a webhook that still exists


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling each time, at most an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


def send_due(session_factory: sessionmaker, now: datetime | None = None, settings: NotifySettings | None = None,
             batch: int = 50, lease: timedelta = LEASE) -> SendResult:
    """Send every mail and webhook row due at `now` (default: the real time); returns what happened."""
    now = now or utcnow()
    settings = settings or NotifySettings.from_env()
    result = SendResult()
    mailer = Mailer(settings.mail)
    try:
        while True:
            deliveries = _claim(session_factory, now, batch, lease)
            if not deliveries:
                return result
            for delivery in deliveries:
                _deliver(session_factory, delivery, now, settings, mailer, result)
    finally:
        mailer.close()


def _claim(session_factory, now, batch, lease) -> list[_Delivery]:
    with transaction(session_factory) as session:
        rows = list(session.execute(
            select(Notification).where(Notification.status == NotificationStatus.PENDING,
                                       Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at, Notification.id).limit(batch)
            .with_for_update(skip_locked=True)).scalars())
        for row in rows:
            row.next_attempt_at = now + lease
            row.attempts += 1
        hook_names = {r.recipient for r in rows if r.channel == WEBHOOK}
        hooks = {h.name: (h.url, h.style, h.secret) for h in session.execute(
            select(Webhook).where(Webhook.name.in_(hook_names), Webhook.active.is_(True))).scalars()} if hook_names else {}
        return _group(rows, hooks)


def _group(rows: list[Notification], hooks: dict) -> list[_Delivery]:
    deliveries, digests = [], {}
    for row in rows:
        item = (row.event, row.payload, row.id, row.urgent, row.created_at.isoformat())
        if row.channel == EMAIL and row.digest:
            digests.setdefault((row.recipient, row.address, row.locale), []).append((row, item))
            continue
        deliveries.append(_Delivery((row.id,), row.channel, row.recipient, row.address, row.locale, row.attempts,
                                    (item,), False, hooks.get(row.recipient)))
    for (recipient, address, locale), pairs in digests.items():
        deliveries.append(_Delivery(tuple(r.id for r, _ in pairs), EMAIL, recipient, address, locale,
                                    max(r.attempts for r, _ in pairs), tuple(i for _, i in pairs), True, None))
    return deliveries


def _deliver(session_factory, delivery: _Delivery, now, settings, mailer: Mailer, result: SendResult) -> None:
    reference = f"planflow-{delivery.ids[0]}"
    try:
        if delivery.channel == EMAIL:
            if delivery.digest and len(delivery.items) > 1:
                message = render_digest([(e, p) for e, p, *_ in delivery.items], delivery.locale, settings.base_url, now)
            else:
                event, payload = delivery.items[0][:2]
                message = render(event, payload, delivery.locale, settings.base_url)
            mailer.send(delivery.address, message, reference)
        elif delivery.channel == WEBHOOK:
            if delivery.hook is None:
                _finish(session_factory, delivery, NotificationStatus.SKIPPED, now, "the webhook was removed or paused")
                return
            url, style, secret = delivery.hook
            event, payload, row_id, urgent, created_at = delivery.items[0]
            message = render(event, payload, delivery.locale, settings.base_url)
            document = {"id": row_id, "event": event, "urgent": urgent, "created_at": created_at,
                        "locale": delivery.locale, "link": settings.base_url + payload.get("link", "/"),
                        "case": payload.get("case"), "facts": payload}
            post_webhook(url, style, secret, message, document, reference, settings.webhook_timeout)
        else:
            raise Undeliverable(f"unknown channel {delivery.channel!r}")
    except Undeliverable as exc:
        _finish(session_factory, delivery, NotificationStatus.UNDELIVERABLE, now, str(exc))
        result.undeliverable += len(delivery.ids)
        result.errors.append(f"{delivery.recipient}: {exc}")
        return
    except Exception as exc:  # noqa: BLE001 — any other failure may pass: try again later
        error = f"{type(exc).__name__}: {exc}"[:1000]
        if delivery.attempts >= settings.max_attempts:
            _finish(session_factory, delivery, NotificationStatus.UNDELIVERABLE, now,
                    f"gave up after {delivery.attempts} attempts: {error}")
            result.undeliverable += len(delivery.ids)
        else:
            _retry_later(session_factory, delivery, now, error)
            result.retrying += len(delivery.ids)
        result.errors.append(f"{delivery.recipient}: {error}")
        log.warning("notification %s to %s failed: %s", delivery.ids, delivery.recipient, error)
        return
    _finish(session_factory, delivery, NotificationStatus.SENT, now, None)
    result.sent += len(delivery.ids)


def _finish(session_factory, delivery: _Delivery, status: NotificationStatus, now, error: str | None) -> None:
    with transaction(session_factory) as session:
        session.execute(update(Notification).where(Notification.id.in_(delivery.ids))
                        .values(status=status, last_error=error,
                                sent_at=now if status == NotificationStatus.SENT else None))


def _retry_later(session_factory, delivery: _Delivery, now, error: str) -> None:
    with transaction(session_factory) as session:
        session.execute(update(Notification).where(Notification.id.in_(delivery.ids),
                                                   Notification.status == NotificationStatus.PENDING)
                        .values(next_attempt_at=now + retry_delay(delivery.attempts), last_error=error))


def retry_undeliverable(session, now: datetime, ids: list[int] | None = None) -> int:
    """Put undeliverable rows (all, or those named) back in the queue, due now; returns how many."""
    query = update(Notification).where(Notification.status == NotificationStatus.UNDELIVERABLE)
    if ids:
        query = query.where(Notification.id.in_(ids))
    return session.execute(query.values(status=NotificationStatus.PENDING, next_attempt_at=now, attempts=0)).rowcount
