"""The team page: for supervisors only; reassigning from it is audited and shows in the case history."""
from __future__ import annotations

import pytest

from engine.people import users


@pytest.mark.parametrize("role, status", [("office_director", 200), ("general_manager", 200), ("leadership", 200),
                                          ("handler", 403), ("intake", 403), ("compliance", 403)])
def test_the_team_page_is_for_supervisors(login, registered, role, status):
    assert login(role).get("/team").status_code == status


def test_a_supervisor_reassigns_from_the_team_page_and_the_case_history_says_why(login, registered, web_desk):
    web_desk.do(users.add_user, "intake2", ["intake"], None, password_hash="x")
    task_id = web_desk.task(registered, "Task_FirstContact").id
    client = login("office_director")
    page = client.get("/team").get_data(as_text=True)
    assert registered in page and "首次联系与分级" in page and '<option value="intake2">' in page
    response = client.post(f"/tasks/{task_id}/reassign", data={"to": "intake2", "reason": "intake1 休假"})
    assert response.status_code == 302
    assert web_desk.task(registered, "Task_FirstContact").assignee == "intake2"
    history = login("intake").get(f"/cases/{registered}").get_data(as_text=True)
    assert "office_director1 将 首次联系与分级 改派给 intake2：intake1 休假" in history


def test_reassigning_needs_a_reason(login, registered, web_desk):
    task_id = web_desk.task(registered, "Task_FirstContact").id
    login("office_director").post(f"/tasks/{task_id}/reassign", data={"to": "intake1", "reason": ""})
    assert web_desk.task(registered, "Task_FirstContact").assignee is None
