"""Bring a database whose trail predates signed per-case chains to the current form.

The old trail (one global chain, hashes over the global `seq`, no signatures) is first
verified under its own rule; only an intact trail is re-chained: each event gets its
position in its case's chain, a salt, a new hash and a signature, the head rows are
rebuilt, and a signed `audit_upgraded` event keeps the old trail's last hash. A trail
that does not verify is left untouched and the upgrade refused.
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from engine.calendar.clock import utcnow
from engine.db import UTCDateTime
from engine.errors import PlanFlowError
from engine.records.audit import keys
from engine.records.audit.events import GLOBAL_CHAIN, record
from engine.records.audit.offline_verify import GENESIS_HASH, event_hash, payload_hash

NEW_EVENT_COLUMNS = {"chain_seq": "INTEGER", "salt": "VARCHAR(32)", "key_id": "VARCHAR(16)",
                     "signature": "VARCHAR(128)"}
NEW_HEAD_COLUMNS = {"anchored_seq": "INTEGER DEFAULT 0", "trail": "VARCHAR(32)"}

_legacy = MetaData()
_events = Table("audit_events", _legacy, Column("seq", Integer, primary_key=True), Column("occurred_at", UTCDateTime),
                Column("actor", String), Column("kind", String), Column("case_id", Integer),
                Column("case_number", String), Column("element_id", String), Column("payload", JSON),
                Column("prev_hash", String), Column("hash", String))
_heads = Table("audit_chain_head", _legacy, Column("id", Integer, primary_key=True), Column("last_seq", Integer),
               Column("last_hash", String))


def needs_upgrade(engine: Engine) -> bool:
    inspector = inspect(engine)
    return inspector.has_table("audit_events") and "chain_seq" not in {
        c["name"] for c in inspector.get_columns("audit_events")}


def upgrade_legacy_trail(engine: Engine, now: datetime | None = None) -> int | None:
    """Re-chain and sign an old trail after checking it; how many events were upgraded, or None if none was old."""
    if not needs_upgrade(engine):
        return None
    with engine.begin() as conn:
        rows = conn.execute(select(_events).order_by(_events.c.seq)).all()
        legacy_head = _verify_legacy(conn, rows)
        _add_columns(conn, engine.dialect.name)
        heads = _rechain(conn, rows)
        conn.execute(text("DELETE FROM audit_chain_head"))
        for chain, (position, last_hash) in heads.items():
            conn.execute(text("INSERT INTO audit_chain_head (id, last_seq, last_hash, anchored_seq, trail) "
                              "VALUES (:id, :n, :h, 0, :trail)"),
                         {"id": GLOBAL_CHAIN if chain is None else chain, "n": position, "h": last_hash,
                          "trail": os.urandom(16).hex() if chain is None else None})
        conn.execute(text("CREATE UNIQUE INDEX ix_audit_events_chain ON audit_events (case_id, chain_seq)"))
        with Session(bind=conn) as session:
            record(session, "audit_upgraded", "system", now or utcnow(),
                   payload={"legacy_events": len(rows), "legacy_head": legacy_head})
            session.flush()
    return len(rows)


def _legacy_hash(row) -> str:
    canonical = json.dumps([row.seq, row.occurred_at.isoformat(), row.actor, row.kind, row.case_id, row.case_number,
                            row.element_id, row.payload, row.prev_hash],
                           sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _verify_legacy(conn: Connection, rows) -> list:
    """The old trail's [event count, last hash], or a refusal naming its first bad event."""
    prev = GENESIS_HASH
    for expected, row in enumerate(rows, start=1):
        if row.seq != expected or row.prev_hash != prev or _legacy_hash(row) != row.hash:
            raise PlanFlowError(f"the audit trail does not verify under its previous rule at event {expected}; "
                                "it is left as it is and the database is not upgraded")
        prev = row.hash
    head = conn.execute(select(_heads).where(_heads.c.id == 1)).first()
    if head is not None and (head.last_seq, head.last_hash) != (len(rows), prev):
        raise PlanFlowError(f"the audit chain head records {head.last_seq} event(s) but {len(rows)} are stored "
                            "intact; the database is not upgraded")
    return [len(rows), prev]


def _add_columns(conn: Connection, dialect: str) -> None:
    for name, kind in NEW_EVENT_COLUMNS.items():
        conn.execute(text(f"ALTER TABLE audit_events ADD COLUMN {name} {kind}"))
    present = {c["name"] for c in inspect(conn).get_columns("audit_chain_head")}
    for name, kind in NEW_HEAD_COLUMNS.items():
        if name not in present:
            conn.execute(text(f"ALTER TABLE audit_chain_head ADD COLUMN {name} {kind}"))
    if dialect == "postgresql":  # ids now come from a sequence (SQLite's INTEGER PRIMARY KEY already does this)
        conn.execute(text("CREATE SEQUENCE IF NOT EXISTS audit_events_seq_seq OWNED BY audit_events.seq"))
        conn.execute(text("ALTER TABLE audit_events ALTER COLUMN seq SET DEFAULT nextval('audit_events_seq_seq')"))
        conn.execute(text("SELECT setval('audit_events_seq_seq', COALESCE(MAX(seq), 0) + 1, false) FROM audit_events"))


def _rechain(conn: Connection, rows) -> dict:
    """Give every event its chain position, salt, hash and signature; each chain's (length, last hash)."""
    signer = keys.signer()
    heads: dict = {}
    for row in rows:
        position, prev = heads.get(row.case_id, (0, GENESIS_HASH))
        salt = os.urandom(16).hex()
        digest = event_hash(position + 1, row.occurred_at.isoformat(), row.actor, row.kind, row.case_id,
                            row.case_number, row.element_id, payload_hash(salt, row.payload), prev)
        conn.execute(text("UPDATE audit_events SET chain_seq = :pos, salt = :salt, prev_hash = :prev, hash = :hash, "
                          "key_id = :key_id, signature = :sig WHERE seq = :seq"),
                     {"pos": position + 1, "salt": salt, "prev": prev, "hash": digest, "key_id": signer.key_id,
                      "sig": signer.sign(digest.encode("ascii")), "seq": row.seq})
        heads[row.case_id] = (position + 1, digest)
    return heads
