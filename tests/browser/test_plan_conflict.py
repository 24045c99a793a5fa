"""Chromium: two process owners edit one plan; the second sees what the first changed, opens theirs beside
their own editor, and keeps their own draft without losing either."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from engine.plans import drafts
from tests.browser.pages import log_in


def rename(page, element_id: str, name: str) -> None:
    task = page.locator(f'.djs-element.djs-shape[data-element-id="{element_id}"]')
    task.wait_for(timeout=20000)
    task.click()
    page.locator("#pf-properties #bio-properties-panel-name").fill(name)


def test_on_a_conflict_the_owner_sees_theirs_and_keeps_their_own_draft(browser, live_server, web_desk, screenshot):
    first = log_in(browser, live_server, "process_owner1")
    first.goto(f"{live_server}/plans/general_complaint/edit")
    second = log_in(browser, live_server, "process_owner1")
    second.goto(f"{live_server}/plans/general_complaint/edit")
    rename(first, "Task_FirstContact", "首次联系（甲的修改）")
    first.click("#pf-save-draft")
    expect(first.locator("#pf-status")).to_contain_text("1")

    rename(second, "Task_VerifyNegotiate", "核实与协商（乙的修改）")
    second.click("#pf-save-draft")
    conflict = second.locator(".pf-conflict")
    expect(conflict).to_contain_text("Task_FirstContact")
    expect(second.locator("#pf-status")).to_contain_text("已被他人修改（现为修订 1）")
    theirs = conflict.locator("a.pf-theirs")
    with second.context.expect_page() as opened:
        theirs.click()
    theirs_page = opened.value
    theirs_page.wait_for_load_state()
    expect(theirs_page.locator('.djs-element[data-element-id="Task_FirstContact"]')).to_contain_text(
        re.compile("甲的修改"), timeout=20000)
    screenshot(second, "plan-conflict")

    conflict.locator("button.pf-keep-mine").click()
    expect(second.locator(".pf-conflict")).to_have_count(0)
    state = web_desk.do(drafts.editor_state, "general_complaint")
    assert state.revision == 2 and "乙的修改" in state.xml
    assert "甲的修改" not in state.xml, "the second owner chose to keep their own draft (theirs stays as revision 1)"
