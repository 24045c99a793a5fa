"""Verify the audit chains: hashes, links, signatures, head rows, anchors and checkpoints.

Every check names the first event that disagrees: the earliest by event id when several
chains are broken; a missing event is named by the checkpoint that still records it, or
by its position in its chain when nothing records its id.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import AuditChainHead, AuditEvent
from engine.records.audit import keys
from engine.records.audit.checkpoints import checkpoints_of
from engine.records.audit.events import GLOBAL_CHAIN, EventKind, hash_of
from engine.records.audit.offline_verify import GENESIS_HASH, checkpoint_body


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    broken_at: int | None = None
    reason: str | None = None
    checkpoints_checked: int = 0
    checkpoints_ignored: int = 0

    def __str__(self) -> str:
        ignored = (f"; {self.checkpoints_ignored} checkpoint(s) of another database ignored"
                   if self.checkpoints_ignored else "")
        if self.ok:
            return (f"audit chain intact: {self.events_checked} event(s) verified, "
                    f"{self.checkpoints_checked} checkpoint(s) agree{ignored}")
        where = f" at event {self.broken_at}" if self.broken_at is not None else ""
        return f"audit chain broken{where}: {self.reason}{ignored}"


def _chain_name(chain: int | None) -> str:
    return "the global chain" if chain is None else f"the chain of case id {chain}"


class _Walk:
    """State of one verification: what checkpoints and anchors expect, and the problems found."""

    def __init__(self, verifier: keys.Verifier):
        self.verifier = verifier
        self.problems: list[tuple[int | None, str]] = []
        # chain → position → [(hash, event id or None, who expects it)]
        self.expected: dict[int | None, dict[int, list]] = defaultdict(lambda: defaultdict(list))
        self.checked = 0
        self.purged: dict[int, list] = {}  # case id → its chain's head when it was deleted by retention
        self.broken: set = set()  # chains with a problem already named; nothing more is said about them

    def expect(self, chain: int | None, head: list, label: str) -> None:
        position, digest = head[0], head[1]
        event_id = head[2] if len(head) > 2 else None
        self.expected[chain][position].append((digest, event_id, label))

    def walk(self, events) -> dict[int | None, tuple[int, str]]:
        """Check each chain in order; the stored (length, last hash) of every chain walked."""
        ends: dict[int | None, tuple[int, str]] = {}
        broken = self.broken
        for event in events:
            chain = event.case_id
            if chain in broken:
                continue
            length, prev = ends.get(chain, (0, GENESIS_HASH))
            problem = self._check(event, length, prev)
            if problem:
                self.problems.append((event.seq, problem))
                broken.add(chain)
                continue
            for digest, _, label in self.expected.get(chain, {}).get(event.chain_seq, ()):
                if digest != event.hash:
                    self.problems.append((event.seq, f"it differs from what {label} recorded for position "
                                                     f"{event.chain_seq} of {_chain_name(chain)}"))
                    broken.add(chain)
            if event.kind == EventKind.AUDIT_ANCHORED and chain is None:
                for case_id, head in (event.payload.get("cases") or {}).items():
                    self.expect(int(case_id), head, f"anchor event {event.seq}")
            if event.kind == EventKind.CASE_PURGED and chain is None:
                self.purged[int(event.payload["case_id"])] = event.payload["chain"]
            ends[chain] = (event.chain_seq, event.hash)
            self.checked += 1
        return ends

    def _check(self, event: AuditEvent, length: int, prev: str) -> str | None:
        if event.chain_seq != length + 1:
            return (f"position {length + 1} of {_chain_name(event.case_id)} is missing "
                    f"(the next stored is position {event.chain_seq})")
        if event.prev_hash != prev:
            return "its previous-hash does not match the event before it"
        if hash_of(event) != event.hash:
            return "its content does not match its hash (edited)"
        if not self.verifier.valid(event.key_id, event.hash.encode("ascii"), event.signature):
            return (f"its signature is missing or not valid for key {event.key_id} "
                    "(forged, or rewritten without the signing key)")
        return None

    def missing_tails(self, ends: dict, chains) -> None:
        """Positions a checkpoint or anchor recorded beyond what is stored: deleted events."""
        for chain in chains - self.broken:
            length = ends.get(chain, (0, GENESIS_HASH))[0]
            if chain in self.purged and chain not in ends:
                self._purged_chain(chain)
                continue
            beyond = [(position, entry) for position, entries in self.expected.get(chain, {}).items()
                      if position > length for entry in entries]
            if beyond:
                position, (_, event_id, label) = max(beyond, key=lambda item: item[0])
                self.problems.append((event_id, f"{_chain_name(chain)} holds {length} event(s) but {label} recorded "
                                                f"position {position}: events were deleted"))

    def _purged_chain(self, chain: int) -> None:
        """A chain deleted by retention: what was recorded of it must fit the head its purge event kept."""
        length, last_hash = self.purged[chain][0], self.purged[chain][1]
        for position, entries in self.expected.get(chain, {}).items():
            for digest, event_id, label in entries:
                if position > length or (position == length and digest != last_hash):
                    self.problems.append((event_id, f"{label} recorded position {position} of {_chain_name(chain)} "
                                                    f"but its purge kept a head at position {length} that differs"))

    def heads(self, ends: dict, heads) -> None:
        for head in heads:
            chain = None if head.id == GLOBAL_CHAIN else head.id
            if chain in self.broken:
                continue
            length, last = ends.get(chain, (0, GENESIS_HASH))
            if (head.last_seq, head.last_hash) != (length, last):
                self.problems.append((None, f"the head row of {_chain_name(chain)} records {head.last_seq} event(s) "
                                            f"but {length} are stored intact"))


def verify_chain(session: Session, case_id: int | None = None, *, checkpoints_dir: Path | None = None) -> ChainReport:
    """Recompute every chain (or, with `case_id`, that case's chain); name the first event that disagrees.

    Checkpoints come from the audit folder (or `checkpoints_dir`); those of another
    database (another trail id) are ignored and counted.
    """
    walk = _Walk(keys.Verifier())
    mine, ignored = checkpoints_of(session, checkpoints_dir)
    if case_id is not None:
        mine = [c for c in mine if str(case_id) in (c.get("cases") or {})]
    for checkpoint in mine:
        label = f"the checkpoint of {checkpoint.get('at')}"
        if not walk.verifier.valid(checkpoint.get("key_id"), checkpoint_body(checkpoint), checkpoint.get("signature")):
            walk.problems.append((None, f"{label} has no valid signature"))
            continue
        if case_id is None:
            walk.expect(None, checkpoint["global"], label)
        for chain, head in (checkpoint.get("cases") or {}).items():
            if case_id is None or int(chain) == case_id:
                walk.expect(int(chain), head, label)
    ends: dict = {}
    if case_id is None:
        global_head = session.get(AuditChainHead, GLOBAL_CHAIN)
        ends.update(walk.walk(_stream(session, select(AuditEvent).where(AuditEvent.case_id.is_(None))
                                      .order_by(AuditEvent.chain_seq))))
        walk.problems.extend(_foreign_anchors(session, global_head.trail if global_head else None))
        ends.update(walk.walk(_stream(session, select(AuditEvent).where(AuditEvent.case_id.is_not(None))
                                      .order_by(AuditEvent.case_id, AuditEvent.chain_seq))))
        heads = session.execute(select(AuditChainHead)).scalars().all()
        chains = set(ends) | set(walk.expected) | {None if h.id == GLOBAL_CHAIN else h.id for h in heads}
    else:
        ends.update(walk.walk(_stream(session, select(AuditEvent).where(AuditEvent.case_id == case_id)
                                      .order_by(AuditEvent.chain_seq))))
        heads = [h for h in [session.get(AuditChainHead, case_id)] if h is not None]
        chains = {case_id}
    walk.missing_tails(ends, chains)
    walk.heads(ends, heads)
    if walk.problems:
        broken_at, reason = min(walk.problems, key=lambda p: (p[0] is None, p[0] or 0))
        return ChainReport(False, walk.checked, broken_at, reason, len(mine), ignored)
    return ChainReport(True, walk.checked, checkpoints_checked=len(mine), checkpoints_ignored=ignored)


def _stream(session: Session, query):
    """Events in batches, so verifying a large trail does not hold it all in memory."""
    return session.execute(query.execution_options(yield_per=1000)).scalars()


def _foreign_anchors(session: Session, trail: str | None):
    """Anchor events naming another trail: the trail id in the head row was changed."""
    for event in session.execute(select(AuditEvent).where(AuditEvent.case_id.is_(None),
                                                          AuditEvent.kind == EventKind.AUDIT_ANCHORED)).scalars():
        if event.payload.get("trail") != trail:
            yield event.seq, (f"it names trail {event.payload.get('trail')} but the database says {trail}: "
                              "the trail id was changed")
