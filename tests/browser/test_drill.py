"""Chromium: a controller runs a drill; a participant works a drill task from the inbox; the report renders."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.pages import log_in, submit_form


def test_a_drill_from_start_to_the_after_action_report(browser, live_server, web_desk, screenshot):
    director = log_in(browser, live_server, "office_director1")
    director.click("header nav >> text=应急演练")
    director.fill("#drill-title", "季度投诉演练")
    director.select_option("#participant-intake", "intake1")
    director.select_option("#participant-handler", "handler1")
    director.click("#drill-start-button")
    expect(director.locator("#drill-controller")).to_be_visible()
    expect(director.locator("#drill-tasks")).to_contain_text("首次联系与分级")
    expect(director.locator("#drill-tasks")).to_contain_text("intake1")
    number = director.locator("#drill-cases li").first.inner_text().split()[1]
    assert number.startswith("DR-")

    # The participant finds the drill task in her own inbox, marked, and completes it.
    intake = log_in(browser, live_server, "intake1")
    intake.goto(f"{live_server}/?list=mine")
    row = intake.locator("#task-list tbody tr", has_text=number)
    expect(row.locator(".badge.drill")).to_have_text("演练")
    screenshot(intake, "drill-inbox")
    row.locator("a", has_text="首次联系与分级").click()
    expect(intake.locator("h1 .badge.drill")).to_be_visible()
    intake.wait_for_selector("#pf-form .fjs-form-field")
    intake.get_by_label("联系情况记录").fill("演练：已电话联系")
    intake.get_by_label("一般", exact=True).check()
    submit_form(intake)
    intake.wait_for_url(f"{live_server}/")

    # The controller records an observation and steps the clock past the answer's deadline.
    director.reload()
    expect(director.locator("#drill-tasks")).to_contain_text("核实与协商")
    director.fill("#drill-observation-text", "处理专员未在时限内答复")
    director.click("#drill-observe-button")
    director.click("#drill-step-next")
    expect(director.locator("#drill-tasks")).to_contain_text("督办答复")
    screenshot(director, "drill-controller")
    director.click("#drill-end")

    expect(director.locator("#drill-report")).to_be_visible()
    expect(director.locator("#figure-met")).to_have_text("1")
    expect(director.locator("#figure-escalated")).to_have_text("1")
    expect(director.locator("#drill-steps tr[data-element='Task_VerifyNegotiate'] .outcome")).to_have_text("已升级")
    expect(director.locator("#drill-report")).to_contain_text("处理专员未在时限内答复")
    # The path on the diagram: first contact done, the missed answer marked escalated.
    expect(director.locator('.djs-element.pf-done[data-element-id="Task_FirstContact"]')).to_have_count(1)
    expect(director.locator('.djs-element.pf-escalated[data-element-id="Task_VerifyNegotiate"]')).to_have_count(1)
    screenshot(director, "drill-report")
