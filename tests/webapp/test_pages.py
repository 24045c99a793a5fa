"""Every page and action, and who may use it."""
from __future__ import annotations

import html
import json
import re

import pytest

from engine.people.roles import ROLES
from tests.webapp.conftest import REGISTRATION, submit, task_ids

WORKING_ROLES = [r for r, role in ROLES.items() if role.works_cases]


def test_pages_need_a_login(app):
    client = app.test_client()
    for path in ["/", "/?list=queue", "/register", "/tasks/1", "/cases/TS-2026-000001"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location, path


def test_wrong_password_is_refused_and_right_one_lands_in_the_inbox(app):
    client = app.test_client()
    assert client.post("/login", data={"username": "intake1", "password": "nope"}).status_code == 401
    response = client.post("/login", data={"username": "intake1", "password": "secret"})
    assert response.status_code == 302 and response.location == "/"


def test_login_does_not_redirect_off_site(app):
    client = app.test_client()
    response = client.post("/login?next=//evil.example/", data={"username": "intake1", "password": "secret"})
    assert response.location == "/"


def test_session_cookie_is_http_only_and_same_site(app):
    client = app.test_client()
    response = client.post("/login", data={"username": "intake1", "password": "secret"})
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forms_without_a_csrf_token_are_refused(web_desk):
    from webapp import create_app
    app = create_app({"SECRET_KEY": "test"}, session_factory=web_desk.session_factory)
    client = app.test_client()
    response = client.post("/login", data={"username": "intake1", "password": "secret"})
    assert response.status_code == 400


@pytest.mark.parametrize("role", WORKING_ROLES + ["process_owner", "compliance"])
def test_register_page_is_only_for_intake_and_duty_officers(login, role):
    status = login(role).get("/register").status_code
    assert status == (200 if role in ("intake", "duty_officer") else 403)


def test_registering_a_complaint_gives_a_case_number_and_a_task_in_the_intake_queue(login):
    client = login("intake")
    response = client.post("/register?plan=general_complaint", data={"data": json.dumps(REGISTRATION)})
    assert response.status_code == 302 and response.location.startswith("/cases/TS-")
    page = client.get(response.location).get_data(as_text=True)
    assert "首次联系与分级" in page and "王女士" in page
    assert len(task_ids(client.get("/?list=queue"))) == 1


def test_an_invalid_registration_is_refused_per_field_and_registers_nothing(login):
    client = login("intake")
    response = client.post("/register?plan=general_complaint", data={"data": json.dumps({"contact": "1"})})
    assert response.status_code == 422
    errors = json.loads(_data_attribute(response, "data-errors"))
    assert {"complainant", "content"} <= set(errors)
    assert task_ids(client.get("/?list=queue")) == []


def test_a_contact_that_is_no_phone_or_e_mail_is_explained_in_the_users_language(login):
    client = login("intake")
    response = client.post("/register?plan=general_complaint",
                           data={"data": json.dumps({**REGISTRATION, "contact": "12345"})})
    assert response.status_code == 422
    errors = json.loads(_data_attribute(response, "data-errors"))
    assert "大陆手机号" in errors["contact"] and "mainland" not in errors["contact"]


def _data_attribute(response, name: str) -> str:
    import html
    import re
    return html.unescape(re.search(rf'{name}="([^"]*)"', response.get_data(as_text=True)).group(1))


@pytest.mark.parametrize("role", WORKING_ROLES)
def test_the_queue_shows_a_task_only_to_its_role(login, registered, role):
    shown = task_ids(login(role).get("/?list=queue"))
    assert (len(shown) == 1) == (role == "intake")


@pytest.mark.parametrize("role", WORKING_ROLES)
def test_a_task_page_is_only_for_its_role(login, registered, web_desk, role):
    task = web_desk.task(registered, "Task_FirstContact")
    assert login(role).get(f"/tasks/{task.id}").status_code == (200 if role == "intake" else 403)


def test_unknown_task_and_case_are_404(login):
    client = login("intake")
    assert client.get("/tasks/999999").status_code == 404
    assert client.get("/cases/TS-1999-000001").status_code == 404
    assert client.get("/?list=everything").status_code == 404


def test_claim_release_and_complete_move_the_task_between_lists(login, registered, web_desk):
    client = login("intake")
    task = web_desk.task(registered, "Task_FirstContact")
    assert client.post(f"/tasks/{task.id}/claim").status_code == 302
    assert task_ids(client.get("/?list=mine")) == [task.id] and task_ids(client.get("/?list=queue")) == []
    client.post(f"/tasks/{task.id}/release")
    assert task_ids(client.get("/?list=mine")) == [] and task_ids(client.get("/?list=queue")) == [task.id]
    client.post(f"/tasks/{task.id}/claim")
    response = submit(client, task.id, {"contact_note": "已联系", "grade": "general"})
    assert response.status_code == 302
    inbox = client.get(response.location).get_data(as_text=True)
    assert "任务已完成，已转交 投诉处理专员：核实与协商" in inbox and "3个工作日后到期" in inbox
    assert task_ids(client.get("/?list=done")) == [task.id]
    assert len(task_ids(login("handler").get("/?list=queue"))) == 1


def test_invalid_task_form_shows_errors_next_to_fields_and_changes_nothing(login, registered, web_desk):
    client = login("intake")
    task = web_desk.task(registered, "Task_FirstContact")
    response = submit(client, task.id, {"contact_note": "", "grade": "severe"})
    assert response.status_code == 422
    errors = json.loads(_data_attribute(response, "data-errors"))
    assert set(errors) == {"contact_note", "grade"}
    assert json.loads(_data_attribute(response, "data-values"))["grade"] == "severe", "what was typed is kept"
    assert web_desk.task(registered, "Task_FirstContact").status.value == "open"


def test_completing_a_task_twice_is_a_conflict_page(login, registered, web_desk):
    client = login("intake")
    task = web_desk.task(registered, "Task_FirstContact")
    submit(client, task.id, {"contact_note": "x", "grade": "general"})
    response = submit(client, task.id, {"contact_note": "x", "grade": "general"})
    assert response.status_code == 409 and "already completed" in response.get_data(as_text=True)


def test_a_task_claimed_by_someone_else_cannot_be_claimed(login, registered, web_desk):
    from engine.people import users
    web_desk.do(users.add_user, "intake2", ["intake"], "secret")
    task = web_desk.task(registered, "Task_FirstContact")
    login("intake").post(f"/tasks/{task.id}/claim")
    other = login("intake").application.test_client()
    other.post("/login", data={"username": "intake2", "password": "secret"})
    assert other.post(f"/tasks/{task.id}/claim").status_code == 409


@pytest.mark.parametrize("role, visible", [("intake", True), ("handler", True), ("office_director", False),
                                           ("pr", False), ("security", False), ("compliance", False)])
def test_case_page_is_for_people_working_the_case(login, registered, web_desk, role, visible):
    """After first contact the case has had intake's and handler's tasks: only they see it."""
    web_desk.complete(registered, "Task_FirstContact", {"contact_note": "x", "grade": "general"})
    response = login(role).get(f"/cases/{registered}")
    assert response.status_code == (200 if visible else 403)
    if visible:
        page = response.get_data(as_text=True)
        assert "核实与协商" in page and "task_completed" in page


def test_complainant_contact_is_masked_for_roles_that_do_not_work_with_the_complainant(login, registered,
                                                                                        web_desk):
    from engine.people import users
    web_desk.do(users.add_user, "pr_intake", ["pr", "intake"], "secret")
    client = login("intake")
    page = client.get("/?list=queue").get_data(as_text=True)
    assert "王女士" in page
    task = web_desk.task(registered, "Task_FirstContact")
    assert "13812345678" in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    from engine.people.privacy import mask_contact, mask_name
    assert mask_name("王女士") == "王**" and mask_contact("13812345678") == "138****5678"


def test_inbox_filters_by_grade_and_overdue_and_pages(login, web_desk, app):
    app.config["INBOX_PAGE_SIZE"] = 2
    for _ in range(3):
        web_desk.start("general_complaint", REGISTRATION)
    client = login("intake")
    first = client.get("/?list=queue")
    [link] = re.findall(r'href="([^"]+)" rel="next"', first.get_data(as_text=True))
    assert len(task_ids(first)) == 2 and "cursor=" in link and "page=" not in link
    assert len(task_ids(client.get(html.unescape(link)))) == 1
    assert task_ids(client.get("/?list=queue&overdue=1")) == []
    assert task_ids(client.get("/?list=queue&grade=urgent")) == []
    assert len(task_ids(client.get("/?list=queue&plan=general_complaint"))) == 2


def test_language_switches_per_user(login, registered):
    client = login("intake")
    assert "待领任务" in client.get("/?list=queue").get_data(as_text=True)
    client.post("/language", data={"locale": "en"})
    page = client.get("/?list=queue").get_data(as_text=True)
    assert "Queue" in page and "First contact and grading" in page and "Intake clerk" in page
    again = login("intake")  # a new session: the choice is remembered on the user
    assert "First contact and grading" in again.get("/?list=queue").get_data(as_text=True)


def test_english_form_labels_come_from_the_forms_translation_table(login, registered, web_desk):
    client = login("intake")
    client.post("/language", data={"locale": "en"})
    task = web_desk.task(registered, "Task_FirstContact")
    schema = json.loads(_data_attribute(client.get(f"/tasks/{task.id}"), "data-schema"))
    labels = {c["key"]: c["label"] for c in schema["components"] if c.get("key")}
    assert labels["grade"] == "Grade"


def test_a_deadline_ending_with_a_day_reads_as_that_days_24_00():
    from datetime import datetime, timezone

    from webapp.i18n import due_time
    assert due_time(datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc)) == "2026-11-27 24:00"
    assert due_time(datetime(2026, 11, 27, 1, 30, tzinfo=timezone.utc)) == "2026-11-27 09:30"
