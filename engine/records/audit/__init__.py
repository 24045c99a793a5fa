"""The audit trail: signed, hash-chained events per case, checkpoints outside the database, verification.

`record` appends an event (engine.records.audit.events), `verify_chain` checks everything
(engine.records.audit.verify), `anchor` writes a signed checkpoint (engine.records.audit.checkpoints),
and `pack_section` gives what an auditor needs to check a case offline with
`OFFLINE_VERIFY_SCRIPT` (standard library only).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import AuditEvent
from engine.records.audit.checkpoints import anchor, anchor_if_due, checkpoints_covering, latest_checkpoint
from engine.records.audit.events import GLOBAL_CHAIN, EventKind, hash_of, record
from engine.records.audit.keys import public_key_pem, public_keys
from engine.records.audit.offline_verify import GENESIS_HASH, payload_hash
from engine.records.audit.offline_verify import __doc__ as HASH_RULE
from engine.records.audit.verify import ChainReport, verify_chain

OFFLINE_VERIFY_SCRIPT = Path(__file__).with_name("offline_verify.py")
PACK_FORMAT = "planflow-audit-1"

__all__ = ["ChainReport", "EventKind", "GENESIS_HASH", "GLOBAL_CHAIN", "HASH_RULE", "OFFLINE_VERIFY_SCRIPT", "anchor",
           "anchor_if_due", "checkpoints_covering", "event_dict", "hash_of", "latest_checkpoint", "pack_section",
           "public_key_pem", "public_keys", "record", "verify_chain"]


def event_dict(event: AuditEvent, mask: Callable[[dict], dict] | None = None) -> dict:
    """An event as the offline check reads it; a payload that `mask` changes is given by its hash only."""
    shown = mask(event.payload) if mask is not None else event.payload
    item = {"seq": event.seq, "chain_seq": event.chain_seq, "occurred_at": event.occurred_at.isoformat(),
            "actor": event.actor, "kind": event.kind, "case_id": event.case_id, "case_number": event.case_number,
            "element_id": event.element_id, "payload": shown, "prev_hash": event.prev_hash, "hash": event.hash,
            "key_id": event.key_id, "signature": event.signature}
    if shown == event.payload:
        item["salt"] = event.salt
    else:
        item["payload_redacted"] = True
        item["payload_hash"] = payload_hash(event.salt, event.payload)
    return item


def pack_section(session: Session, case_id: int, mask: Callable[[dict], dict] | None = None,
                 checkpoints_dir: Path | None = None) -> dict:
    """A case's chain, the checkpoints covering it and the public keys: what the offline script checks.

    `mask(payload)` returns the payload as the reader may see it; an event whose payload it
    changes keeps only its payload hash, so the pack still verifies without the clear text.
    """
    events = session.execute(select(AuditEvent).where(AuditEvent.case_id == case_id)
                             .order_by(AuditEvent.chain_seq)).scalars()
    return {"format": PACK_FORMAT, "hash_rule": HASH_RULE.strip(),
            "events": [event_dict(e, mask) for e in events],
            "checkpoints": checkpoints_covering(session, case_id, checkpoints_dir),
            "public_keys": public_keys()}
