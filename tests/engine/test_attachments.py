"""Attachments: checked by content, stored once by SHA-256, audited, and a refused file changes nothing."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from engine.cases import use_cases as cases
from engine.db import transaction
from engine.errors import FormInvalid, PermissionDenied
from engine.forms.validation import validate_submission
from engine.models import Attachment, AuditEvent, Task, TaskStatus
from engine.records import attachments
from engine.records.attachments import Limits
from engine.records.file_store import FolderStorage
from engine.records.file_types import FileRefused, check_file, display_name, sniff

REGISTRATION = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "category": "service",
                "content": "快递延误"}
ANSWER = {"findings": "属实", "resolution": "道歉", "compensation_amount": 0}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120


def _office(member: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(member, "<x/>")
    return out.getvalue()


@pytest.mark.parametrize("content, kind", [
    (JPEG, "image/jpeg"), (PNG, "image/png"), (b"GIF89a" + b"\x00" * 10, "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"), (b"%PDF-1.7\n%", "application/pdf"),
    (b"ID3\x04\x00" + b"\x00" * 10, "audio/mpeg"), (b"\x00\x00\x00\x20ftypM4A \x00", "audio/mp4"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"), (b"\x00\x00\x00\x20ftypisom\x00", "video/mp4"),
    ("现场记录：客户于 9 点到店\n".encode(), "text/plain"),
    (_office("word/document.xml"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (_office("xl/workbook.xml"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
])
def test_allowed_kinds_are_recognised_by_their_content(content, kind):
    assert sniff(content) == kind


@pytest.mark.parametrize("content", [EXE, _office("payload.exe"), b"\x7fELF\x02\x01\x01" + b"\x00" * 9,
                                     "GBK 文本".encode("gbk") + b"\x81"])
def test_other_content_is_refused_whatever_its_name(content):
    with pytest.raises(FileRefused, match="not an allowed kind"):
        check_file("photo.jpg", content, 1_000_000)


def test_empty_and_oversize_files_are_refused_with_their_reason():
    with pytest.raises(FileRefused, match="empty"):
        check_file("a.jpg", b"", 1000)
    with pytest.raises(FileRefused, match="larger than"):
        check_file("a.jpg", JPEG, 100)


@pytest.mark.parametrize("name, shown", [
    ("../../etc/passwd", "passwd"), ("C:\\Users\\王\\现场.jpg", "现场.jpg"), ("a\x00b\r\n\x1b[31m.jpg", "ab[31m.jpg"),
    ("..", "file"), ("", "file"), (None, "file"), ("\u202egpj.exe", "gpj.exe"), ("x" * 300, "x" * 200),
])
def test_display_names_lose_folders_and_control_characters(name, shown):
    assert display_name(name) == shown


def test_storage_keeps_one_read_only_copy_and_never_overwrites(tmp_path):
    storage = FolderStorage(tmp_path)
    digest = hashlib.sha256(JPEG).hexdigest()
    storage.put(digest, JPEG)
    storage.put(digest, JPEG)
    stored = storage.path(digest)
    assert stored.read_bytes() == JPEG and not stored.stat().st_mode & 0o222
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [digest]
    with pytest.raises(ValueError):
        storage.put(digest, PNG)
    with pytest.raises(ValueError):
        storage.path("../../x")


@pytest.fixture
def storage(tmp_path):
    return FolderStorage(tmp_path / "attachments")


@pytest.fixture
def verify_task(desk):
    """A general complaint at its verify-and-negotiate step, whose form has the optional evidence field."""
    number = desk.start("general_complaint", REGISTRATION)
    desk.complete(number, "Task_FirstContact", {"contact_note": "已联系", "grade": "general"})
    return number, desk.task(number, "Task_VerifyNegotiate")


def _complete(desk, storage, task, files, data=ANSWER, limits=Limits()):
    return desk.do(attachments.complete_task, storage, task.id, f"{task.role}1", data, files, desk.now, limits)


def _counts(desk):
    with transaction(desk.session_factory, readonly=True) as session:
        return (session.execute(select(func.count(Attachment.id))).scalar_one(),
                session.execute(select(func.count(AuditEvent.seq))).scalar_one())


def test_a_photo_on_the_verify_step_is_stored_by_hash_and_audited(desk, storage, verify_task):
    number, task = verify_task
    _complete(desk, storage, task, {"evidence_files": [("现场.jpg", JPEG)]})
    digest = hashlib.sha256(JPEG).hexdigest()
    assert storage.path(digest).read_bytes() == JPEG
    with transaction(desk.session_factory, readonly=True) as session:
        case = cases.get_case(session, number)
        [row] = attachments.case_attachments(session, case.id)
        assert (row.sha256, row.name, row.content_type, row.size, row.task_id, row.field_key, row.added_by) == \
            (digest, "现场.jpg", "image/jpeg", len(JPEG), task.id, "evidence_files", f"{task.role}1")
        events = {e.kind: e for e in cases.case_history(session, case.id)}
        assert events["attachment_added"].payload["sha256"] == digest
        completed = [e for e in cases.case_history(session, case.id) if e.kind == "task_completed"][-1]
        assert completed.payload["data"]["evidence_files"] == [
            {"sha256": digest, "name": "现场.jpg", "type": "image/jpeg", "size": len(JPEG)}]
        assert session.get(Task, task.id).status == TaskStatus.COMPLETED


@pytest.mark.parametrize("files, message", [
    ({"evidence_files": [("big.jpg", JPEG)]}, "larger than"),
    ({"evidence_files": [("photo.jpg", EXE)]}, "not an allowed kind"),
    ({"evidence_files": [("empty.jpg", b"")]}, "empty"),
    ({"evidence_files": [(f"{i}.jpg", JPEG) for i in range(4)]}, "at most 3 files"),
    ({"findings": [("a.jpg", JPEG)]}, "no file field"),
])
def test_a_refused_file_is_a_field_error_and_the_step_changes_nothing(desk, storage, verify_task, files, message):
    number, task = verify_task
    before = _counts(desk)
    with pytest.raises(FormInvalid) as refused:
        _complete(desk, storage, task, files, limits=Limits(max_bytes=600, per_field=3))
    [field] = refused.value.errors
    assert field in files and message in refused.value.errors[field]
    assert _counts(desk) == before and not storage.root.exists()
    assert desk.task(number, "Task_VerifyNegotiate").status == TaskStatus.OPEN


def test_a_good_file_with_another_field_invalid_stores_nothing(desk, storage, verify_task):
    _, task = verify_task
    before = _counts(desk)
    with pytest.raises(FormInvalid) as refused:
        _complete(desk, storage, task, {"evidence_files": [("a.jpg", JPEG)]}, data={**ANSWER, "findings": ""})
    assert set(refused.value.errors) == {"findings"}
    assert _counts(desk) == before and not storage.root.exists()


def test_the_same_file_twice_is_stored_once(desk, storage, verify_task):
    number, task = verify_task
    _complete(desk, storage, task, {"evidence_files": [("a.jpg", JPEG), ("b.jpg", JPEG)]})
    desk.do(attachments.attach_to_case, storage, number, "intake1", [("again.jpg", JPEG)], "原件", desk.now, Limits())
    with transaction(desk.session_factory, readonly=True) as session:
        rows = attachments.case_attachments(session, cases.get_case(session, number).id)
    assert [r.name for r in rows] == ["a.jpg", "b.jpg", "again.jpg"]
    assert len({r.sha256 for r in rows}) == 1
    assert len([p for p in storage.root.rglob("*") if p.is_file()]) == 1


def test_data_cannot_claim_a_file_it_did_not_upload(desk, verify_task):
    number, task = verify_task
    forged = {"sha256": hashlib.sha256(JPEG).hexdigest(), "name": "x.jpg", "type": "image/jpeg", "size": 1}
    with pytest.raises(FormInvalid, match="uploaded with the form"):
        desk.complete(number, "Task_VerifyNegotiate", {**ANSWER, "evidence_files": [forged]})


def test_a_required_file_field_asks_for_its_minimum_count():
    schema = {"components": [{"type": "filepicker", "key": "photos", "label": "现场照片", "multiple": True,
                              "validate": {"required": True, "minFiles": 2}}]}
    with pytest.raises(FormInvalid, match="attach at least 2 file"):
        validate_submission(schema, {})
    one = check_file("a.jpg", JPEG, 10**6)
    with pytest.raises(FormInvalid, match="attach at least 2 file"):
        validate_submission(schema, {"photos": [one]})
    assert validate_submission(schema, {"photos": [one, one]})["photos"][0]["sha256"] == one.sha256
    single = {"components": [{"type": "filepicker", "key": "photo", "validate": {"required": True}}]}
    with pytest.raises(FormInvalid, match="attach at least 1 file"):
        validate_submission(single, {"photo": None})
    with pytest.raises(FormInvalid, match="one file only"):
        validate_submission(single, {"photo": [one, one]})


def test_files_attached_outside_a_task_keep_who_when_and_note(desk, storage, verify_task):
    number, _ = verify_task
    desk.do(attachments.attach_to_case, storage, number, "intake1", [("信函.pdf", b"%PDF-1.4\n1 0 obj")],
            "客户寄来的书面投诉", desk.now, Limits())
    with transaction(desk.session_factory, readonly=True) as session:
        [row] = attachments.case_attachments(session, cases.get_case(session, number).id)
        assert (row.added_by, row.added_at, row.note, row.task_id) == ("intake1", desk.now, "客户寄来的书面投诉", None)


def test_compliance_and_outsiders_may_not_add_files_but_compliance_may_read_them(desk, storage, verify_task):
    number, _ = verify_task
    [row] = desk.do(attachments.attach_to_case, storage, number, "intake1", [("a.jpg", JPEG)], None, desk.now, Limits())
    for outsider in ("compliance1", "security1"):
        with pytest.raises(PermissionDenied):
            desk.do(attachments.attach_to_case, storage, number, outsider, [("a.jpg", JPEG)], None, desk.now,
                    Limits())
    assert desk.do(attachments.get_for_viewer, row.id, "compliance1").sha256 == row.sha256
    with pytest.raises(Exception, match="no attachment"):
        desk.do(attachments.get_for_viewer, row.id, "security1")


def test_a_case_holds_at_most_its_limit_of_files(desk, storage, verify_task):
    number, _ = verify_task
    limits = Limits(per_case=2)
    desk.do(attachments.attach_to_case, storage, number, "intake1", [("a.jpg", JPEG), ("b.png", PNG)], None,
            desk.now, limits)
    with pytest.raises(attachments.AttachmentRefused, match="at most 2 files"):
        desk.do(attachments.attach_to_case, storage, number, "intake1", [("c.jpg", JPEG)], None, desk.now, limits)


def test_registration_takes_files_of_its_start_form(desk, storage, monkeypatch):
    from engine.plans import versions as plans
    real_get = plans.spec_cache.get

    def with_letter_field(version):
        plan = real_get(version)
        form = plan.forms[plan.start_form_key]
        if not any(c.get("key") == "letter" for c in form["components"]):
            form["components"].append({"type": "filepicker", "key": "letter", "label": "书面材料"})
        return plan
    monkeypatch.setattr(plans.spec_cache, "get", with_letter_field)
    case = desk.do(attachments.start_case, storage, "general_complaint", REGISTRATION,
                   {"letter": [("letter.txt", "投诉信".encode())]}, "intake1", desk.now, Limits())
    with transaction(desk.session_factory, readonly=True) as session:
        [row] = attachments.case_attachments(session, case.id)
    assert row.field_key == "letter" and row.content_type == "text/plain"


def test_files_are_attached_from_the_command_line_with_their_hash_printed(tmp_path):
    from click.testing import CliRunner

    from engine.cli import main
    from tests.support import PLAN_PATHS

    env = {"PLANFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
           "PLANFLOW_ATTACHMENTS_DIR": str(tmp_path / "files"), "PLANFLOW_ATTACHMENT_MAX_BYTES": "2000"}

    def planflow(*args):
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr
    planflow("init")
    planflow("deploy", *map(str, PLAN_PATHS))
    planflow("user", "add", "wang", "--role", "intake", "--password", "pw")
    code, number, _ = planflow("start", "general_complaint", "--data", '{"complainant": "王女士", '
                               '"contact": "13800000000", "channel": "phone", "content": "投诉"}', "--as", "wang")
    (tmp_path / "letter.jpg").write_bytes(JPEG)
    (tmp_path / "setup.jpg").write_bytes(EXE)
    (tmp_path / "big.jpg").write_bytes(JPEG * 3)
    code, out, _ = planflow("attach", number.strip(), str(tmp_path / "letter.jpg"), "--note", "来信", "--as", "wang",
                            "--json")
    [row] = json.loads(out)
    assert code == 0 and row["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert FolderStorage(tmp_path / "files").read(row["sha256"]) == JPEG
    code, _, err = planflow("attach", number.strip(), str(tmp_path / "setup.jpg"), "--as", "wang")
    assert code == 2 and "not an allowed kind" in err
    code, _, err = planflow("attach", number.strip(), str(tmp_path / "big.jpg"), "--as", "wang")
    assert code == 2 and "larger than the limit of 2000 bytes" in err
