"""The inbox page: land where the work is, counts on tabs, plan names, search, claim from the list, due soon."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from engine.calendar.clock import utcnow
from engine.models import Task
from tests.webapp.conftest import task_ids


def test_an_empty_my_tasks_lands_on_the_queue_with_counts_on_the_tabs(login, registered, web_desk):
    client = login("intake")
    task_id = web_desk.task(registered, "Task_FirstContact").id
    page = client.get("/")
    assert task_ids(page) == [task_id]
    text = page.get_data(as_text=True)
    assert 'class="active" id="tab-queue"' in text
    assert '<span class="count">1</span>' in text and '<span class="count">0</span>' in text
    client.post(f"/tasks/{task_id}/claim")
    page = client.get("/").get_data(as_text=True)
    assert 'class="active" id="tab-mine"' in page


def test_the_plan_filter_lists_plan_names_and_claim_works_from_the_list(login, registered, web_desk):
    client = login("intake")
    page = client.get("/?list=queue").get_data(as_text=True)
    assert '<option value="general_complaint" >投诉受理应急处置预案</option>' in page
    task_id = web_desk.task(registered, "Task_FirstContact").id
    assert f'action="/tasks/{task_id}/claim"' in page
    assert client.post(f"/tasks/{task_id}/claim").status_code == 302
    assert web_desk.task(registered, "Task_FirstContact").assignee == "intake1"


def test_search_finds_a_case_by_number_and_by_phone(login, web_desk):
    first = web_desk.start("general_complaint", {"complainant": "李先生", "contact": "13900001111", "channel": "phone",
                                                 "category": "service", "content": "甲"})
    second = web_desk.start("general_complaint", {"complainant": "赵女士", "contact": "13900002222", "channel": "phone",
                                                  "category": "service", "content": "乙"})
    client = login("intake")
    assert task_ids(client.get(f"/?list=queue&q={second}")) == [web_desk.task(second, "Task_FirstContact").id]
    assert task_ids(client.get("/?list=queue&q=13900001111")) == [web_desk.task(first, "Task_FirstContact").id]
    page = client.get("/?list=queue&q=nobody")
    assert task_ids(page) == [] and 'value="nobody"' in page.get_data(as_text=True)


def test_a_task_in_the_last_fifth_of_its_time_shows_due_soon_on_the_row_and_the_task_page(login, registered,
                                                                                          web_desk):
    task_id = web_desk.task(registered, "Task_FirstContact").id
    now = utcnow()
    web_desk.do(lambda s: s.execute(update(Task).where(Task.id == task_id).values(
        created_at=now - timedelta(hours=9), due_at=now + timedelta(hours=1), due_sort=now + timedelta(hours=1))))
    client = login("intake")
    assert "即将到期" in client.get("/?list=queue").get_data(as_text=True)
    assert 'id="due-soon"' in client.get(f"/tasks/{task_id}").get_data(as_text=True)
    web_desk.do(lambda s: s.execute(update(Task).where(Task.id == task_id).values(
        created_at=now - timedelta(hours=1), due_at=now + timedelta(hours=9), due_sort=now + timedelta(hours=9))))
    assert "即将到期" not in client.get("/?list=queue").get_data(as_text=True)
