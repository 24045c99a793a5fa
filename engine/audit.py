"""Append-only, hash-chained audit events, and verification of the chain.

Every event stores the hash of the one before it and a hash over its own content
and that previous hash. Editing, deleting or reordering any row changes a hash
that a later row (or the chain head) committed to, so `verify_chain` finds it.
Appends lock the single chain-head row, so concurrent transactions queue up
rather than forking the chain.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.models import AuditChainHead, AuditEvent, Case

GENESIS_HASH = "0" * 64


class EventKind:
    PLAN_DEPLOYED = "plan_deployed"
    CASE_STARTED = "case_started"
    TASK_READY = "task_ready"
    TASK_CLAIMED = "task_claimed"
    TASK_RELEASED = "task_released"
    TASK_COMPLETED = "task_completed"
    TASK_CANCELLED = "task_cancelled"
    TIMER_FIRED = "timer_fired"
    TIMER_FAILED = "timer_failed"
    ESCALATED = "escalated"
    DEADLINE_PROVISIONAL = "deadline_provisional"
    DEADLINE_RECOMPUTED = "deadline_recomputed"
    INCIDENT = "incident"
    CALENDAR_LOADED = "calendar_loaded"
    CASE_MIGRATED = "case_migrated"
    CASE_COMPLETED = "case_completed"
    MESSAGE_RECEIVED = "message_received"
    CASE_RETRIED = "case_retried"


def _event_hash(seq: int, occurred_at: datetime, actor: str, kind: str, case_id: int | None,
                case_number: str | None, element_id: str | None, payload: dict, prev_hash: str) -> str:
    canonical = json.dumps(
        [seq, occurred_at.isoformat(), actor, kind, case_id, case_number, element_id, payload, prev_hash],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _lock_head(session: Session) -> AuditChainHead:
    """The chain head, locked for the rest of this transaction (queried once per transaction)."""
    transaction = session.get_transaction()
    cached = session.info.get("audit_head")
    if cached is not None and cached[0] is transaction:
        return cached[1]
    head = session.execute(select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditChainHead(id=1, last_seq=0, last_hash=GENESIS_HASH)
        session.add(head)
        session.flush()
    session.info["audit_head"] = (transaction, head)
    return head


def record(session: Session, kind: str, actor: str, now: datetime, *, case: Case | None = None,
           element_id: str | None = None, payload: dict | None = None) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction."""
    head = _lock_head(session)
    now = as_utc(now)
    # Round-trip through JSON so the hash covers exactly what the database stores.
    payload = json.loads(json.dumps(payload or {}, ensure_ascii=False, default=str))
    seq = head.last_seq + 1
    case_id = case.id if case is not None else None
    case_number = case.number if case is not None else None
    digest = _event_hash(seq, now, actor, kind, case_id, case_number, element_id, payload, head.last_hash)
    event = AuditEvent(seq=seq, occurred_at=now, actor=actor, kind=kind, case_id=case_id, case_number=case_number,
                       element_id=element_id, payload=payload, prev_hash=head.last_hash, hash=digest)
    session.add(event)
    head.last_seq, head.last_hash = seq, digest
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    broken_at: int | None = None
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.events_checked} event(s) verified"
        return f"audit chain broken at event {self.broken_at}: {self.reason}"


def verify_chain(session: Session, case_id: int | None = None) -> ChainReport:
    """Recompute the whole chain; name the first event that does not match.

    With `case_id`, the whole chain is still walked (a case's events are only
    trustworthy if everything before them is), but only that case's events are counted.
    """
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars():
        if event.seq != expected_seq:
            return ChainReport(False, checked, expected_seq, f"event {expected_seq} is missing (next stored is {event.seq})")
        if event.prev_hash != expected_prev:
            return ChainReport(False, checked, event.seq, "its previous-hash does not match the event before it")
        recomputed = _event_hash(event.seq, event.occurred_at, event.actor, event.kind, event.case_id,
                                 event.case_number, event.element_id, event.payload, event.prev_hash)
        if recomputed != event.hash:
            return ChainReport(False, checked, event.seq, "its content does not match its hash (edited)")
        if case_id is None or event.case_id == case_id:
            checked += 1
        expected_prev = event.hash
        expected_seq += 1
    head = session.get(AuditChainHead, 1)
    last_seq = expected_seq - 1
    if head is not None and (head.last_seq != last_seq or head.last_hash != expected_prev):
        return ChainReport(False, checked, last_seq + 1 if head.last_seq > last_seq else head.last_seq,
                           f"the chain head records {head.last_seq} event(s) but {last_seq} are stored intact")
    return ChainReport(True, checked)
