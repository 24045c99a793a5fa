"""Running the audit trail: checkpoints by the worker, on the monthly report, key rotation, retention."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from engine.calendar.working_days import WorkingCalendar
from engine.cases import timers
from engine.records.audit import checkpoints
from engine.cli import main
from engine.db import transaction
from engine.errors import PlanFlowError
from engine.models import AuditEvent, Case, CaseStatus
from engine.records import audit, retention
from engine.records.audit import keys
from engine.views import review
from tests.conftest import run
from tests.samples import REGISTRATION


def cli(desk, *args):
    url = desk.session_factory.kw["bind"].url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, list(args), env={"PLANFLOW_DATABASE_URL": url}, catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def test_the_worker_anchors_once_its_interval_has_passed(desk, audit_dir, monkeypatch):
    desk.start("general_complaint", REGISTRATION)
    monkeypatch.setenv("PLANFLOW_AUDIT_ANCHOR_MINUTES", "1")
    # Intervals are kept per session factory object; an earlier test's factory may have had this one's id.
    monkeypatch.setattr(checkpoints, "_last_anchor", {})
    timers.run_worker(desk.session_factory, 0, once=True)   # however long its passes take on a loaded machine
    assert not (audit_dir / "checkpoints.jsonl").exists()  # the first pass only starts the interval
    checkpoints._last_anchor[id(desk.session_factory)] -= 61   # the minute has passed
    timers.run_worker(desk.session_factory, 0, once=True)
    [line] = (audit_dir / "checkpoints.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["event_count"] >= 2
    assert run(desk.session_factory, audit.verify_chain).checkpoints_checked == 1


def test_anchor_command_writes_a_checkpoint_that_verify_checks(desk, audit_dir):
    desk.start("general_complaint", REGISTRATION)
    code, out = cli(desk, "audit", "anchor")
    assert code == 0 and "checkpoint written" in out
    assert cli(desk, "audit", "anchor") == (0, "nothing new to anchor\n")
    code, out = cli(desk, "audit", "verify")
    assert code == 0 and "1 checkpoint(s) agree" in out


def test_a_checkpoint_names_the_stored_event_that_anchored_it(desk, audit_dir):
    desk.start("general_complaint", REGISTRATION)
    checkpoint = audit.anchor(desk.session_factory, desk.now)
    with transaction(desk.session_factory, readonly=True) as session:
        anchored = session.execute(select(AuditEvent).where(AuditEvent.kind == audit.EventKind.AUDIT_ANCHORED)).scalar_one()
    assert checkpoint["global"] == [anchored.chain_seq, anchored.hash, anchored.seq]


def test_the_monthly_report_prints_the_last_checkpoint_before_the_month_ended(desk, audit_dir):
    desk.start("general_complaint", REGISTRATION)
    march = audit.anchor(desk.session_factory, desk.now)
    desk.start("general_complaint", REGISTRATION)
    audit.anchor(desk.session_factory, desk.now + timedelta(days=40))  # in April
    with transaction(desk.session_factory, readonly=True) as session:
        report = review.monthly_report(session, 2026, 3, WorkingCalendar())
        february = review.monthly_report(session, 2026, 2, WorkingCalendar())
    assert report.checkpoint == march and february.checkpoint is None


def test_events_signed_before_a_key_rotation_still_verify(session_factory, now, audit_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PLANFLOW_AUDIT_KEY_FILE", str(tmp_path / "audit_key"))
    url = session_factory.kw["bind"].url.render_as_string(hide_password=False)
    for i in range(2):
        run(session_factory, lambda s: audit.record(s, audit.EventKind.CALENDAR_LOADED, "admin", now))
    old_key = keys.signer().key_id
    result = CliRunner().invoke(main, ["audit", "rotate-key"], env={"PLANFLOW_DATABASE_URL": url})
    assert result.exit_code == 0 and f"signing key {old_key} retired" in result.stdout
    run(session_factory, lambda s: audit.record(s, audit.EventKind.CALENDAR_LOADED, "admin", now))
    used = run(session_factory, lambda s: s.execute(select(AuditEvent.key_id).order_by(AuditEvent.seq)).scalars().all())
    assert used == [old_key, old_key, keys.signer().key_id] and keys.signer().key_id != old_key
    assert run(session_factory, audit.verify_chain).ok
    (audit_dir / "keys" / f"{old_key}.pem").unlink()  # without the old public key nothing vouches for them
    report = run(session_factory, audit.verify_chain)
    assert not report.ok and report.broken_at == 1 and "signature" in report.reason


def test_the_signing_key_from_the_environment_must_be_an_ed25519_key(monkeypatch):
    monkeypatch.setenv("PLANFLOW_AUDIT_KEY", "not hex")
    with pytest.raises(ValueError, match="64 hex digits"):
        keys.signer()
    monkeypatch.setenv("PLANFLOW_AUDIT_KEY", "11" * 32)
    assert keys.signer().key_id == keys.signer().key_id and len(keys.signer().key_id) == 16


def test_retention_lists_closed_cases_older_than_the_setting(desk):
    old, recent, running = (desk.start("general_complaint", REGISTRATION) for _ in range(3))
    with transaction(desk.session_factory) as session:
        for number, age in ((old, 400), (recent, 10)):
            session.execute(update(Case).where(Case.number == number).values(
                status=CaseStatus.COMPLETED, completed_at=desk.now - timedelta(days=age)))
    with transaction(desk.session_factory, readonly=True) as session:
        due = retention.due_for_deletion(session, desk.now, 365)
    assert [d.number for d in due] == [old]
    assert due[0].due_since == due[0].completed_at + timedelta(days=365)
    code, out = cli(desk, "retention", "list", "--days", "365", "--json")
    assert code == 0 and [r["case"] for r in json.loads(out)] == [old]
    code, out = cli(desk, "retention", "list", "--days", "100000")
    assert code == 0 and "no closed case is older than 100000 day(s)" in out


def test_retention_days_must_be_a_positive_number():
    assert retention.retention_days({}) == retention.DEFAULT_RETENTION_DAYS
    assert retention.retention_days({"PLANFLOW_RETENTION_DAYS": "30"}) == 30
    for bad in ("0", "-3", "soon"):
        with pytest.raises(PlanFlowError, match="PLANFLOW_RETENTION_DAYS"):
            retention.retention_days({"PLANFLOW_RETENTION_DAYS": bad})


def test_purging_a_case_is_audited_and_leaves_the_trail_verifiable(desk, audit_dir):
    old, kept = (desk.start("general_complaint", REGISTRATION) for _ in range(2))
    with transaction(desk.session_factory) as session:
        session.execute(update(Case).where(Case.number == old).values(
            status=CaseStatus.COMPLETED, completed_at=desk.now - timedelta(days=400)))
        old_id = session.execute(select(Case.id).where(Case.number == old)).scalar_one()
    audit.anchor(desk.session_factory, desk.now)  # a checkpoint still names the old case's head
    code, out = cli(desk, "retention", "purge", "--days", "365", "--as", "compliance1")
    assert code == 0 and out == f"deleted {old}\n"
    with transaction(desk.session_factory, readonly=True) as session:
        assert session.execute(select(Case.number)).scalars().all() == [kept]
        assert session.execute(select(AuditEvent).where(AuditEvent.case_id == old_id)).first() is None
        purged = session.execute(select(AuditEvent).where(AuditEvent.kind == "case_purged")).scalar_one()
    assert (purged.actor, purged.payload["case_number"]) == ("compliance1", old)
    code, out = cli(desk, "audit", "verify")
    assert code == 0 and "1 checkpoint(s) agree" in out


def test_deleting_a_case_chain_without_a_purge_is_caught(desk, audit_dir):
    number = desk.start("general_complaint", REGISTRATION)
    audit.anchor(desk.session_factory, desk.now)
    with transaction(desk.session_factory) as session:
        case_id = session.execute(select(Case.id).where(Case.number == number)).scalar_one()
        session.execute(text("DELETE FROM audit_events WHERE case_id = :id"), {"id": case_id})
        session.execute(text("DELETE FROM audit_chain_head WHERE id = :id"), {"id": case_id})
    report = run(desk.session_factory, audit.verify_chain)
    assert not report.ok and "events were deleted" in report.reason


def test_a_case_whose_chain_is_broken_is_kept_as_evidence(desk, audit_dir):
    number = desk.start("general_complaint", REGISTRATION)
    with transaction(desk.session_factory) as session:
        session.execute(update(Case).where(Case.number == number).values(
            status=CaseStatus.COMPLETED, completed_at=desk.now - timedelta(days=400)))
        session.execute(update(AuditEvent).where(AuditEvent.case_number == number).values(actor="mallory"))
    code, out = cli(desk, "retention", "purge", "--days", "365", "--as", "compliance1")
    assert code == 1 and f"kept {number}: audit chain broken" in out
    assert run(desk.session_factory, lambda s: s.execute(select(Case.number)).scalars().all()) == [number]


def test_a_checkpoint_folder_that_cannot_be_written_does_not_stop_the_worker(desk, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the audit folder should be", encoding="utf-8")
    monkeypatch.setenv("PLANFLOW_AUDIT_DIR", str(blocker / "audit"))
    desk.start("general_complaint", REGISTRATION)
    assert audit.anchor_if_due(desk.session_factory, desk.now, clock=lambda: 0.0) is None
    assert audit.anchor_if_due(desk.session_factory, desk.now, clock=lambda: 3600.0) is None
    anchored = run(desk.session_factory, lambda s: s.execute(
        select(AuditEvent).where(AuditEvent.kind == "audit_anchored")).scalar_one())
    assert anchored.payload["cases"]  # the heads are kept in the global chain meanwhile


def test_a_new_signing_key_file_is_private_and_never_replaced(tmp_path):
    file = tmp_path / "instance" / "audit_key"
    keys.write_new_key(file)
    first = file.read_bytes()
    keys.write_new_key(file)
    assert file.read_bytes() == first and (file.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in file.parent.iterdir()] == ["audit_key"]
