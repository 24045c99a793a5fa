"""Chromium: the modeler, the form editor and the decision-table editor speak the page's language.

bpmn-js, its properties panel, bpmnlint, form-js's editor and dmn-js write English; on a Chinese
page their palette, context pad, replace menu, panels and lint messages read Chinese, and on an
English page the same places read English.
"""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.pages import log_in

# Places in each editor and what they say, in Chinese then English.
MODELER = {
    "palette": ('.djs-palette .entry[aria-label="创建任务"]', '.djs-palette .entry[aria-label="Create task"]'),
    "context pad": ('.djs-context-pad .entry[title="追加任务"]', '.djs-context-pad .entry[title="Append task"]'),
}


def switch_language(page):
    page.locator("header form button[lang]").click()
    page.wait_for_load_state()


def open_modeler(page, base):
    page.goto(f"{base}/plans/general_complaint/edit")
    task = page.locator('.djs-element.djs-shape[data-element-id="Task_FirstContact"]')
    task.wait_for(timeout=20000)
    task.click()
    expect(page.locator("#pf-properties #bio-properties-panel-name")).to_be_visible()


def test_modeler_palette_menus_panel_and_lint_in_the_page_language(browser, live_server, screenshot):
    page = log_in(browser, live_server, "process_owner1")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for chinese in (True, False):
        if not chinese:
            switch_language(page)
        open_modeler(page, live_server)
        for place, selectors in MODELER.items():
            expect(page.locator(selectors[0 if chinese else 1]), place).to_have_count(1)
        panel = page.locator("#pf-properties")
        groups = panel.locator(".bio-properties-panel-group-header-title")
        expected_groups = ("常规", "办理人分配", "表单") if chinese else ("General", "User assignment", "Forms")
        for title in expected_groups:
            expect(groups.filter(has_text=title).first).to_be_visible()
        expect(panel.locator(".bio-properties-panel-header-type")).to_have_text("用户任务" if chinese else "User Task")
        # The replace menu (change the element's type) lists types in the page's language.
        page.locator('.djs-context-pad .entry[data-action="replace"]').click()
        menu = page.locator(".djs-popup")
        expect(menu.locator(".entry", has_text="服务任务" if chinese else "Service task")).to_have_count(1)
        expect(menu.locator('input[type="text"]')).to_be_visible()
        if chinese:
            screenshot(page, "modeler-replace-menu-zh")
        page.keyboard.press("Escape")
        # A task without a name (it is still selected): bpmnlint's message on the diagram and in the problems panel.
        page.locator("#pf-properties #bio-properties-panel-name").fill("")
        lint = page.locator('#pf-problems .pf-problem-item[data-source="lint"][data-element-id="Task_FirstContact"]')
        expect(lint).to_contain_text("元素缺少名称" if chinese else "Element is missing label/name")
        expect(page.locator(".bjsl-button")).to_contain_text("个错误" if chinese else "Errors")
        marker = page.locator('.djs-overlays[data-container-id="Task_FirstContact"] .bjsl-overlay')
        marker.hover()
        expect(marker.locator(".bjsl-dropdown-content")).to_contain_text(
            "元素缺少名称" if chinese else "Element is missing label/name")
        if chinese:
            screenshot(page, "modeler-zh-lint")
    assert errors == []


def test_form_and_decision_table_editors_in_the_page_language(browser, live_server, screenshot):
    page = log_in(browser, live_server, "process_owner1")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for chinese in (True, False):
        if not chinese:
            switch_language(page)
        page.goto(f"{live_server}/plans/general_complaint/forms/gc_answer/edit")
        editor = page.locator("#pf-form-editor")
        expect(editor.locator(".fjs-editor-container")).to_have_count(1, timeout=20000)
        palette = editor.locator(".fjs-palette")
        expect(palette.locator(".fjs-palette-header")).to_have_text("组件" if chinese else "Components")
        expect(palette.locator(".fjs-palette-search")).to_have_attribute(
            "placeholder", "搜索组件" if chinese else "Search components")
        expect(palette.locator(".fjs-palette-field", has_text="多行文本框" if chinese else "Text area")).to_have_count(1)
        editor.locator(".fjs-form-field-textarea").first.click()
        panel = editor.locator(".fjs-properties-panel")
        titles = panel.locator(".bio-properties-panel-group-header-title")
        for title in (("常规", "校验", "自定义属性") if chinese else ("General", "Validation", "Custom properties")):
            expect(titles.filter(has_text=title).first).to_be_visible()
        expect(panel.locator(".bio-properties-panel-label", has_text="字段标签" if chinese else "Field label").first) \
            .to_be_attached()
        # The form as designed keeps the plan's own words (the field's label is the plan's Chinese).
        expect(editor.locator(".fjs-form-container label.fjs-form-field-label").first).to_contain_text("核实/调查结果")
        if chinese:
            screenshot(page, "form-editor-zh")

        page.goto(f"{live_server}/plans/general_complaint/decisions/compensation_approval/edit")
        table = page.locator("#pf-dmn-editor")
        expect(table.locator(".tjs-table")).to_have_count(1, timeout=20000)
        expect(table.locator(".hit-policy .dms-label")).to_have_text("命中策略：" if chinese else "Hit policy:")
        expect(table.locator(".hit-policy .dms-input")).to_have_text("唯一" if chinese else "Unique")
        expect(table.locator(".input-editor .input-variable")).to_have_text("数字" if chinese else "number")
        expect(table.locator(".view-drd-button")).to_have_text("查看决策需求图" if chinese else "View DRD")
        expect(table.locator(".input-editor .clause")).to_have_text("当" if chinese else "When")
        # Its context menu (right click on a rule) offers rule actions in the page's language.
        table.locator("tbody td").nth(1).click(button="right")
        expect(table.locator(".context-menu", has_text="在下方添加规则" if chinese else "Add rule below")).to_be_visible()
        if chinese:
            screenshot(page, "decision-table-editor-zh")
        page.keyboard.press("Escape")
    assert errors == []
