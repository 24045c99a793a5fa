"""Evidence in the browser: a handler attaches a photo on the verify step, the department head sees it,
compliance downloads the pack and the photo in it is the same file, byte for byte."""
from __future__ import annotations

import hashlib
import io
import json
import re
import struct
import zipfile
import zlib

import pytest
from playwright.sync_api import expect

from tests.browser.pages import log_in, submit_form
from tests.webapp.conftest import REGISTRATION


def png(width: int = 48, height: int = 32) -> bytes:
    """A real PNG (an orange rectangle), so the page can show it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture
def app_settings(tmp_path):
    """The attachment store in the test's own folder."""
    return {"ATTACHMENTS_DIR": str(tmp_path / "files")}


def test_a_photo_from_the_verify_step_reaches_the_department_head_and_the_evidence_pack(
        browser, live_server, web_desk, screenshot):
    base = live_server
    photo = png()
    digest = hashlib.sha256(photo).hexdigest()
    number = web_desk.start("general_complaint", REGISTRATION)
    web_desk.complete(number, "Task_FirstContact", {"contact_note": "已联系", "grade": "general"})
    errors = []

    handler = log_in(browser, base, "handler1")
    handler.on("pageerror", lambda error: errors.append(str(error)))
    handler.goto(f"{base}/tasks/{web_desk.task(number, 'Task_VerifyNegotiate').id}")
    handler.click("#claim")
    handler.wait_for_selector("#pf-form .fjs-form-field")
    handler.get_by_label("核实/调查结果").fill("现场查看，包装破损属实")
    handler.get_by_label("处理意见").fill("赔偿运费并致歉")
    handler.get_by_label("赔偿/补偿金额（元）").fill("500")
    picker = "#pf-form .fjs-form-field-filepicker input[type=file]"
    # A program renamed .jpg is refused by its content, next to its field, and the step stays open.
    handler.set_input_files(picker, files=[{"name": "照片.jpg", "mimeType": "image/jpeg",
                                            "buffer": b"MZ\x90\x00" + b"\x00" * 200}])
    submit_form(handler)
    expect(handler.locator(".pf-field-error[data-field=evidence_files]")).to_contain_text("不是允许的文件类型")
    screenshot(handler, "evidence-refused-file")
    handler.get_by_label("核实/调查结果").fill("现场查看，包装破损属实")
    handler.get_by_label("处理意见").fill("赔偿运费并致歉")
    handler.get_by_label("赔偿/补偿金额（元）").fill("500")
    handler.set_input_files(picker, files=[{"name": "现场照片.png", "mimeType": "image/png", "buffer": photo}])
    expect(handler.locator("#pf-form .fjs-form-field-filepicker")).to_contain_text("现场照片.png")
    screenshot(handler, "evidence-verify-step-with-photo")
    submit_form(handler)
    handler.wait_for_url(f"{base}/")
    expect(handler.locator("[role=status]")).to_contain_text("部门负责人")

    head = log_in(browser, base, "dept_head1")
    head.on("pageerror", lambda error: errors.append(str(error)))
    head.goto(f"{base}/tasks/{web_desk.task(number, 'Task_ApproveDeptHead').id}")
    shown = head.locator(f'#attachments li[data-sha256="{digest}"]')
    expect(shown).to_contain_text("现场照片.png")
    expect(shown).to_contain_text("handler1")
    image = shown.locator("img.attachment-preview")
    expect(image).to_be_visible()
    head.wait_for_function("img => img.complete && img.naturalWidth === 48", arg=image.element_handle())
    screenshot(head, "evidence-department-head-sees-photo")
    head.goto(f"{base}/cases/{number}")
    expect(head.locator(f'#attachments li[data-sha256="{digest}"] img')).to_be_visible()

    compliance = log_in(browser, base, "compliance1")
    compliance.on("pageerror", lambda error: errors.append(str(error)))
    compliance.goto(f"{base}/review/cases/{number}")
    expect(compliance.locator(f'#attachments li[data-sha256="{digest}"]')).to_be_visible()
    screenshot(compliance, "evidence-compliance-case-view")
    with compliance.expect_download() as download_info:
        compliance.click("#evidence-zip")
    download = download_info.value
    assert re.fullmatch(r"TS-\d{4}-\d{6}-evidence-masked\.zip", download.suggested_filename)
    pack = zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read()))
    in_pack = pack.read(f"attachments/{digest}.png")
    assert in_pack == photo and hashlib.sha256(in_pack).hexdigest() == digest
    doc = json.loads(pack.read("evidence.json"))
    assert [a["sha256"] for a in doc["attachments"]] == [digest]
    assert doc["case"]["complainant"] == "王**"
    assert errors == []
