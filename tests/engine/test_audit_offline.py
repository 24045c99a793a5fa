"""The offline check an auditor runs on an evidence pack: standard library only, as a separate process."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.calendar.working_days import WorkingCalendar
from engine.db import transaction
from engine.models import Case
from engine.records import audit
from engine.views import review
from tests.samples import REGISTRATION


@pytest.fixture
def pack_case(desk, audit_dir):
    """A case worked one step and anchored, then worked one more step."""
    number = desk.start("general_complaint", REGISTRATION)
    audit.anchor(desk.session_factory, desk.now)
    desk.complete(number, "Task_FirstContact", {"contact_note": "已联系", "grade": "general"})
    audit.anchor(desk.session_factory, desk.now + timedelta(minutes=10))
    return number


def write_pack(desk, number, folder, mask=None):
    with transaction(desk.session_factory, readonly=True) as session:
        case = session.execute(select(Case).where(Case.number == number)).scalar_one()
        doc = review.evidence_pack(session, case, desk.now, WorkingCalendar())
        if mask is not None:
            doc["audit"] = audit.pack_section(session, case.id, mask=mask)
    path = folder / "evidence.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path, doc


def offline(*args, cwd):
    """Run the script as an auditor would: a copy of the file alone, plain python, no project on the path."""
    script = cwd / "verify.py"
    script.write_bytes(audit.OFFLINE_VERIFY_SCRIPT.read_bytes())
    done = subprocess.run([sys.executable, "-I", str(script), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def auditor(tmp_path):
    folder = tmp_path / "auditor"
    folder.mkdir()
    (folder / "key.pem").write_text(audit.public_key_pem(), encoding="ascii")
    return folder


def test_an_untouched_pack_verifies_offline_with_the_published_key(desk, pack_case, auditor):
    path, doc = write_pack(desk, pack_case, auditor)
    assert len(doc["checkpoints"]) == 2 and len(doc["events"]) >= 4
    code, out = offline(path, "--key", auditor / "key.pem", cwd=auditor)
    assert code == 0 and f"evidence verified: {len(doc['events'])} event(s) in 1 chain(s)" in out
    assert "2 checkpoint(s)" in out


def test_an_edited_payload_in_the_pack_is_named(desk, pack_case, auditor):
    path, doc = write_pack(desk, pack_case, auditor)
    doc["events"][2]["payload"] = {"data": {"grade": "minor"}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    code, out = offline(path, "--key", auditor / "key.pem", cwd=auditor)
    assert code == 1 and f"event {doc['events'][2]['seq']} (" in out and "edited" in out


def test_a_pack_rehashed_and_signed_by_someone_else_fails_with_the_organisations_key(desk, pack_case, auditor):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from engine.records.audit.offline_verify import event_hash, key_id_of, payload_hash
    path, doc = write_pack(desk, pack_case, auditor)
    forger = Ed25519PrivateKey.generate()
    raw = forger.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    prev = doc["events"][0]["prev_hash"]
    for event in doc["events"]:
        if event["kind"] == "task_completed":
            event["actor"] = "mallory"
        event["prev_hash"] = prev
        event["hash"] = prev = event_hash(event["chain_seq"], event["occurred_at"], event["actor"], event["kind"],
                                          event["case_id"], event["case_number"], event["element_id"],
                                          payload_hash(event["salt"], event["payload"]), prev)
        event["key_id"], event["signature"] = key_id_of(raw), forger.sign(prev.encode()).hex()
    doc["public_keys"] = {key_id_of(raw): forger.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    code, out = offline(path, "--key", auditor / "key.pem", cwd=auditor)
    assert code == 1 and f"event {doc['events'][0]['seq']} (" in out and "signature" in out
    # The forger's own key in the pack makes the signatures pass, but not the checkpoints.
    code, out = offline(path, cwd=auditor)
    assert code == 1 and "checkpoint" in out


def test_a_dropped_last_event_is_caught_by_the_checkpoint_in_the_pack(desk, pack_case, auditor):
    path, doc = write_pack(desk, pack_case, auditor)
    dropped = doc["events"].pop()
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    code, out = offline(path, "--key", auditor / "key.pem", cwd=auditor)
    assert code == 1 and f"event {dropped['seq']} and any before it" in out


def test_a_masked_pack_still_verifies_and_holds_no_clear_identity(desk, pack_case, auditor):
    def mask(payload):
        data = payload.get("data")
        if isinstance(data, dict) and ("complainant" in data or "contact" in data):
            return {**payload, "data": {**data, "complainant": "王**", "contact": "138****0000"}}
        return payload
    path, doc = write_pack(desk, pack_case, auditor, mask=mask)
    section = json.dumps(doc["audit"], ensure_ascii=False)
    assert "13800000000" not in section and "王女士" not in section
    assert any(e.get("payload_redacted") for e in doc["audit"]["events"])
    code, out = offline(path, "--key", auditor / "key.pem", cwd=auditor)
    assert code == 0 and "with a masked payload" in out
