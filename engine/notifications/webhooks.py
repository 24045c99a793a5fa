"""Outgoing webhooks, managed by a process owner from the command line."""
from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound, PlanFlowError
from engine.models import Webhook
from engine.notifications.channels import STYLES
from engine.notifications.templates import EVENTS


def add_webhook(session: Session, name: str, url: str, actor: str, now: datetime, *, style: str = "planflow",
                secret: str | None = None, events: list[str] | None = None, locale: str = "zh_CN") -> Webhook:
    """Register a webhook; without a secret one is generated (shown once by the CLI)."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise PlanFlowError("a webhook needs a name of at most 80 characters")
    parsed = urlparse(url or "")
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise PlanFlowError(f"{url!r} is not an http(s) URL")
    if style not in STYLES:
        raise PlanFlowError(f"unknown style {style!r} (known: {', '.join(STYLES)})")
    unknown = [e for e in events or [] if e not in EVENTS]
    if unknown:
        raise PlanFlowError(f"unknown event(s): {', '.join(unknown)} (known: {', '.join(EVENTS)})")
    if locale not in ("zh_CN", "en"):
        raise PlanFlowError("the language is zh_CN or en")
    if session.execute(select(Webhook).where(Webhook.name == name)).scalar_one_or_none() is not None:
        raise PlanFlowError(f"a webhook named {name!r} exists already")
    hook = Webhook(name=name, url=url, secret=secret or secrets.token_hex(24), style=style,
                   events=sorted(set(events or [])), locale=locale, active=True, created_by=actor, created_at=now)
    session.add(hook)
    session.flush()
    return hook


def list_webhooks(session: Session) -> list[Webhook]:
    return list(session.execute(select(Webhook).order_by(Webhook.name)).scalars())


def remove_webhook(session: Session, name: str) -> None:
    hook = session.execute(select(Webhook).where(Webhook.name == name)).scalar_one_or_none()
    if hook is None:
        raise NotFound(f"no webhook named {name!r}")
    session.delete(hook)
