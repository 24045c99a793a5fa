"""Compliance records read in words: labels instead of keys and element ids, local times, CSV machine columns kept."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from engine.cases import timers
from tests.webapp.conftest import REGISTRATION


def worked_case(web_desk) -> str:
    number = web_desk.start("general_complaint", REGISTRATION)
    web_desk.complete(number, "Task_FirstContact", {"contact_note": "已联系", "grade": "major"})
    return number


def test_the_timeline_shows_event_names_field_labels_and_option_labels(login, web_desk):
    number = worked_case(web_desk)
    page = login("compliance").get(f"/review/cases/{number}").get_data(as_text=True)
    timeline = page[page.index('id="timeline"'):]
    assert "<strong>投诉已登记</strong>" in timeline and "<strong>任务已完成</strong>" in timeline
    assert "首次联系与分级" in timeline and "Task_FirstContact" not in timeline
    assert '<tr data-key="grade"><td>投诉等级</td>' in timeline and '<td class="after">重大</td>' in timeline
    assert '<td class="after">major</td>' not in timeline
    assert "<strong>task_completed</strong>" not in timeline


def test_the_timeline_reads_in_english_with_the_forms_english_labels(login, web_desk):
    number = worked_case(web_desk)
    client = login("compliance")
    client.post("/language", data={"locale": "en"})
    timeline = client.get(f"/review/cases/{number}").get_data(as_text=True).split('id="timeline"', 1)[1]
    assert "<strong>task completed</strong>" in timeline and "First contact and grading" in timeline
    assert "<td>Grade</td>" in timeline


def test_the_heatmap_names_its_elements(login, web_desk):
    number = web_desk.start("general_complaint", REGISTRATION)
    timers.sweep(web_desk.session_factory, web_desk.now + timedelta(hours=25))
    assert number
    page = login("compliance").get("/review/plans/general_complaint/v1/heatmap").get_data(as_text=True)
    row = page[page.index('data-element="Timer_FirstContact24h"'):].split("</tr>", 1)[0]
    assert row.split("<td>", 1)[1].startswith("收到后24小时未联系 <small><code>Timer_FirstContact24h</code>")


def test_monthly_report_and_csvs_keep_machine_columns_and_add_labels(login, web_desk):
    number = worked_case(web_desk)
    client = login("compliance")
    month = web_desk.now.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    page = client.get(f"/review/monthly?month={month}").get_data(as_text=True)
    assert '<tr data-key="general_complaint"><td>投诉受理应急处置预案</td>' in page
    assert '<tr data-key="major"><td>重大</td>' in page and '<tr data-key="service"><td>服务</td>' in page
    monthly = list(csv.reader(io.StringIO(client.get(f"/review/monthly.csv?month={month}").get_data(as_text=True)
                                          .lstrip("\ufeff"))))
    assert monthly[0] == ["month", "measure", "key", "value", "label"]
    assert [month, "by_plan", "general_complaint", "1", "投诉受理应急处置预案"] in monthly
    cases = list(csv.DictReader(io.StringIO(client.get("/review/cases.csv").get_data(as_text=True).lstrip("\ufeff"))))
    [row] = [r for r in cases if r["number"] == number]
    assert (row["plan"], row["grade"], row["category"]) == ("general_complaint", "major", "service")
    assert (row["plan_name"], row["grade_label"], row["category_label"], row["status_label"]) == \
        ("投诉受理应急处置预案", "重大", "服务", "办理中")
    assert row["started_at"].endswith("+00:00") and len(row["started_local"]) == 16
