"""The audit trail is append-only, hash-chained and signed: any edit, deletion or reordering is found."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from engine.models import AuditEvent
from engine.records import audit
from tests.conftest import run


def record_events(session_factory, now, count=5):
    for i in range(count):
        run(session_factory, lambda s, i=i: audit.record(s, "task_completed", f"user{i}", now + timedelta(minutes=i),
                                                         element_id=f"Task_{i}", payload={"data": {"n": i}}))


def verify(session_factory):
    return run(session_factory, audit.verify_chain)


def test_untouched_chain_verifies(session_factory, now):
    record_events(session_factory, now)
    report = verify(session_factory)
    assert report.ok and report.events_checked == 5


def test_edited_payload_is_found_at_its_event(session_factory, now):
    record_events(session_factory, now)
    run(session_factory, lambda s: s.execute(update(AuditEvent).where(AuditEvent.seq == 3)
                                             .values(payload={"data": {"n": 999}})))
    report = verify(session_factory)
    assert not report.ok and report.broken_at == 3 and "edited" in report.reason


def test_edited_actor_with_recomputed_hash_fails_its_signature(session_factory, now):
    record_events(session_factory, now)

    def forge(session):
        event = session.get(AuditEvent, 2)
        event.actor = "mallory"
        event.hash = audit.hash_of(event)
    run(session_factory, forge)
    report = verify(session_factory)
    assert not report.ok and report.broken_at == 2 and "signature" in report.reason


def test_deleted_event_is_found(session_factory, now):
    record_events(session_factory, now)
    run(session_factory, lambda s: s.execute(delete(AuditEvent).where(AuditEvent.seq == 2)))
    report = verify(session_factory)
    assert not report.ok and report.broken_at == 3 and "position 2 of the global chain is missing" in report.reason


def test_deleted_last_event_is_found_through_the_chain_head(session_factory, now):
    record_events(session_factory, now)
    run(session_factory, lambda s: s.execute(delete(AuditEvent).where(AuditEvent.seq == 5)))
    report = verify(session_factory)
    assert not report.ok and "records 5 event(s) but 4 are stored" in report.reason


def test_reordered_events_are_found(session_factory, now):
    record_events(session_factory, now)

    def swap(session):
        a, b = session.get(AuditEvent, 2), session.get(AuditEvent, 3)
        fields = ("occurred_at", "actor", "kind", "element_id", "payload", "prev_hash", "hash")
        values_a = {f: getattr(a, f) for f in fields}
        values_b = {f: getattr(b, f) for f in fields}
        for f in fields:
            setattr(a, f, values_b[f])
            setattr(b, f, values_a[f])
    run(session_factory, swap)
    report = verify(session_factory)
    assert not report.ok and report.broken_at == 2


def test_events_are_numbered_without_gaps_in_their_chain(session_factory, now):
    record_events(session_factory, now, count=3)
    positions = run(session_factory, lambda s: s.execute(select(AuditEvent.chain_seq)
                                                         .order_by(AuditEvent.seq)).scalars().all())
    assert positions == [1, 2, 3]


def test_an_event_id_is_never_given_twice_even_after_its_row_was_deleted(session_factory, now):
    record_events(session_factory, now, count=3)
    run(session_factory, lambda s: s.execute(delete(AuditEvent).where(AuditEvent.seq == 3)))
    record_events(session_factory, now, count=1)
    assert run(session_factory, lambda s: s.execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars().all()) \
        == [1, 2, 4]
