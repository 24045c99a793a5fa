"""POST /api/v1/messages: a hotline system or a regulator's gateway delivers a message to the case waiting for it."""
from __future__ import annotations

from engine.db import transaction
from engine.plans import versions as plans
from tests.engine.test_constructs import CONSTRUCTS


def _waiting_case(web_desk) -> str:
    with transaction(web_desk.session_factory) as session:
        plans.deploy(session, plans.Bundle.from_paths([CONSTRUCTS]), "process_owner1", web_desk.now)
    return web_desk.start("ct_receive_task", {}, "handler1")


def test_a_message_reaches_its_case_once_and_is_refused_clearly_otherwise(api, web_desk):
    number = _waiting_case(web_desk)
    client, headers = api("intake")
    message = {"name": "written_reply", "correlation": {"case": number}, "data": {"text": "同意"}}
    response = client.post("/api/v1/messages", json=message, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["case"] == number and [t["element_id"] for t in response.json["next_tasks"]] == ["Task_Review"]
    again = client.post("/api/v1/messages", json=message, headers=headers)
    assert again.status_code == 404 and again.json["error"]["code"] == "not_found"
    unknown = client.post("/api/v1/messages", json={**message, "name": "nobody_waits"}, headers=headers)
    assert unknown.status_code == 404 and "nobody_waits" in unknown.json["error"]["message"]
    other = _waiting_case(web_desk)
    wrong = client.post("/api/v1/messages", json={**message, "correlation": {"case": "TS-1999-000001"}},
                        headers=headers)
    assert wrong.status_code == 409 and "can be correlated on: case" in wrong.json["error"]["message"]
    bad = client.post("/api/v1/messages", json={"name": "written_reply", "correlation": {}}, headers=headers)
    assert bad.status_code == 400 and "correlation" in bad.json["error"]["message"]
    assert other != number


def test_roles_that_do_not_work_cases_may_not_send_messages(api, web_desk):
    number = _waiting_case(web_desk)
    client, headers = api("compliance")
    response = client.post("/api/v1/messages", json={"name": "written_reply", "correlation": {"case": number}},
                           headers=headers)
    assert response.status_code == 403
    assert web_desk.open_tasks(number) == []
