"""Append audit events: each case has its own hash chain, events without a case share the global one.

Every event stores its position in its chain, the hash of the chain's previous event,
a hash over its own content and that previous hash, and an Ed25519 signature of its
hash made with a key that is not in the database (engine.records.audit.keys). Rewriting an
event therefore needs the key, not only write access to the database.

An append locks only its chain's head row, so transactions on different cases commit
in parallel; two transactions on one case queue up rather than forking its chain.
The global `seq` is an autoincrement id giving display order, taken without a lock.
"""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime

from sqlalchemy import bindparam, event as orm_events, insert, select
from sqlalchemy.orm import Session

from engine.calendar.clock import as_utc
from engine.drills import clock as drill_clock
from engine.models import AuditChainHead, AuditEvent, Case
from engine.records.audit import keys
from engine.records.audit.offline_verify import GENESIS_HASH, event_hash, payload_hash

GLOBAL_CHAIN = 0  # the head row id of the chain of events without a case; a case chain's is the case id


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
    AUDIT_ANCHORED = "audit_anchored"
    CASE_PURGED = "case_purged"


def hash_of(event: AuditEvent) -> str:
    """The hash the published rule gives for a stored event."""
    return event_hash(event.chain_seq, as_utc(event.occurred_at).isoformat(), event.actor, event.kind, event.case_id,
                      event.case_number, event.element_id, payload_hash(event.salt, event.payload), event.prev_hash)


_LOCKED_HEAD = select(AuditChainHead).where(AuditChainHead.id == bindparam("chain")).with_for_update()


def lock_head(session: Session, chain: int) -> AuditChainHead:
    """A chain's head row, locked for the rest of this transaction (queried once per chain and transaction)."""
    transaction = session.get_transaction()
    cached = session.info.get("audit_heads")
    if cached is None or cached[0] is not transaction:
        cached = session.info["audit_heads"] = (transaction, {})
    head = cached[1].get(chain)
    if head is None:
        head = session.execute(_LOCKED_HEAD, {"chain": chain}).scalar_one_or_none()
        if head is None:
            head = AuditChainHead(id=chain, last_seq=0, last_hash=GENESIS_HASH, anchored_seq=0,
                                  trail=uuid.uuid4().hex if chain == GLOBAL_CHAIN else None)
            session.add(head)
        cached[1][chain] = head
    return head


def record(session: Session, kind: str, actor: str, now: datetime, *, case: Case | None = None,
           element_id: str | None = None, payload: dict | None = None) -> AuditEvent:
    """Append one signed event to its chain inside the caller's transaction."""
    now, payload = drill_clock.stamp(session, case, now, payload)  # a drill case's events: simulated time, marked
    head = lock_head(session, case.id if case is not None else GLOBAL_CHAIN)
    now = as_utc(now)
    # Round-trip through JSON so the hash covers exactly what the database stores.
    payload = json.loads(json.dumps(payload or {}, ensure_ascii=False, default=str))
    chain_seq = head.last_seq + 1
    case_id = case.id if case is not None else None
    case_number = case.number if case is not None else None
    # The salt lets a pack leave a payload out (masked identity) without its hash being guessable.
    salt = os.urandom(16).hex()
    digest = event_hash(chain_seq, now.isoformat(), actor, kind, case_id, case_number, element_id,
                        payload_hash(salt, payload), head.last_hash)
    signer = keys.signer()
    event = AuditEvent(chain_seq=chain_seq, occurred_at=now, actor=actor, kind=kind, case_id=case_id,
                       case_number=case_number, element_id=element_id, payload=payload, salt=salt,
                       prev_hash=head.last_hash, hash=digest, key_id=signer.key_id,
                       signature=signer.sign(digest.encode("ascii")))
    session.info.setdefault(_PENDING, []).append(event)
    head.last_seq, head.last_hash = chain_seq, digest   # the head is dirty now: the next flush writes the events
    return event


# Events recorded in a transaction and not yet written: the next flush inserts them all in one statement.
_PENDING = "planflow_audit_pending"
# Every column but the id the database gives: a column added to AuditEvent is written without more ado.
_COLUMNS = tuple(column.key for column in AuditEvent.__table__.columns if column.key != "seq")


@orm_events.listens_for(Session, "before_flush")
def _write_pending(session: Session, _context, _instances) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.execute(insert(AuditEvent.__table__),
                        [{name: getattr(recorded, name) for name in _COLUMNS} for recorded in pending])


@orm_events.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, _previous) -> None:
    session.info.pop(_PENDING, None)
