"""Chromium: when a deadline passes and the case escalates, leadership's bell shows it and leads to the task."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from engine.cases import timers
from engine.plans import versions as plans
from tests.browser.pages import log_in
from tests.samples import one_task_plan, write_plan


def test_the_bell_shows_leadership_the_escalation(browser, live_server, web_desk, tmp_path, screenshot):
    folder = write_plan(tmp_path / "plans", one_task_plan("statement", task_name="对外口径研判",
                                                          escalate_lane="leadership"), name="statement.bpmn")
    web_desk.do(plans.deploy, plans.Bundle.from_paths([folder]), "process_owner1", web_desk.now)
    number = web_desk.start("statement", {}, "handler1")
    assert timers.sweep(web_desk.session_factory, web_desk.now + timedelta(hours=24, seconds=1)).fired == 1
    leader = log_in(browser, live_server, "leadership1")
    bell = leader.locator("#bell")
    expect(bell.locator("#bell-count")).to_have_text("1")
    screenshot(leader, "notifications-bell")
    bell.click()
    item = leader.locator("#notification-list li[data-event=escalated]")
    expect(item).to_have_count(1)
    expect(item.locator(".subject")).to_have_text(f"已升级：Escalated（{number}）")
    expect(item.locator(".body")).to_contain_text("“对外口径研判”（投诉处理专员）未在")
    screenshot(leader, "notifications-list")
    item.locator(".subject").click()
    expect(leader).to_have_url(f"{live_server}/tasks/" + leader.url.rsplit("/", 1)[-1])
    expect(leader.locator("main")).to_contain_text(number)
    expect(leader.locator("#bell-count")).to_have_count(0)
