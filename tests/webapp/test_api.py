"""The JSON API: token auth, the same rules as the pages, JSON errors, an OpenAPI document that matches."""
from __future__ import annotations

import pytest

from engine.people.roles import ROLES
from tests.webapp.conftest import REGISTRATION

WORKING_ROLES = [r for r, role in ROLES.items() if role.works_cases]


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


def test_requests_without_a_valid_token_are_401_with_a_json_error(app):
    client = app.test_client()
    for headers in [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}]:
        response = client.get("/api/v1/tasks", headers=headers)
        assert response.status_code == 401 and error_code(response) == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_hotline_system_registers_a_case_and_reads_it_back(api):
    client, headers = api("intake")
    response = client.post("/api/v1/cases", json={"plan": "general_complaint", "data": REGISTRATION}, headers=headers)
    assert response.status_code == 201
    case = response.get_json()
    assert case["number"].startswith("TS-") and response.headers["Location"].endswith(case["number"])
    [task] = case["open_tasks"]
    assert (task["element_id"], task["role"]) == ("Task_FirstContact", "intake")
    assert case["deadlines"][0]["task_id"] == task["id"]
    fetched = client.get(f"/api/v1/cases/{case['number']}", headers=headers).get_json()
    assert [e["kind"] for e in fetched["history"]][:2] == ["case_started", "task_ready"]


def test_claim_complete_and_lists(api, registered, web_desk):
    client, headers = api("intake")
    [task] = client.get("/api/v1/tasks?list=queue", headers=headers).get_json()["tasks"]
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers).get_json()["assignee"] == "intake1"
    assert [t["id"] for t in client.get("/api/v1/tasks?list=mine", headers=headers).get_json()["tasks"]] == \
        [task["id"]]
    released = client.post(f"/api/v1/tasks/{task['id']}/release", headers=headers).get_json()
    assert released["assignee"] is None
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers,
                           json={"data": {"contact_note": "已联系", "grade": "major"}})
    assert response.status_code == 200
    body = response.get_json()
    assert [(t["element_id"], t["role"]) for t in body["next_tasks"]] == [("Task_Investigate", "handler")]
    assert body["case_completed"] is False
    done = client.get("/api/v1/tasks?list=done", headers=headers).get_json()["tasks"]
    assert [t["id"] for t in done] == [task["id"]]


@pytest.mark.parametrize("role", WORKING_ROLES)
def test_the_api_applies_the_same_role_rules_as_the_pages(api, registered, web_desk, role):
    client, headers = api(role)
    task = web_desk.task(registered, "Task_FirstContact")
    response = client.post(f"/api/v1/tasks/{task.id}/claim", headers=headers)
    assert response.status_code == (200 if role == "intake" else 403)
    if role != "intake":
        assert error_code(response) == "forbidden"


def test_error_codes_404_409_422_400(api, registered, web_desk):
    client, headers = api("intake")
    assert error_code(client.get("/api/v1/cases/TS-1999-000009", headers=headers)) == "not_found"
    assert client.post("/api/v1/tasks/99999/claim", headers=headers).status_code == 404
    task = web_desk.task(registered, "Task_FirstContact")
    invalid = client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers, json={"data": {"grade": "x"}})
    assert invalid.status_code == 422 and error_code(invalid) == "form_invalid"
    assert set(invalid.get_json()["error"]["fields"]) == {"contact_note", "grade"}
    ok = {"data": {"contact_note": "x", "grade": "general"}}
    assert client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers, json=ok).status_code == 200
    again = client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers, json=ok)
    assert again.status_code == 409 and error_code(again) == "task_already_completed"
    bad = client.post("/api/v1/cases", headers=headers, data="not json", content_type="application/json")
    assert bad.status_code == 400 and error_code(bad) == "bad_request"
    assert client.get("/api/v1/tasks?list=all", headers=headers).status_code == 400
    unknown = client.post("/api/v1/cases", headers=headers, json={"plan": "nope", "data": {}})
    assert unknown.status_code == 404


def test_a_case_is_only_readable_by_people_working_it(api, registered):
    client, headers = api("pr")
    response = client.get(f"/api/v1/cases/{registered}", headers=headers)
    assert response.status_code == 403 and error_code(response) == "forbidden"


def test_the_openapi_document_lists_exactly_the_routes_the_server_has(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = rule.rule.replace("<int:task_id>", "{task_id}").replace("<number>", "{number}")
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
    for path, item in document["paths"].items():
        for operation in item.values():
            if operation.get("security"):
                assert "401" in operation["responses"], path
