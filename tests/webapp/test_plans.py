"""Process owners' pages: list, upload (good and hostile files), drafts, deploy, diff, download, migrate."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from engine.models import PlanVersion
from engine.people.roles import ROLES
from tests.samples import NOTE_FORM, one_task_plan

GC = "general_complaint"


def versions(web_desk, key=GC) -> int:
    return web_desk.do(lambda s: s.execute(select(func.count(PlanVersion.id))
                                           .where(PlanVersion.plan_key == key)).scalar_one())


@pytest.mark.parametrize("role", [r for r in ROLES if r != "process_owner"])
def test_plan_pages_are_only_for_process_owners(login, role):
    client = login(role)
    assert client.get("/plans/").status_code == 403
    assert client.post(f"/plans/{GC}/draft", json={"xml": "", "base_revision": 0}).status_code == 403


def test_the_plan_list_shows_each_plan_with_its_version_and_running_cases(login, registered):
    page = login("process_owner").get("/plans/").get_data(as_text=True)
    assert 'data-plan="general_complaint"' in page and 'data-plan="medical_dispute"' in page
    detail = login("process_owner").get(f"/plans/{GC}").get_data(as_text=True)
    assert 'data-version="1"' in detail


def _upload(client, files: dict[str, str]):
    data = {"files": [(io.BytesIO(text.encode("utf-8")), name) for name, text in files.items()]}
    return client.post("/plans/upload", data=data, content_type="multipart/form-data")


def test_uploading_a_good_plan_deploys_it(login, web_desk):
    import json
    response = _upload(login("process_owner"), {"mini.bpmn": one_task_plan(),
                                                "mini_note.form": json.dumps(NOTE_FORM)})
    assert response.status_code == 302 and response.location.endswith("/plans/mini")
    assert versions(web_desk, "mini") == 1


BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;</bpmn:definitions>')
XXE = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>')


# The refusal page is in the user's language (Chinese here); the engine's details stay as they are.
@pytest.mark.parametrize("name, text, expected", [
    ("mini.bpmn", "<bpmn:definitions><oops", "XML 格式有误"),
    ("mini.bpmn", BOMB, "不允许有 DOCTYPE 和实体声明"),
    ("mini.bpmn", XXE, "不允许有 DOCTYPE 和实体声明"),
    ("mini.bpmn", one_task_plan(form_key="missing_form"), "的表单“missing_form”"),
    ("mini.bpmn", one_task_plan(timer="P3X"), "Timer_Deadline"),
    ("mini.bpmn", one_task_plan(lane="tea_maker"), "所在的泳道“tea_maker”"),
])
def test_hostile_or_broken_uploads_are_refused_with_every_problem_and_store_nothing(login, web_desk, name, text,
                                                                                    expected):
    import json
    response = _upload(login("process_owner"), {name: text, "mini_note.form": json.dumps(NOTE_FORM)})
    assert response.status_code == 422
    assert expected in response.get_data(as_text=True)
    assert "/etc/passwd" not in response.get_data(as_text=True).replace("file:///etc/passwd", "")
    assert versions(web_desk, "mini") == 0


def test_editor_saves_drafts_refuses_stale_saves_and_deploys_a_new_version(login, web_desk):
    client = login("process_owner")
    state = client.get(f"/plans/{GC}/editor.json").get_json()
    assert state["revision"] == 0 and state["source"] == "version"
    edited = state["xml"].replace('name="核实与协商"', 'name="核实并协商"')
    saved = client.post(f"/plans/{GC}/draft", json={"xml": edited, "base_revision": 0})
    assert saved.status_code == 200 and saved.get_json() == {"revision": 1}
    stale = client.post(f"/plans/{GC}/draft", json={"xml": state["xml"], "base_revision": 0})
    assert stale.status_code == 409
    body = stale.get_json()["error"]
    assert body["code"] == "draft_changed"
    assert body["changes"]["changed"] == [{"id": "Task_VerifyNegotiate", "name": "核实并协商", "type": "userTask"}]
    broken = edited.replace("working_days(3, since=received_at)", "working_days(")
    checked = client.post(f"/plans/{GC}/check", json={"xml": broken})
    assert [p["element_id"] for p in checked.get_json()["problems"]] == ["Timer_Answer3d"]
    rejected = client.post(f"/plans/{GC}/deploy", json={"xml": edited.replace('name="intake"', 'name="x"'),
                                                       "base_revision": 1})
    assert rejected.status_code == 422 and rejected.get_json()["error"]["problems"]
    deployed = client.post(f"/plans/{GC}/deploy", json={"xml": edited, "base_revision": 1})
    assert deployed.status_code == 200 and deployed.get_json()["version"] == 2
    assert versions(web_desk) == 2
    assert 'data-version="2"' in client.get(f"/plans/{GC}").get_data(as_text=True)
    diff = client.get(f"/plans/{GC}/diff.json?from=1&to=2").get_json()
    assert [c["id"] for c in diff["changed"]] == ["Task_VerifyNegotiate"]
    download = client.get(f"/plans/{GC}/versions/2.bpmn")
    assert "核实并协商" in download.get_data(as_text=True)
    assert "attachment" in download.headers["Content-Disposition"]
    assert client.get(f"/plans/{GC}/versions/2?compare=1").status_code == 200
    assert client.get(f"/plans/{GC}/versions/9").status_code == 404


def test_a_running_case_is_previewed_and_moved_to_the_new_version(login, web_desk, registered):
    client = login("process_owner")
    state = client.get(f"/plans/{GC}/editor.json").get_json()
    edited = state["xml"].replace('name="首次联系与分级"', 'name="首次联系、分级"')
    client.post(f"/plans/{GC}/deploy", json={"xml": edited, "base_revision": 0})
    page = client.get(f"/plans/{GC}").get_data(as_text=True)
    assert f'data-case="{registered}"' in page and "Task_FirstContact" in page
    moved = client.post(f"/plans/{GC}/migrate/{registered}")
    assert moved.status_code == 302
    assert web_desk.task(registered, "Task_FirstContact").name == "首次联系、分级"


def test_a_form_is_edited_and_deployed_from_the_browser(login, web_desk):
    client = login("process_owner")
    assert "gc_answer.form" in client.get(f"/plans/{GC}").get_data(as_text=True)
    assert client.get(f"/plans/{GC}/forms/gc_answer/edit").status_code == 200
    schema = client.get(f"/plans/{GC}/forms/gc_answer.json").get_json()
    schema["components"][0]["label"] = "核实结果（已修改）"
    response = client.post(f"/plans/{GC}/forms/gc_answer", json={"schema": schema})
    assert response.status_code == 200 and response.get_json()["version"] == 2
    broken = {"components": [{"type": "select", "key": "x", "label": "x"}]}
    refused = client.post(f"/plans/{GC}/forms/gc_answer", json={"schema": broken})
    assert refused.status_code == 422 and refused.get_json()["error"]["problems"]
    assert client.get(f"/plans/{GC}/forms/nope/edit").status_code == 404


def test_a_decision_table_is_edited_and_deployed_from_the_browser(login, web_desk):
    client = login("process_owner")
    assert client.get(f"/plans/{GC}/decisions/compensation_approval/edit").status_code == 200
    xml = client.get(f"/plans/{GC}/decisions/compensation_approval.dmn").get_data(as_text=True)
    raised = xml.replace("&lt;= 1000", "&lt;= 2000", 1)
    assert raised != xml
    response = client.post(f"/plans/{GC}/decisions/compensation_approval", json={"xml": raised})
    assert response.status_code == 200 and response.get_json()["version"] == 2
    assert client.post(f"/plans/{GC}/decisions/compensation_approval",
                       json={"xml": "<dmn"}).status_code == 422
