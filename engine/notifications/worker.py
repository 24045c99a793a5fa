"""The worker's notification step: announce near deadlines, then send what is due."""
from __future__ import annotations

from datetime import datetime

from engine.calendar.clock import utcnow
from engine.notifications import near_deadlines, sender


def run_once(session_factory, now: datetime | None = None, echo=print) -> sender.SendResult:
    """One pass: warnings whose time has come become notifications; pending mail and webhooks go out."""
    now = now or utcnow()
    warned = near_deadlines.sweep(session_factory, now)
    result = sender.send_due(session_factory, now)
    if warned or result.sent or result.retrying or result.undeliverable:
        echo(f"notifications: {warned} near-deadline warning(s); sent {result.sent}, "
             f"retrying {result.retrying}, undeliverable {result.undeliverable}")
    return result
