"""How long closed cases are kept, and which are due for deletion.

`PLANFLOW_RETENTION_DAYS` (default 1825, five years) counts from a case's completion.
Running cases are never due.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import PlanFlowError
from engine.models import Case, CaseStatus

RETENTION_ENV = "PLANFLOW_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 1825


def retention_days(environ: dict | None = None) -> int:
    """The configured retention in days, refusing anything but a positive whole number."""
    value = (os.environ if environ is None else environ).get(RETENTION_ENV, str(DEFAULT_RETENTION_DAYS))
    try:
        days = int(value)
    except ValueError:
        days = 0
    if days <= 0:
        raise PlanFlowError(f"{RETENTION_ENV} must be a positive number of days, not {value!r}")
    return days


@dataclass(frozen=True)
class DueCase:
    number: str
    plan: str
    completed_at: datetime
    due_since: datetime


def due_for_deletion(session: Session, now: datetime, days: int) -> list[DueCase]:
    """Closed cases completed more than `days` ago, oldest first."""
    cutoff = now - timedelta(days=days)
    rows = session.execute(select(Case).where(Case.status == CaseStatus.COMPLETED, Case.completed_at < cutoff)
                           .order_by(Case.completed_at, Case.id)).scalars()
    return [DueCase(c.number, c.plan_version.plan_key, c.completed_at, c.completed_at + timedelta(days=days))
            for c in rows]
