"""The case workspace in Chromium: everyone deciding sees the complaint and the answers before theirs."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_inbox_flow import log_in
from tests.webapp.conftest import REGISTRATION


def test_handler_and_dept_head_decide_with_the_whole_case_in_front_of_them(browser, live_server, web_desk,
                                                                           screenshot):
    number = web_desk.start("general_complaint", REGISTRATION)
    web_desk.complete(number, "Task_FirstContact", {"contact_note": "已电话联系，客户要求赔偿运费", "grade": "general"})
    handler_task = web_desk.task(number, "Task_VerifyNegotiate").id

    handler = log_in(browser, live_server, "handler1")
    handler.goto(f"{live_server}/tasks/{handler_task}")
    complaint = handler.locator("#complaint")
    expect(complaint).to_contain_text("投诉内容")
    expect(complaint).to_contain_text("快递延误且客服态度差")
    steps = handler.locator("#steps")
    expect(steps).to_contain_text("首次联系与分级")
    expect(steps.locator("dt", has_text="联系情况记录")).to_be_visible()
    expect(steps).to_contain_text("已电话联系，客户要求赔偿运费")
    expect(steps.locator("dt", has_text="投诉等级")).to_be_visible()
    expect(steps.locator("dd[data-key=grade]")).to_have_text("一般")
    expect(handler.locator("#case-history")).to_contain_text("的投诉由 intake1 登记")
    handler.fill("#comment-text", "客户下午三点后方便接电话")
    handler.click("#add-comment")
    expect(handler.locator("#comments")).to_contain_text("客户下午三点后方便接电话")
    screenshot(handler, "task-page-workspace")

    web_desk.complete(number, "Task_VerifyNegotiate", {"findings": "快递确实延误三天", "resolution": "赔偿运费并致歉",
                                                       "compensation_amount": 800})
    approval = web_desk.task(number, "Task_ApproveDeptHead").id
    dept_head = log_in(browser, live_server, "dept_head1")
    dept_head.goto(f"{live_server}/tasks/{approval}")
    expect(dept_head.locator("#complaint dd[data-key=claimed_amount]")).to_have_text("500")
    expect(dept_head.locator("#steps dd[data-key=findings]")).to_have_text("快递确实延误三天")
    expect(dept_head.locator("#steps dd[data-key=compensation_amount]")).to_have_text("800")
    expect(dept_head.locator("#comments")).to_contain_text("handler1")
    screenshot(dept_head, "task-page-dept-head-workspace")
