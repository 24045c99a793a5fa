"""A complaint travels through the browser: registered, claimed, refused once, completed, handed on."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.pages import log_in, submit_form


def test_complaint_goes_from_intake_to_handler_to_approver(browser, live_server, screenshot):
    intake = log_in(browser, live_server, "intake1")
    intake.click("text=登记投诉")
    intake.wait_for_selector("#pf-form .fjs-form-field")
    intake.get_by_label("投诉人").fill("王女士")
    intake.get_by_label("联系方式").fill("13812345678")
    intake.get_by_label("投诉内容").fill("快递延误且客服态度差")
    submit_form(intake)
    intake.wait_for_url(re.compile(r".*/cases/TS-\d{4}-\d{6}$"))
    number = intake.url.rsplit("/", 1)[-1]
    expect(intake.locator("[role=status]")).to_contain_text(number)

    intake.goto(f"{live_server}/?list=queue")
    intake.click("text=首次联系与分级")
    intake.click("#claim")
    intake.wait_for_selector("#pf-form .fjs-form-field")
    intake.get_by_label("联系情况记录").fill("已电话联系投诉人")
    intake.get_by_label("一般", exact=True).check()
    submit_form(intake)
    intake.wait_for_url(f"{live_server}/")
    expect(intake.locator("[role=status]")).to_contain_text("投诉处理专员：核实与协商")

    handler = log_in(browser, live_server, "handler1")
    handler.goto(f"{live_server}/?list=queue")
    row = handler.locator("#task-list tbody tr", has_text=number)
    expect(row).to_contain_text("核实与协商")
    expect(row).to_contain_text("3个工作日后到期")
    screenshot(handler, "inbox-queue")
    row.locator("a", has_text="核实与协商").click()
    handler.click("#claim")
    handler.wait_for_selector("#pf-form .fjs-form-field")

    # form-js checks the form in the browser first: an empty required field is refused on the spot.
    submit_form(handler)
    expect(handler.locator("#pf-form .fjs-form-field-error").first).to_be_visible()
    # The server is the judge: data that bypasses the browser's checks comes back with its field marked.
    handler.evaluate("""() => {
        document.getElementById('pf-data').value = JSON.stringify({findings: '', resolution: 'x',
                                                                   compensation_amount: -5});
        document.getElementById('pf-submit').submit();
    }""")
    handler.wait_for_selector(".pf-field-error")
    expect(handler.locator(".pf-field-error[data-field=compensation_amount]")).to_contain_text("不能小于 0")
    expect(handler.locator(".pf-field-error[data-field=findings]")).to_be_visible()
    screenshot(handler, "task-page-with-errors")

    handler.get_by_label("核实/调查结果").fill("情况属实，快递公司延误三天")
    handler.get_by_label("处理意见").fill("赔偿运费并致歉")
    handler.get_by_label("赔偿/补偿金额（元）").fill("500")
    submit_form(handler)
    handler.wait_for_url(f"{live_server}/")
    expect(handler.locator("[role=status]")).to_contain_text("部门负责人")

    dept_head = log_in(browser, live_server, "dept_head1")
    dept_head.goto(f"{live_server}/?list=queue")
    expect(dept_head.locator("#task-list tbody tr", has_text=number)).to_have_count(1)
    for other in ("general_manager1", "leadership1", "handler1"):
        page = log_in(browser, live_server, other)
        page.goto(f"{live_server}/?list=queue")
        expect(page.locator("#task-list tbody tr", has_text=number)).to_have_count(0)
