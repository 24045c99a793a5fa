"""Signed checkpoints of the chain heads, appended to a file outside the database.

`anchor` writes the heads of the case chains that grew since the last anchor into an
`audit_anchored` event of the global chain, then appends one signed line — the global
head, those case heads, the event count, the time — to `checkpoints.jsonl` in the audit
folder. Someone who can write the database but not that folder (nor read the signing
key) can no longer delete a tail of events and fix the head rows unseen: the checkpoint
still names the head they removed.
"""
from __future__ import annotations

import json
import logging
import os
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from engine.calendar.clock import as_utc
from engine.db import transaction
from engine.models import AuditChainHead, AuditEvent
from engine.records.audit import keys
from engine.records.audit.events import GLOBAL_CHAIN, EventKind, lock_head, record
from engine.records.audit.offline_verify import canonical

log = logging.getLogger(__name__)
CHECKPOINT_FORMAT = "planflow-checkpoint-1"
ANCHOR_MINUTES_ENV = "PLANFLOW_AUDIT_ANCHOR_MINUTES"


def checkpoint_file(directory: Path | None = None) -> Path:
    return (directory or keys.audit_dir()) / "checkpoints.jsonl"


def anchor(session_factory: sessionmaker, now: datetime, directory: Path | None = None) -> dict | None:
    """Anchor the heads that moved since the last checkpoint; the checkpoint written, or None if nothing moved.

    The line is appended only after the anchoring transaction committed, so a checkpoint
    never names an event that does not exist.
    """
    with transaction(session_factory) as session:
        checkpoint = _anchor_heads(session, now)
    if checkpoint is not None:
        keys.keep_public_key()
        path = checkpoint_file(directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(checkpoint, ensure_ascii=False, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    return checkpoint


def _anchor_heads(session: Session, now: datetime) -> dict | None:
    global_head = lock_head(session, GLOBAL_CHAIN)
    # Heads still locked by an open transaction are skipped: they are anchored next time.
    moved = session.execute(
        select(AuditChainHead, AuditEvent.seq)
        .join(AuditEvent, and_(AuditEvent.case_id == AuditChainHead.id, AuditEvent.chain_seq == AuditChainHead.last_seq))
        .where(AuditChainHead.id != GLOBAL_CHAIN, AuditChainHead.last_seq > AuditChainHead.anchored_seq)
        .order_by(AuditChainHead.id).with_for_update(of=AuditChainHead, skip_locked=True)).all()
    if not moved and global_head.last_seq == global_head.anchored_seq:
        return None
    cases = {str(head.id): [head.last_seq, head.last_hash, seq] for head, seq in moved}
    for head, _ in moved:
        head.anchored_seq = head.last_seq
    event = record(session, EventKind.AUDIT_ANCHORED, "system", now,
                   payload={"trail": global_head.trail, "cases": cases})
    global_head.anchored_seq = global_head.last_seq
    session.flush()
    anchored_at = session.execute(select(AuditEvent.seq).where(   # events are inserted in a batch: no id on `event`
        AuditEvent.case_id.is_(None), AuditEvent.chain_seq == event.chain_seq)).scalar_one()
    signer = keys.signer()
    checkpoint = {
        "format": CHECKPOINT_FORMAT, "trail": global_head.trail, "at": as_utc(now).isoformat(),
        "event_count": session.execute(select(func.sum(AuditChainHead.last_seq))).scalar_one(),
        "global": [global_head.last_seq, global_head.last_hash, anchored_at], "cases": cases, "key_id": signer.key_id,
    }
    checkpoint["signature"] = signer.sign(canonical(checkpoint))
    return checkpoint


_last_anchor: dict[int, float] = {}


def anchor_if_due(session_factory: sessionmaker, now: datetime, clock=time.monotonic) -> dict | None:
    """For the worker: anchor every PLANFLOW_AUDIT_ANCHOR_MINUTES (default 10; 0 turns it off).

    The first call for a session factory only starts its interval, so a worker that runs
    briefly writes nothing.
    """
    minutes = float(os.environ.get(ANCHOR_MINUTES_ENV, "10"))
    if minutes <= 0:
        return None
    started = _last_anchor.setdefault(id(session_factory), clock())
    if clock() - started < minutes * 60:
        return None
    _last_anchor[id(session_factory)] = clock()
    try:
        return anchor(session_factory, now)
    except OSError as exc:
        # The worker's first job is firing timers; the heads stay in the anchor event until the next line.
        log.error("audit checkpoint not written: %s", exc)
        return None


_cache: dict[Path, tuple[tuple, list[dict]]] = {}


def read_checkpoints(directory: Path | None = None) -> list[dict]:
    """Every checkpoint line in the file, oldest first (re-read only when the file changed)."""
    path = checkpoint_file(directory)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return []
    stamp = (stat.st_size, stat.st_mtime_ns)
    cached = _cache.get(path)
    if cached is None or cached[0] != stamp:
        lines = path.read_text(encoding="utf-8").splitlines()
        cached = _cache[path] = (stamp, [json.loads(line) for line in lines if line.strip()])
    return cached[1]


def trail_of(session: Session) -> str | None:
    """This database's trail id (named in its checkpoints), None before its first global event."""
    return session.execute(select(AuditChainHead.trail).where(AuditChainHead.id == GLOBAL_CHAIN)).scalar_one_or_none()


def checkpoints_of(session: Session, directory: Path | None = None) -> tuple[list[dict], int]:
    """(this database's checkpoints, how many lines belong to another database and were ignored)."""
    trail = trail_of(session)
    every = read_checkpoints(directory)
    mine = [c for c in every if trail is not None and c.get("trail") == trail]
    return mine, len(every) - len(mine)


def checkpoints_covering(session: Session, case_id: int, directory: Path | None = None) -> list[dict]:
    """The signed checkpoints that name a head of this case's chain, oldest first."""
    return [c for c in checkpoints_of(session, directory)[0] if str(case_id) in (c.get("cases") or {})]


def latest_checkpoint(session: Session, directory: Path | None = None, before: datetime | None = None) -> dict | None:
    """The newest checkpoint of this database (taken before `before`, if given), for the monthly report."""
    mine = checkpoints_of(session, directory)[0]
    if before is not None:
        mine = [c for c in mine if datetime.fromisoformat(c["at"]) < before]
    return mine[-1] if mine else None
