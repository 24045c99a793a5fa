"""A database writer who knows the published hash rule can no longer rewrite the audit trail unseen.

Each attack is done with plain SQL, as someone with write access to the database (but
not to the signing key or the checkpoint folder) would, and `planflow audit verify`
names the first event that disagrees.
"""
from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from engine.cli import main
from engine.db import transaction
from engine.models import AuditEvent, Case
from engine.records import audit
from engine.records.audit.offline_verify import event_hash, payload_hash
from tests.conftest import run
from tests.samples import REGISTRATION


@pytest.fixture
def worked_case(desk, audit_dir):
    """A registered case whose chain holds at least 12 events, anchored in a checkpoint."""
    number = desk.start("general_complaint", REGISTRATION)
    with transaction(desk.session_factory) as session:
        case = session.execute(select(Case).where(Case.number == number)).scalar_one()
        for i in range(12):
            audit.record(session, audit.EventKind.TASK_CLAIMED, "handler1", desk.now + timedelta(minutes=i),
                         case=case, element_id="Task_Investigate", payload={"round": i})
        case_id = case.id
    assert audit.anchor(desk.session_factory, desk.now + timedelta(hours=1)) is not None
    return case_id


def chain(session, case_id):
    return session.execute(select(AuditEvent).where(AuditEvent.case_id == case_id)
                           .order_by(AuditEvent.chain_seq)).scalars().all()


def verify_cli(desk, *args):
    url = str(desk.session_factory.kw["bind"].url.render_as_string(hide_password=False))
    result = CliRunner().invoke(main, ["audit", "verify", *args],
                                env={"PLANFLOW_DATABASE_URL": url, "PLANFLOW_AUDIT_DIR": os.environ["PLANFLOW_AUDIT_DIR"]},
                                catch_exceptions=False)
    return result.exit_code, result.stdout


def sql(desk, statement, **params):
    with transaction(desk.session_factory) as session:
        session.execute(text(statement), params)


def test_a_worked_case_verifies_with_its_checkpoint(desk, worked_case):
    code, out = verify_cli(desk)
    assert code == 0 and "intact" in out and "1 checkpoint(s) agree" in out


def test_deleting_the_last_event_and_fixing_the_head_row_is_caught_by_the_checkpoint(desk, worked_case):
    with transaction(desk.session_factory, readonly=True) as session:
        *kept, last = chain(session, worked_case)
    sql(desk, "DELETE FROM audit_events WHERE seq = :seq", seq=last.seq)
    sql(desk, "UPDATE audit_chain_head SET last_seq = :n, last_hash = :h WHERE id = :id",
        n=kept[-1].chain_seq, h=kept[-1].hash, id=worked_case)
    code, out = verify_cli(desk)
    assert code == 1 and f"broken at event {last.seq}:" in out and "events were deleted" in out
    assert verify_cli(desk, last.case_number)[0] == 1


def test_appending_a_forged_task_completed_with_a_recomputed_hash_is_caught_by_its_signature(desk, worked_case):
    with transaction(desk.session_factory, readonly=True) as session:
        last = chain(session, worked_case)[-1]
    position, salt, payload = last.chain_seq + 1, "00" * 16, {"task_id": 1, "data": {"resolution": "已赔偿"}}
    occurred = last.occurred_at + timedelta(minutes=5)
    forged_hash = event_hash(position, occurred.isoformat(), "dept_head1", "task_completed", worked_case,
                             last.case_number, "Task_Approve", payload_hash(salt, payload), last.hash)
    sql(desk, "INSERT INTO audit_events (chain_seq, occurred_at, actor, kind, case_id, case_number, element_id, "
              "payload, salt, prev_hash, hash, key_id, signature) VALUES (:pos, :at, 'dept_head1', 'task_completed', "
              ":case_id, :number, 'Task_Approve', :payload, :salt, :prev, :hash, :key_id, :sig)",
        pos=position, at=occurred.replace(tzinfo=None), case_id=worked_case, number=last.case_number,
        payload=json.dumps(payload), salt=salt, prev=last.hash, hash=forged_hash, key_id=last.key_id,
        sig=last.signature)  # the best a forger can do: reuse a real signature
    sql(desk, "UPDATE audit_chain_head SET last_seq = :n, last_hash = :h WHERE id = :id",
        n=position, h=forged_hash, id=worked_case)
    forged_seq = run(desk.session_factory, lambda s: s.execute(
        select(AuditEvent.seq).where(AuditEvent.hash == forged_hash)).scalar_one())
    code, out = verify_cli(desk)
    assert code == 1 and f"broken at event {forged_seq}: its signature is missing or not valid" in out


def test_editing_event_10_and_recomputing_every_hash_after_it_is_caught_at_event_10(desk, worked_case):
    with transaction(desk.session_factory, readonly=True) as session:
        events = chain(session, worked_case)
    tenth = events[9]
    prev = events[8].hash
    for event in events[9:]:
        actor = "mallory" if event is tenth else event.actor
        new_hash = event_hash(event.chain_seq, event.occurred_at.isoformat(), actor, event.kind, event.case_id,
                              event.case_number, event.element_id, payload_hash(event.salt, event.payload), prev)
        sql(desk, "UPDATE audit_events SET actor = :actor, prev_hash = :prev, hash = :hash WHERE seq = :seq",
            actor=actor, prev=prev, hash=new_hash, seq=event.seq)
        prev = new_hash
    sql(desk, "UPDATE audit_chain_head SET last_hash = :h WHERE id = :id", h=prev, id=worked_case)
    code, out = verify_cli(desk)
    assert code == 1 and f"broken at event {tenth.seq}: its signature is missing or not valid" in out
    code, out = verify_cli(desk, tenth.case_number)
    assert code == 1 and f"broken at event {tenth.seq}:" in out


def test_a_checkpoint_edited_in_its_file_is_refused(desk, worked_case, audit_dir):
    path = audit_dir / "checkpoints.jsonl"
    checkpoint = json.loads(path.read_text(encoding="utf-8"))
    checkpoint["event_count"] += 1
    path.write_text(json.dumps(checkpoint) + "\n", encoding="utf-8")
    code, out = verify_cli(desk)
    assert code == 1 and "has no valid signature" in out


def test_changing_the_trail_id_to_disown_the_checkpoints_is_caught_by_the_anchor_event(desk, worked_case):
    sql(desk, "UPDATE audit_chain_head SET trail = 'f00d' WHERE id = 0")
    code, out = verify_cli(desk)
    assert code == 1 and "the trail id was changed" in out and "of another database ignored" in out


def test_a_case_head_anchored_in_the_global_chain_catches_a_deleted_tail_without_the_file(desk, worked_case,
                                                                                          audit_dir):
    (audit_dir / "checkpoints.jsonl").unlink()
    with transaction(desk.session_factory, readonly=True) as session:
        *kept, last = chain(session, worked_case)
    sql(desk, "DELETE FROM audit_events WHERE seq = :seq", seq=last.seq)
    sql(desk, "UPDATE audit_chain_head SET last_seq = :n, last_hash = :h WHERE id = :id",
        n=kept[-1].chain_seq, h=kept[-1].hash, id=worked_case)
    code, out = verify_cli(desk)
    assert code == 1 and f"broken at event {last.seq}:" in out and "anchor event" in out


def test_anchoring_twice_without_new_events_writes_nothing(desk, worked_case, audit_dir):
    assert audit.anchor(desk.session_factory, desk.now + timedelta(hours=2)) is None
    assert len((audit_dir / "checkpoints.jsonl").read_text(encoding="utf-8").splitlines()) == 1


def test_checkpoints_name_the_case_heads_that_moved_since_the_last_one(desk, worked_case, audit_dir):
    other = desk.start("general_complaint", REGISTRATION)
    checkpoint = audit.anchor(desk.session_factory, desk.now + timedelta(hours=2))
    with transaction(desk.session_factory, readonly=True) as session:
        other_id = session.execute(select(Case.id).where(Case.number == other)).scalar_one()
        covering = audit.checkpoints_covering(session, worked_case)
        head = chain(session, worked_case)[-1]
    assert list(checkpoint["cases"]) == [str(other_id)]
    assert len(covering) == 1 and covering[0]["cases"][str(worked_case)] == [head.chain_seq, head.hash, head.seq]
