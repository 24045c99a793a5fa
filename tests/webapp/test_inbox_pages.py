"""Inbox and API task lists paged by cursor: links and `next` walk every task once while work goes on;
a cursor the list did not give out is a 400 that says so, never a 500."""
from __future__ import annotations

import html
import re

from tests.webapp.conftest import REGISTRATION, task_ids


def _link(response, rel: str) -> str | None:
    found = re.findall(rf'href="([^"]+)" rel="{rel}"', response.get_data(as_text=True))
    return html.unescape(found[0]) if found else None


def test_next_page_links_walk_the_queue_once_while_cases_arrive_and_tasks_are_claimed(login, app, web_desk):
    app.config["INBOX_PAGE_SIZE"] = 2
    numbers = [web_desk.start("general_complaint", REGISTRATION) for _ in range(5)]
    initial = {web_desk.task(n, "Task_FirstContact").id for n in numbers}
    client, claimer = login("intake"), login("intake")
    seen, claimed, url = [], set(), "/?list=queue"
    while url:
        page = client.get(url)
        assert page.status_code == 200
        seen += task_ids(page)
        web_desk.start("general_complaint", REGISTRATION)   # lands at the end of the queue (due last)
        unseen = sorted(initial - set(seen) - claimed)
        if unseen:
            assert claimer.post(f"/tasks/{unseen[-1]}/claim").status_code == 302
            claimed.add(unseen[-1])
        url = _link(page, "next")
    assert len(seen) == len(set(seen))
    assert initial - claimed <= set(seen)
    assert _link(client.get("/?list=queue"), "prev") is None


def test_the_api_pages_by_next_and_previous(api, web_desk):
    numbers = [web_desk.start("general_complaint", REGISTRATION) for _ in range(5)]
    client, headers = api("intake")
    first = client.get("/api/v1/tasks?list=queue&per_page=2", headers=headers).get_json()
    assert first["previous"] is None and first["has_next"] and "page" not in first
    pages, answer = [first], first
    while answer["next"]:
        answer = client.get(f"/api/v1/tasks?list=queue&per_page=2&cursor={answer['next']}", headers=headers).get_json()
        pages.append(answer)
    walked = [t["id"] for p in pages for t in p["tasks"]]
    assert walked == [web_desk.task(n, "Task_FirstContact").id for n in numbers]
    back = client.get(f"/api/v1/tasks?list=queue&per_page=2&cursor={pages[1]['previous']}", headers=headers)
    assert back.get_json()["tasks"] == first["tasks"]


def test_a_foreign_or_mangled_cursor_is_a_clear_400(api, login, web_desk):
    web_desk.start("general_complaint", REGISTRATION)
    web_desk.start("general_complaint", REGISTRATION)
    client, headers = api("intake")
    cursor = client.get("/api/v1/tasks?list=queue&per_page=1", headers=headers).get_json()["next"]
    for query in [f"list=mine&cursor={cursor}", f"list=queue&cursor={cursor[:-3]}", "list=queue&cursor=%E2%9C%93",
                  "list=queue&cursor=" + "A" * 300]:
        response = client.get(f"/api/v1/tasks?{query}", headers=headers)
        assert response.status_code == 400, query
        assert response.get_json()["error"]["code"] == "bad_cursor", query
        assert "first page" in response.get_json()["error"]["message"]
    response = client.get("/api/v1/tasks?list=queue&page=2", headers=headers)
    assert response.status_code == 400 and "cursor" in response.get_json()["error"]["message"]
    page = login("intake")
    assert page.get(f"/?list=done&cursor={cursor}").status_code == 400
    assert page.get(f"/?list=queue&cursor={cursor}").status_code == 200
