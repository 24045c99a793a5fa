"""Pages show times in the organisation's zone and flag provisional deadlines; machine outputs keep ISO."""
from __future__ import annotations

import csv
import html
import io
import re
from zoneinfo import ZoneInfo

from engine.cases.use_cases import get_case
from engine.db import transaction
from engine.plans import versions as plans
from tests.samples import one_task_plan, write_plan
from tests.webapp.conftest import submit

# Thu 4 Feb 2027 (1); 春节 5–10 Feb off by statute; Thu 11 (2), Fri 12 (3): due at the end of 12 Feb, provisional.
TIMER = "working_days(3, since='2027-02-03T10:00')"


def flashed(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash[^"]*" role="status">(.*?)</p>',
                                                response.get_data(as_text=True))]


def test_what_happens_next_flags_a_provisional_deadline(login, web_desk, tmp_path):
    web_desk.do(plans.deploy, plans.Bundle.from_paths([write_plan(tmp_path / "plans", one_task_plan(timer=TIMER))]),
                "process_owner1", web_desk.now)
    number = web_desk.start("mini", {}, "handler1")
    client = login("handler")
    task = web_desk.task(number, "Task_Verify")
    assert task.due_provisional
    client.post(f"/tasks/{task.id}/claim")
    response = submit(client, task.id, {"note": "loop"})
    messages = flashed(client.get(response.location))
    # e.g. "任务已完成，已转交 投诉处理专员：Verify (51个工作日后到期, 暂定)。" — the count depends on today.
    assert [m for m in messages if re.search(r"：Verify \(\d+个工作日后到期, 暂定\)。$", m)], messages


def test_evidence_printable_view_shows_local_times(login, web_desk, registered):
    with transaction(web_desk.session_factory, readonly=True) as session:
        started = get_case(session, registered).started_at
    due = web_desk.task(registered, "Task_FirstContact").due_at
    page = login("compliance").get(f"/review/cases/{registered}/evidence.html").get_data(as_text=True)
    local_start = started.astimezone(web_desk_zone()).strftime("%Y-%m-%d %H:%M")
    assert f"started {local_start} by" in page
    assert f"<td>{due.astimezone(web_desk_zone()).strftime('%Y-%m-%d %H:%M')}</td>" in page
    assert started.isoformat() not in page.split("<h2")[0]


def test_case_csv_keeps_the_machine_column_and_adds_local_time(login, web_desk, registered):
    with transaction(web_desk.session_factory, readonly=True) as session:
        started = get_case(session, registered).started_at
    body = login("compliance").get("/review/cases.csv").get_data(as_text=True).lstrip("\ufeff")
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["started_at"] == started.isoformat()
    assert row["started_local"] == started.astimezone(web_desk_zone()).strftime("%Y-%m-%d %H:%M")


def web_desk_zone():
    return ZoneInfo("Asia/Shanghai")
