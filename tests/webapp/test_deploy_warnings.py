"""A deploy from the browser says what deployed but will not behave as in Camunda."""
from __future__ import annotations

import io
import json

from tests.samples import NOTE_FORM, one_task_plan

PLAIN = '<bpmn:task id="Task_Plain" name="Phone back"/>'


def test_uploading_a_plan_with_a_plain_task_deploys_it_and_shows_the_warning(login, web_desk):
    client = login("process_owner")
    files = {"mini.bpmn": one_task_plan(extra=PLAIN), "mini_note.form": json.dumps(NOTE_FORM)}
    data = {"files": [(io.BytesIO(text.encode("utf-8")), name) for name, text in files.items()]}
    response = client.post("/plans/upload", data=data, content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="flash warning"' in page and "Task_Plain" in page and "案件会直接经过它" in page


def test_the_editor_deploy_answer_lists_the_warnings(login, web_desk):
    client = login("process_owner")
    state = client.get("/plans/general_complaint/editor.json").get_json()
    edited = state["xml"].replace("</bpmn:process>", PLAIN + "</bpmn:process>", 1)
    deployed = client.post("/plans/general_complaint/deploy", json={"xml": edited, "base_revision": 0})
    assert deployed.status_code == 200
    [warning] = deployed.get_json()["warnings"]
    assert warning["element_id"] == "Task_Plain" and "案件会直接经过它" in warning["message"]
    assert warning["code"] == "pass_through.task"
    assert "Task_Plain" in client.get(deployed.get_json()["redirect"]).get_data(as_text=True)
