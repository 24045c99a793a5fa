"""Compliance sees a case's path on the diagram of the version it ran on."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from engine.cases import timers
from tests.browser.pages import log_in
from tests.webapp.conftest import REGISTRATION


def test_case_view_marks_the_escalation_on_the_diagram(browser, live_server, web_desk, screenshot):
    number = web_desk.start("general_complaint", REGISTRATION)
    timers.sweep(web_desk.session_factory, web_desk.now + timedelta(hours=25))
    page = log_in(browser, live_server, "compliance1")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/review/cases/{number}")
    expect(page.locator('#pf-viewer[data-ready="true"]')).to_have_count(1, timeout=20000)
    expect(page.locator('.djs-element.pf-escalated[data-element-id="Task_FirstContact"]')).to_have_count(1)
    expect(page.locator('.djs-element.pf-fired[data-element-id="Timer_FirstContact24h"]')).to_have_count(1)
    expect(page.locator('.djs-element.pf-active[data-element-id="Task_FirstContactEscalated"]')).to_have_count(1)
    expect(page.locator("#chain")).to_contain_text("审计链")
    screenshot(page, "compliance-case-view")
    assert errors == []
