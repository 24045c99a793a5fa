"""Chromium: a supervisor finds cases by number and by phone, and reassigns a task from the team page."""
from __future__ import annotations

from playwright.sync_api import expect

from engine.people import users
from tests.browser.pages import log_in


def test_search_finds_a_case_by_number_and_by_phone(browser, live_server, web_desk, screenshot):
    first = web_desk.start("general_complaint", {"complainant": "李先生", "contact": "13900001111", "channel": "phone",
                                                 "category": "service", "content": "甲"})
    second = web_desk.start("general_complaint", {"complainant": "赵女士", "contact": "13900002222", "channel": "phone",
                                                  "category": "service", "content": "乙"})
    intake = log_in(browser, live_server, "intake1")
    expect(intake.locator("#tab-queue")).to_have_class("active")
    expect(intake.locator("#tab-queue .count")).to_have_text("2")
    intake.fill("#search", second)
    intake.press("#search", "Enter")
    rows = intake.locator("#task-list tbody tr[data-task-id]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(second)
    intake.fill("#search", "13900001111")
    intake.press("#search", "Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(first)
    screenshot(intake, "inbox-search")


def test_a_supervisor_reassigns_a_task(browser, live_server, web_desk, screenshot):
    web_desk.do(users.add_user, "intake2", ["intake"], None, password_hash="x")
    number = web_desk.start("general_complaint", {"complainant": "王女士", "contact": "13812345678",
                                                  "channel": "phone", "category": "service", "content": "快递延误"})
    task_id = web_desk.task(number, "Task_FirstContact").id
    director = log_in(browser, live_server, "office_director1")
    director.click("header nav >> text=团队")
    row = director.locator(f"#team-tasks tr[data-team-task='{task_id}']")
    expect(row).to_contain_text(number)
    row.locator("select[name=to]").select_option("intake2")
    row.locator("input[name=reason]").fill("intake1 休假")
    screenshot(director, "team-view")
    row.locator("button[type=submit]").click()
    expect(director.locator("[role=status]")).to_contain_text("intake2")
    expect(director.locator(f"#team-tasks tr[data-team-task='{task_id}'] .holder")).to_have_text("intake2")
    intake = log_in(browser, live_server, "intake1")
    intake.goto(f"{live_server}/cases/{number}")
    expect(intake.locator("#case-history")).to_contain_text("office_director1 将 首次联系与分级 改派给 intake2：intake1 休假")
