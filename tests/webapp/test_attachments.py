"""Attachments on the pages: upload with a task's form, preview and download for those who may see the case,
attaching outside a task, the upload body limit, and the evidence pack masked by the privacy rule."""
from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile

import pytest
from sqlalchemy import func, select

from engine.cases import use_cases as cases
from engine.db import transaction
from engine.models import Attachment, AuditEvent, TaskStatus
from engine.records.attachments import Limits
from tests.webapp.conftest import REGISTRATION, photos_on_the_start_form
from webapp import create_app

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 500
ANSWER = {"findings": "现场核实属实", "resolution": "道歉并补偿", "compensation_amount": 500}
CLEAR = (REGISTRATION["complainant"], REGISTRATION["contact"])


@pytest.fixture
def app(web_desk, tmp_path):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
                       "ATTACHMENTS_DIR": str(tmp_path / "files"),
                       "ATTACHMENT_LIMITS": Limits(max_bytes=20 * 1024 * 1024, per_field=3)},
                      session_factory=web_desk.session_factory)


@pytest.fixture
def verify_step(web_desk, registered):
    web_desk.complete(registered, "Task_FirstContact", {"contact_note": "已联系", "grade": "general"})
    return registered, web_desk.task(registered, "Task_VerifyNegotiate")


def post_answer(client, task_id, files, data=ANSWER):
    body = {"data": json.dumps(data)}
    body["files.evidence_files"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(f"/tasks/{task_id}/complete", data=body, content_type="multipart/form-data")


def rows(web_desk):
    with transaction(web_desk.session_factory, readonly=True) as session:
        return list(session.execute(select(Attachment).order_by(Attachment.id)).scalars())


@pytest.fixture
def photo_case(login, web_desk, verify_step):
    """The handler attached a photo (whose name holds the complainant's name) on the verify step."""
    number, task = verify_step
    response = post_answer(login("handler"), task.id, [(f"{CLEAR[0]}现场.jpg", JPEG)])
    assert response.status_code == 302, response.get_data(as_text=True)
    [row] = rows(web_desk)
    return number, row


def test_a_photo_sent_with_the_verify_step_is_stored_and_shown_to_the_department_head(login, web_desk, photo_case,
                                                                                      app):
    number, row = photo_case
    assert row.sha256 == hashlib.sha256(JPEG).hexdigest() and row.content_type == "image/jpeg"
    stored = app.extensions["planflow_attachments"].path(row.sha256)
    assert stored.read_bytes() == JPEG
    head = login("dept_head")
    approval = web_desk.task(number, "Task_ApproveDeptHead")
    for page in (f"/tasks/{approval.id}", f"/cases/{number}"):
        html = head.get(page).get_data(as_text=True)
        assert f'src="/attachments/{row.id}"' in html and row.sha256 in html
    image = head.get(f"/attachments/{row.id}")
    assert image.status_code == 200 and image.data == JPEG and image.mimetype == "image/jpeg"
    assert image.headers["Content-Disposition"].startswith("inline")
    assert "default-src 'none'" in image.headers["Content-Security-Policy"]
    assert head.get(f"/attachments/{row.id}?download=1").headers["Content-Disposition"].startswith("attachment")


def test_files_are_served_only_to_those_who_may_see_the_case(login, photo_case):
    _, row = photo_case
    assert login("compliance").get(f"/attachments/{row.id}").status_code == 200
    assert login("security").get(f"/attachments/{row.id}").status_code == 404
    assert login("handler").get("/attachments/999999").status_code == 404


@pytest.mark.parametrize("name, content, message", [
    ("photo.jpg", EXE, "photo.jpg 不是允许的文件类型"),
    ("empty.jpg", b"", "empty.jpg 是空文件"),
])
def test_a_refused_file_is_a_field_error_on_the_page_and_changes_nothing(login, web_desk, verify_step, name, content,
                                                                          message):
    number, task = verify_step
    before = len(web_desk.open_tasks(number))
    response = post_answer(login("handler"), task.id, [(name, content)])
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page and "evidence_files" in page
    assert rows(web_desk) == [] and web_desk.task(number, "Task_VerifyNegotiate").status == TaskStatus.OPEN
    assert len(web_desk.open_tasks(number)) == before


def test_an_oversize_file_is_refused_by_the_attachment_limit(login, web_desk, verify_step, app):
    app.extensions["planflow_attachment_limits"] = Limits(max_bytes=1000)
    _, task = verify_step
    response = post_answer(login("handler"), task.id, [("big.jpg", JPEG)])
    assert response.status_code == 422 and "big.jpg 超过了 1000 bytes 的大小上限" in response.get_data(as_text=True)
    assert rows(web_desk) == []


def test_uploads_may_exceed_the_general_body_limit_up_to_the_upload_limit(login, web_desk, verify_step):
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (17 * 1024 * 1024)  # over the general 16 MiB, under 20 MB per file
    handler = login("handler")
    assert handler.post("/login", data={"username": "x", "password": big.hex()[:100] + "x" * (17 * 1024 * 1024)}
                        ).status_code == 413
    _, task = verify_step
    assert post_answer(handler, task.id, [("big.jpg", big)]).status_code == 302
    assert rows(web_desk)[0].size == len(big)


def test_an_attachment_limit_that_the_upload_body_cannot_carry_is_refused_at_start(web_desk):
    with pytest.raises(RuntimeError, match="PLANFLOW_MAX_UPLOAD_BYTES"):
        create_app({"TESTING": True, "SECRET_KEY": "t", "ATTACHMENT_LIMITS": Limits(max_bytes=64 * 1024 * 1024)},
                   session_factory=web_desk.session_factory)


def test_names_with_folders_or_control_characters_are_only_shown_cleaned(login, web_desk, verify_step):
    _, task = verify_step
    # (a browser percent-encodes CR and LF in a part's file name; other control characters arrive as they are)
    assert post_answer(login("handler"), task.id, [("..\\..\\etc/\x1b[2Jevil\x07\t.jpg", JPEG)]).status_code == 302
    [row] = rows(web_desk)
    assert row.name == "[2Jevil.jpg"
    download = login("handler").get(f"/attachments/{row.id}?download=1")
    assert "[2Jevil.jpg" in download.headers["Content-Disposition"] and "/" not in row.name


def test_files_attached_outside_a_task_carry_a_note_and_text_is_only_downloaded(login, web_desk, registered):
    intake = login("intake")
    response = intake.post(f"/cases/{registered}/attachments", content_type="multipart/form-data",
                           data={"note": "客户来信", "files": [(io.BytesIO("投诉信原文".encode()), "letter.txt")]})
    assert response.status_code == 303
    [row] = rows(web_desk)
    assert (row.note, row.added_by, row.content_type) == ("客户来信", "intake1", "text/plain")
    text = intake.get(f"/attachments/{row.id}")
    assert text.headers["Content-Disposition"].startswith("attachment")
    refused = intake.post(f"/cases/{registered}/attachments", content_type="multipart/form-data",
                          data={"files": [(io.BytesIO(EXE), "setup.pdf")]}, follow_redirects=True)
    assert "未添加任何附件：按文件内容判断，setup.pdf 不是允许的文件类型" in refused.get_data(as_text=True)
    assert len(rows(web_desk)) == 1
    assert login("compliance").post(f"/cases/{registered}/attachments", content_type="multipart/form-data",
                                    data={"files": [(io.BytesIO(JPEG), "a.jpg")]}).status_code == 403


def _pack(client, number, query=""):
    response = client.get(f"/review/cases/{number}/evidence.zip{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.data, zipfile.ZipFile(io.BytesIO(response.data))


def test_compliance_pack_holds_every_part_and_no_clear_identity(login, web_desk, photo_case, tmp_path):
    number, row = photo_case
    content, pack = _pack(login("compliance"), number)
    names = pack.namelist()
    assert {"evidence.json", "evidence.html", "plan.bpmn", "verify.py", "checkpoints.json", "README.txt",
            f"attachments/{row.sha256}.jpg"} <= set(names)
    assert hashlib.sha256(pack.read(f"attachments/{row.sha256}.jpg")).hexdigest() == row.sha256
    for name in names:
        body = pack.read(name).decode("utf-8", "replace")
        for clear in CLEAR:
            assert clear not in name and clear not in body, f"{clear} in {name}"
    doc = json.loads(pack.read("evidence.json"))
    assert doc["format"] == "planflow-evidence-2" and doc["masked"] and doc["case"]["complainant"] == "王**" and doc["case"]["contact"] == "138****5678"
    assert doc["attachments"][0]["sha256"] == row.sha256 and doc["attachments"][0]["name"] == "王**现场.jpg"
    assert pack.read("plan.bpmn").decode().startswith("<?xml")
    pack.extractall(tmp_path / "pack")
    checked = subprocess.run([sys.executable, "verify.py", "evidence.json"], cwd=tmp_path / "pack",
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    page = login("compliance").get(f"/review/cases/{number}").get_data(as_text=True)
    assert "王**" in page and CLEAR[0] not in page and CLEAR[1] not in page
    assert f"王**现场.jpg ({row.sha256[:12]}…)" in page  # the timeline names the file, masked
    with transaction(web_desk.session_factory, readonly=True) as session:
        [download] = session.execute(select(AuditEvent).where(AuditEvent.kind == "evidence_downloaded")).scalars()
    assert download.actor == "compliance1" and download.payload["sha256"] == hashlib.sha256(content).hexdigest()
    assert download.payload["masked"] is True


def test_pages_api_and_pack_show_identity_alike(login, api, web_desk, photo_case, tmp_path):
    number, _ = photo_case
    json_doc = json.loads(login("compliance").get(f"/review/cases/{number}/evidence.json").data)
    html = login("compliance").get(f"/review/cases/{number}/evidence.html").get_data(as_text=True)
    assert json_doc["case"]["complainant"] == "王**" and "王**" in html
    assert all(clear not in json.dumps(json_doc, ensure_ascii=False) + html for clear in CLEAR)
    head = login("dept_head")
    _, pack = _pack(head, number)
    doc = json.loads(pack.read("evidence.json"))
    client, headers = api("dept_head")
    api_case = client.get(f"/api/v1/cases/{number}", headers=headers).get_json()
    shown = api_case["open_tasks"][0]
    assert (doc["case"]["complainant"], doc["case"]["contact"]) == (shown["complainant"], shown["contact"]) == CLEAR
    assert CLEAR[0] in head.get(f"/cases/{number}").get_data(as_text=True)
    pack.extractall(tmp_path / "clear")
    checked = subprocess.run([sys.executable, "verify.py", "evidence.json"], cwd=tmp_path / "clear",
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    _, masked = _pack(head, number, "?masked=1")
    assert json.loads(masked.read("evidence.json"))["case"]["complainant"] == "王**"
    with transaction(web_desk.session_factory, readonly=True) as session:
        kinds = [e.payload["what"] for e in session.execute(select(AuditEvent).where(
            AuditEvent.kind == "evidence_downloaded").order_by(AuditEvent.seq)).scalars()]
    assert kinds == ["json", "html", "zip", "zip"]


def test_the_pack_is_refused_to_those_who_may_not_see_the_case(login, registered):
    assert login("security").get(f"/review/cases/{registered}/evidence.zip").status_code == 403


def test_pdfs_are_previewed_in_a_frame_of_our_own_pages_only(login, web_desk, registered):
    intake = login("intake")
    intake.post(f"/cases/{registered}/attachments", content_type="multipart/form-data",
                data={"files": [(io.BytesIO(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n"), "通知书.pdf")]})
    [row] = rows(web_desk)
    page = intake.get(f"/cases/{registered}").get_data(as_text=True)
    assert f'<iframe class="attachment-preview pdf" src="/attachments/{row.id}"' in page
    pdf = intake.get(f"/attachments/{row.id}")
    assert pdf.mimetype == "application/pdf" and pdf.headers["Content-Disposition"].startswith("inline")
    assert pdf.headers["X-Frame-Options"] == "SAMEORIGIN" and "frame-ancestors 'self'" in \
        pdf.headers["Content-Security-Policy"]


def test_registration_takes_the_files_of_its_start_form(login, web_desk, monkeypatch):
    photos_on_the_start_form(monkeypatch, required=True)
    intake = login("intake")
    missing = intake.post("/register?plan=general_complaint", data={"data": json.dumps(REGISTRATION)})
    assert missing.status_code == 422 and "请至少添加 1 个文件" in missing.get_data(as_text=True)
    with transaction(web_desk.session_factory, readonly=True) as session:
        assert session.execute(select(func.count()).select_from(cases.Case)).scalar_one() == 0
    response = intake.post("/register?plan=general_complaint", content_type="multipart/form-data",
                           data={"data": json.dumps(REGISTRATION), "files.photos": [(io.BytesIO(JPEG), "a.jpg")]})
    assert response.status_code == 302
    [row] = rows(web_desk)
    assert row.field_key == "photos" and row.added_by == "intake1"


def test_a_file_altered_in_storage_is_neither_served_nor_packed(login, app, photo_case):
    number, row = photo_case
    stored = app.extensions["planflow_attachments"].path(row.sha256)
    stored.chmod(0o644)
    stored.write_bytes(JPEG[:-1] + b"\x00")
    response = login("dept_head").get(f"/attachments/{row.id}")
    assert response.status_code == 409 and "altered" in response.get_data(as_text=True)
    packed = login("compliance").get(f"/review/cases/{number}/evidence.zip")
    assert packed.status_code == 409 and "the pack was not made" in packed.get_data(as_text=True)
    stored.unlink()
    assert login("dept_head").get(f"/attachments/{row.id}").status_code == 409


def test_the_api_cannot_claim_a_file_it_did_not_upload(api, web_desk, verify_step):
    number, task = verify_step
    client, headers = api("handler")
    forged = {"sha256": hashlib.sha256(JPEG).hexdigest(), "name": "x.jpg", "type": "image/jpeg", "size": 1}
    response = client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers,
                           json={"data": {**ANSWER, "evidence_files": [forged]}})
    assert response.status_code == 422 and "evidence_files" in response.get_json()["error"]["fields"]
    assert rows(web_desk) == [] and web_desk.task(number, "Task_VerifyNegotiate").status == TaskStatus.OPEN
    assert client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers,
                       json={"data": ANSWER}).status_code == 200


def test_uploads_without_the_csrf_token_are_refused(web_desk, registered, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "ATTACHMENTS_DIR": str(tmp_path / "csrf")},
                     session_factory=web_desk.session_factory)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"username": "intake1", "password": "secret",
                                       "csrf_token": token}).status_code == 302
    response = client.post(f"/cases/{registered}/attachments", content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(JPEG), "a.jpg")]})
    assert response.status_code == 400 and rows(web_desk) == []
    case_page = client.get(f"/cases/{registered}").get_data(as_text=True)
    form = case_page.split('id="attach-form"', 1)[1]
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(f"/cases/{registered}/attachments", content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(JPEG), "a.jpg")], "csrf_token": token})
    assert response.status_code == 303 and len(rows(web_desk)) == 1


@pytest.fixture
def audit_folder(tmp_path, monkeypatch):
    """Keys and checkpoints of this test only (set before any event is signed)."""
    folder = tmp_path / "audit"
    monkeypatch.setenv("PLANFLOW_AUDIT_DIR", str(folder))
    return folder


def test_the_pack_carries_the_checkpoints_covering_the_case_and_verifies_with_them(audit_folder, login, web_desk,
                                                                                   photo_case, tmp_path):
    from engine.records import audit
    number, row = photo_case
    audit.anchor(web_desk.session_factory, web_desk.now)
    _, pack = _pack(login("compliance"), number)
    doc = json.loads(pack.read("evidence.json"))
    with transaction(web_desk.session_factory, readonly=True) as session:
        case_id = str(cases.get_case(session, number).id)
    assert doc["checkpoints"] and all(case_id in c["cases"] for c in doc["checkpoints"])
    assert json.loads(pack.read("checkpoints.json")) == doc["checkpoints"]
    pack.extractall(tmp_path / "anchored")
    key = next(audit_folder.rglob("*.pem"))
    checked = subprocess.run([sys.executable, "verify.py", "evidence.json", "--key", str(key)],
                             cwd=tmp_path / "anchored", capture_output=True, text=True)
    assert checked.returncode == 0 and "checkpoint" in checked.stdout, checked.stdout + checked.stderr
