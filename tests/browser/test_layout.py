"""Chromium: phone width without sideways scrolling, a print layout without controls, and a favicon."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.pages import log_in
from tests.webapp.conftest import REGISTRATION


def scrolls_sideways(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth")


def test_inbox_and_task_page_fit_a_phone(browser, live_server, web_desk, screenshot):
    number = web_desk.start("general_complaint", REGISTRATION)
    web_desk.complete(number, "Task_FirstContact", {"contact_note": "已电话联系，客户要求赔偿运费", "grade": "general"})
    task_id = web_desk.task(number, "Task_VerifyNegotiate").id
    handler = log_in(browser, live_server, "handler1", width=375, height=800)
    expect(handler.locator("#task-list")).to_contain_text(number)
    assert not scrolls_sideways(handler)
    expect(handler.locator(".topbar .who")).to_be_in_viewport()
    screenshot(handler, "phone-inbox")
    handler.goto(f"{live_server}/tasks/{task_id}")
    handler.wait_for_selector("#pf-form .fjs-form-field")
    expect(handler.locator("#complaint")).to_contain_text("快递延误且客服态度差")
    assert not scrolls_sideways(handler)
    screenshot(handler, "phone-task-page")


def test_a_printed_case_page_shows_the_record_without_controls(browser, live_server, web_desk):
    number = web_desk.start("general_complaint", REGISTRATION)
    page = log_in(browser, live_server, "intake1", width=375, height=800)
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto(f"{live_server}/cases/{number}")
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator(".comment-form")).to_be_hidden()
    expect(page.locator("#complaint")).to_be_visible()
    assert page.request.get(f"{live_server}/static/favicon.svg").status == 200
    assert page.locator("link[rel=icon]").count() == 1
