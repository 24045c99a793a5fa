"""How long closed cases are kept, which are due for deletion, and deleting them.

`PLANFLOW_RETENTION_DAYS` (default 1825, five years) counts from a case's completion.
Running cases are never due. Deleting a case leaves a signed `case_purged` event in the
global audit chain holding the head of the case's chain (position, hash, event id), so
checkpoints taken while the case existed still verify, and every deletion is audited.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.cases.use_cases import lock_case
from engine.errors import PlanFlowError
from engine.models import Attachment, AuditChainHead, AuditEvent, Case, CaseStatus, MessageSubscription, Task, Timer
from engine.records import audit
from engine.records.audit.events import lock_head

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


@dataclass(frozen=True)
class Purge:
    deleted: list[str]
    refused: list[tuple[str, str]]  # (case number, why): a case whose chain does not verify is kept as evidence
    files: list[str]  # SHA-256 of the deleted cases' attachments; the files stay in storage


def purge(session: Session, now: datetime, days: int, actor: str) -> Purge:
    """Delete the closed cases kept longer than `days`, each with its rows and audit events, audited.

    The global chain's head is locked before any case row, the order calendar loading uses too.
    """
    lock_head(session, audit.GLOBAL_CHAIN)
    deleted, refused, files = [], [], []
    for due in due_for_deletion(session, now, days):
        case = lock_case(session, session.execute(select(Case.id).where(Case.number == due.number)).scalar_one())
        report = audit.verify_chain(session, case.id)
        if not report.ok:
            refused.append((case.number, str(report)))
            continue
        head = session.get(AuditChainHead, case.id)
        last_event = session.execute(select(func.max(AuditEvent.seq)).where(AuditEvent.case_id == case.id)).scalar()
        hashes = sorted(set(session.execute(select(Attachment.sha256).where(Attachment.case_id == case.id)).scalars()))
        audit.record(session, audit.EventKind.CASE_PURGED, actor, now, payload={
            "case_id": case.id, "case_number": case.number, "plan": due.plan,
            "completed_at": due.completed_at.isoformat(), "retention_days": days,
            "chain": [head.last_seq, head.last_hash, last_event] if head is not None else [0, audit.GENESIS_HASH, None],
            "attachments": hashes})
        for table in (AuditEvent, Attachment, Task, Timer, MessageSubscription):
            session.execute(delete(table).where(table.case_id == case.id))
        session.execute(delete(AuditChainHead).where(AuditChainHead.id == case.id))
        session.delete(case)
        deleted.append(case.number)
        files.extend(hashes)
    return Purge(deleted, refused, sorted(set(files)))
