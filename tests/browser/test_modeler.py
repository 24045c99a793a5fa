"""A process owner renames a task in the browser modeler, deploys, and finds version 2; forms and tables open."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.pages import log_in


def test_owner_renames_a_task_in_the_modeler_and_deploys_version_2(browser, live_server, screenshot):
    page = log_in(browser, live_server, "process_owner1")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/plans/general_complaint/edit")
    task = page.locator('.djs-element.djs-shape[data-element-id="Task_FirstContact"]')
    task.wait_for(timeout=20000)
    task.click()
    name = page.locator("#pf-properties #bio-properties-panel-name")
    expect(name).to_have_value(re.compile("首次联系"))
    name.fill("首次联系、分级与登记核对")
    # bpmn-js's own words in the page's language: the palette and the properties panel.
    expect(page.locator('.djs-palette .entry[aria-label="创建任务"]')).to_have_count(1)
    expect(page.locator("#pf-properties .bio-properties-panel-group-header-title", has_text="常规")).to_have_count(1)
    screenshot(page, "modeler")
    page.click("#pf-deploy")  # a deploy without a change note is not sent
    expect(page.locator("#pf-status")).to_contain_text("请简要说明")
    page.fill("#pf-change-note", "首次联系步骤加上登记核对")
    page.click("#pf-deploy")
    page.wait_for_url(f"{live_server}/plans/general_complaint", timeout=30000)
    expect(page.locator('#versions tr[data-version="2"]')).to_have_count(1)
    expect(page.locator('#versions tr[data-version="2"] .change-note')).to_have_text("首次联系步骤加上登记核对")
    expect(page.locator("[role=status]").first).to_contain_text("2")

    page.goto(f"{live_server}/plans/general_complaint/versions/2?compare=1")
    expect(page.locator("#pf-diff-list li")).to_have_count(1)
    expect(page.locator("#pf-diff-list")).to_contain_text("首次联系、分级与登记核对")

    page.goto(f"{live_server}/plans/general_complaint/versions/2?compare=1")
    changed = page.locator('.djs-element[data-element-id="Task_FirstContact"].pf-changed')
    expect(changed).to_have_count(1, timeout=20000)
    screenshot(page, "version-diff")
    assert errors == []


def test_form_and_decision_table_editors_open(browser, live_server, screenshot):
    page = log_in(browser, live_server, "process_owner1")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/plans/general_complaint/forms/gc_answer/edit")
    expect(page.locator("#pf-form-editor .fjs-editor-container")).to_have_count(1, timeout=20000)
    page.goto(f"{live_server}/plans/general_complaint/decisions/compensation_approval/edit")
    expect(page.locator("#pf-dmn-editor .tjs-table")).to_have_count(1, timeout=20000)
    screenshot(page, "decision-table-editor")
    assert errors == []
