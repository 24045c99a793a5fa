"""The worker's notification step: announce near deadlines, then send what is due."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from engine.calendar.clock import utcnow
from engine.notifications import near_deadlines, sender

log = logging.getLogger(__name__)


def run_once(session_factory, now: datetime | None = None, echo=print) -> sender.SendResult | None:
    """One pass: warnings whose time has come become notifications; pending mail and webhooks go out.

    A failure here is reported and left for the next pass: it must never stop the timer sweep
    that runs in the same loop. A database outage is raised, for the worker to wait out.
    """
    now = now or utcnow()
    try:
        warned = near_deadlines.sweep(session_factory, now)
        result = sender.send_due(session_factory, now)
    except DBAPIError:
        raise
    except Exception as exc:  # noqa: BLE001 — see the docstring
        log.exception("notification pass failed")
        echo(f"notifications: pass failed ({type(exc).__name__}: {exc}); trying again next time")
        return None
    if warned or result.sent or result.retrying or result.undeliverable:
        echo(f"notifications: {warned} near-deadline warning(s); sent {result.sent}, "
             f"retrying {result.retrying}, undeliverable {result.undeliverable}")
    return result
