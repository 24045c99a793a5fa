"""Deploy problems in the user's language.

The engine keeps each finding as a stable code, an English template and its parameters (the
English is what the CLI prints); the web layer says the template through its catalogue on the
refusal page, in the modeler's live check and deploy answer, and in a deploy's warnings.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from engine.plans import versions as plans
from tests.samples import NOTE_FORM, one_task_plan
from tests.support import ROOT

CJK = re.compile(r"[\u3400-\u9fff]")
SERVICE_TASK = '<bpmn:serviceTask id="Task_Call" name="Call the CRM"/>'
# A plan with three refusals found in its XML: a service task, a Camunda timer and a Camunda condition.
BROKEN = one_task_plan(extra=SERVICE_TASK, timer="${reminderDelay}", condition="${note == 'x'}")
ENGLISH = {
    "Task_Call": "a service task cannot run: plans cannot call external services; use a script task or a user task",
    "Timer_Deadline": "timer value `${reminderDelay}` is a Camunda expression: expressions are Python; timers are "
                      "ISO 8601, e.g. `PT24H`, `R/PT1H`",
}
CHINESE = {
    "Task_Call": "服务任务无法运行：预案不能调用外部服务；请用脚本任务或用户任务",
    "Timer_Deadline": "定时值 `${reminderDelay}` 是 Camunda 表达式：表达式用 Python，定时器用 ISO 8601，例如 `PT24H`、`R/PT1H`",
}


def _upload(client):
    files = {"mini.bpmn": BROKEN, "mini_note.form": json.dumps(NOTE_FORM)}
    data = {"note": "try", "files": [(io.BytesIO(text.encode("utf-8")), name) for name, text in files.items()]}
    response = client.post("/plans/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    rows = re.findall(r'<tr data-element="([^"]*)">(.*?)</tr>', page, re.DOTALL)
    return {element: re.sub(r"<[^>]+>", "", cells.rsplit("<td", 1)[-1].split(">", 1)[1]) for element, cells in rows}


def test_the_engine_keeps_a_code_and_its_english_words(web_desk):
    bundle = plans.Bundle({"mini.bpmn": BROKEN}, {}, {"mini_note": NOTE_FORM}, [])
    problems = {p.element_id: p for p in web_desk.do(lambda session: plans.check(session, bundle))}
    assert problems["Task_Call"].code == "unsupported.serviceTask" and problems["Task_Call"].params == {}
    assert problems["Timer_Deadline"].code == "timer.camunda_expression"
    assert problems["Timer_Deadline"].params == {"text": "${reminderDelay}"}
    for element, english in ENGLISH.items():
        assert problems[element].message == english  # the CLI's text, as before
        assert problems[element].as_dict()["code"] == problems[element].code


def test_a_refused_upload_reads_chinese_on_a_chinese_page_and_english_on_an_english_one(login, web_desk):
    client = login("process_owner")
    chinese = _upload(client)
    for element, text in CHINESE.items():
        assert text in chinese[element], chinese
    assert len(chinese) == 3, chinese  # the Camunda condition too, on its sequence flow
    assert all(CJK.search(message) for message in chinese.values()), chinese
    assert not any("cannot run" in message or "Camunda expression" in message for message in chinese.values())

    client.post("/language", data={"locale": "en"})
    english = _upload(client)
    for element, text in ENGLISH.items():
        assert text in english[element], english
    assert not any(CJK.search(message) for message in english.values()), english


def test_the_modeler_check_and_deploy_warnings_speak_the_page_language(login, web_desk):
    client = login("process_owner")
    xml = client.get("/plans/general_complaint/editor.json").get_json()["xml"]
    with_service = xml.replace("</bpmn:process>", SERVICE_TASK + "</bpmn:process>", 1)
    problems = client.post("/plans/general_complaint/check", json={"xml": with_service}).get_json()["problems"]
    [service] = [p for p in problems if p["element_id"] == "Task_Call"]
    assert service["code"] == "unsupported.serviceTask" and service["message"] == CHINESE["Task_Call"]

    refused = client.post("/plans/general_complaint/deploy",
                          json={"xml": with_service, "base_revision": 0, "note": "x"})
    assert refused.status_code == 422
    [listed] = [p for p in refused.get_json()["error"]["problems"] if p["element_id"] == "Task_Call"]
    assert listed["message"] == CHINESE["Task_Call"]

    client.post("/language", data={"locale": "en"})
    problems = client.post("/plans/general_complaint/check", json={"xml": with_service}).get_json()["problems"]
    [service] = [p for p in problems if p["element_id"] == "Task_Call"]
    assert service["message"] == ENGLISH["Task_Call"]


def test_every_engine_problem_template_has_its_chinese(web_desk):
    """Each template the engine marks (N_) in engine/plans and engine/forms has a Chinese entry with the same
    parameters."""
    with (ROOT / "webapp/translations/zh/LC_MESSAGES/messages.po").open("rb") as po:
        catalogue = read_po(po)
    translated = {}
    for message in catalogue:
        if message.id and message.string:
            translated.setdefault(message.id, []).append(message.string)
    sources = [*Path(ROOT, "engine/plans").glob("*.py"), *Path(ROOT, "engine/forms").glob("*.py")]
    templates = {template for path in sorted(sources)
                 for _line, template, _comments, _context in extract_from_file("python", path, keywords={"N_": None})}
    assert len(templates) > 60
    missing = sorted(t for t in templates if t not in translated)
    assert not missing, missing
    placeholders = re.compile(r"%\((\w+)\)s")
    for template in templates:
        for text in translated[template]:
            assert set(placeholders.findall(text)) == set(placeholders.findall(template)), (template, text)
            assert CJK.search(text), text


def test_a_refused_save_says_why_in_the_page_language(login, web_desk):
    client = login("process_owner")
    xml = client.get("/plans/general_complaint/editor.json").get_json()["xml"]
    other = xml.replace('id="general_complaint"', 'id="other_plan"', 1)
    refused = client.post("/plans/general_complaint/draft", json={"xml": other, "base_revision": 0})
    assert refused.status_code >= 400
    assert refused.get_json()["error"]["message"] == "流程图的流程 ID 是“other_plan”，而不是“general_complaint”"
    malformed = client.post("/plans/general_complaint/draft",
                            json={"xml": "<bpmn:definitions><oops", "base_revision": 0})
    assert malformed.get_json()["error"]["message"].startswith("general_complaint.bpmn：XML 格式有误，文件无法读取（解析器原文：")
    client.post("/language", data={"locale": "en"})
    refused = client.post("/plans/general_complaint/draft", json={"xml": other, "base_revision": 0})
    assert refused.get_json()["error"]["message"] == "the diagram's process id is 'other_plan', not 'general_complaint'"


def test_a_broken_form_in_an_upload_is_named_in_chinese(login, web_desk):
    form = {**NOTE_FORM, "components": [*NOTE_FORM["components"], *NOTE_FORM["components"]]}  # every key twice
    files = {"mini.bpmn": one_task_plan(), "mini_note.form": json.dumps(form)}
    data = {"note": "try", "files": [(io.BytesIO(text.encode("utf-8")), name) for name, text in files.items()]}
    page = login("process_owner").post("/plans/upload", data=data, content_type="multipart/form-data")
    assert page.status_code == 422
    key = NOTE_FORM["components"][0]["key"]
    assert f"字段“{key}”出现了两次" in page.get_data(as_text=True)


# Engine problems whose parameter is a library's own English (lxml, json, SpiffWorkflow, the sandbox).
LIBRARY_TEXT = re.compile(r"%\((error|detail)\)s")


def test_a_library_message_is_a_quoted_detail_after_chinese_that_says_what_went_wrong(login, web_desk):
    """On a Chinese page the error is named in Chinese first; the library's English follows only as 原文 in brackets."""
    with (ROOT / "webapp/translations/zh/LC_MESSAGES/messages.po").open("rb") as po:
        catalogue = {m.id: m.string for m in read_po(po) if m.id and isinstance(m.id, str)}
    sources = [*Path(ROOT, "engine/plans").glob("*.py"), *Path(ROOT, "engine/forms").glob("*.py")]
    carrying = {template for path in sorted(sources)
                for _line, template, _comments, _context in extract_from_file("python", path, keywords={"N_": None})
                if LIBRARY_TEXT.search(template)}
    assert len(carrying) >= 8, carrying
    for template in carrying:
        chinese = catalogue[template]
        detail = LIBRARY_TEXT.search(template).group(0)
        assert re.search(r"原文：" + re.escape(detail) + r"）$", chinese), (template, chinese)
        assert CJK.search(chinese.split("（")[0]), chinese  # what kind of error, in Chinese, before the detail

    client = login("process_owner")
    files = {"mini.bpmn": one_task_plan().replace("</bpmn:definitions>", ""), "mini_note.form": json.dumps(NOTE_FORM)}

    def upload():
        data = {"note": "try", "files": [(io.BytesIO(text.encode("utf-8")), name) for name, text in files.items()]}
        response = client.post("/plans/upload", data=data, content_type="multipart/form-data")
        assert response.status_code == 422
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))

    page = upload()
    found = re.search(r"mini\.bpmn：XML 格式有误，文件无法读取（解析器原文：([^）]+)）", page)
    assert found and re.search(r"[A-Za-z]{4,}", found.group(1)), page  # lxml's own words, kept as they are
    client.post("/language", data={"locale": "en"})
    assert "mini.bpmn: malformed XML: " in upload()
