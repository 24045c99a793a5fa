"""Chromium: the form widget speaks the page's language, and rendered pages keep to one script."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.pages import log_in, submit_form

CJK = re.compile(r"[\u3400-\u9fff]")
ENGLISH_WORDS = re.compile(r"\b(Field|Select|Search|required|results|Browse)\b")
CALENDAR_ENGLISH = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|November|"
                              r"December|Sun|Mon|Tue|Wed|Thu|Fri|Sat|Month|Year)\b")


def test_form_js_messages_are_chinese_on_chinese_pages(browser, live_server, screenshot):
    intake = log_in(browser, live_server, "intake1")
    intake.goto(f"{live_server}/register")
    intake.wait_for_selector("#pf-form .fjs-form-field")
    submit_form(intake)
    expect(intake.locator("#pf-form .fjs-form-field-error").first).to_have_text("此项为必填。")
    form_text = intake.inner_text("#pf-form")
    assert "请选择" in form_text and not ENGLISH_WORDS.search(form_text), form_text
    screenshot(intake, "register-zh-errors")

    # The date picker form-js brings (flatpickr): months, weekdays (Monday first), what a screen
    # reader hears for each day and the placeholders, all in Chinese; choosing a day still works.
    intake.click("#pf-form .fjs-datepicker input.fjs-input")
    calendar = intake.locator("#pf-form .flatpickr-calendar.open")
    expect(calendar.locator(".flatpickr-weekday").first).to_have_text("周一")
    words = calendar.evaluate("c => [c.innerText, ...Array.from(c.querySelectorAll('[aria-label]'), "
                              "(e) => e.getAttribute('aria-label'))].join(' ')")
    assert "十二月" in words and not CALENDAR_ENGLISH.search(words), words
    placeholders = intake.eval_on_selector_all("#pf-form .fjs-datetime-subsection input.fjs-input",
                                               "es => es.map(e => e.placeholder)")
    assert len(placeholders) == 2 and not any(re.search("[A-Za-z]", p) for p in placeholders), placeholders
    screenshot(intake, "register-zh-date-picker")
    calendar.locator(".flatpickr-day.today").click()
    expect(intake.locator("#pf-form .fjs-datepicker input.fjs-input")).to_have_value(re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$"))


def test_rendered_english_pages_hold_no_chinese(browser, live_server, web_desk, screenshot):
    number = web_desk.start("general_complaint", {"complainant": "Alice Wang", "contact": "13812345678",
                                                  "channel": "phone", "category": "service",
                                                  "content": "Parcel three days late"})
    web_desk.complete(number, "Task_FirstContact", {"contact_note": "Called back", "grade": "general"})
    task_id = web_desk.task(number, "Task_VerifyNegotiate").id
    handler = log_in(browser, live_server, "handler1")
    handler.click("header form button[lang=en]")
    handler.wait_for_load_state()
    for path in ("/", f"/tasks/{task_id}", f"/cases/{number}"):
        handler.goto(f"{live_server}{path}")
        if path.startswith("/tasks"):
            handler.wait_for_selector("#pf-form .fjs-form-field")
            submit_form(handler)
            expect(handler.locator("#pf-form .fjs-form-field-error").first).to_have_text("Field is required.")
        text = handler.inner_text("main") + handler.inner_text("header nav")
        assert not CJK.search(text), (path, CJK.findall(text)[:20], text[:500])
    screenshot(handler, "task-page-en")


# What is left out is the plan's own content, shown as the plan carries it, never the product's or
# an editor's words: the shapes of the diagram (their labels are the plan's names; the palette,
# context pad, lint markers and properties panel stay in), the element or form named in a
# properties panel's header, the form as designed in the form editor (its labels, hints, options
# and texts: Chinese, with the English in label_en), and a decision table's name, column labels
# and rules. Code, scripts and text marked with its own lang are not prose.
PLAN_CONTENT = ("[lang], code, script, style, noscript, .djs-element, .bio-properties-panel-header-label, "
                "label.fjs-form-field-label, .fjs-form-field-description, .fjs-form-field-text, .fjs-form-field-html, "
                ".fjs-radio, .fjs-checkbox, .fjs-taglist, "
                ".decision-table-name, .input-label, .output-label, .tjs-table tbody")
VISIBLE_TEXT = """(excluded) => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll(excluded).forEach((e) => e.remove());
  return copy.textContent.replace(/\\s+/g, ' ');
}"""
EDITORS = ["/plans/general_complaint/edit", "/plans/general_complaint/forms/gc_register/edit",
           "/plans/general_complaint/decisions/compensation_approval/edit"]
READY = {EDITORS[0]: "#pf-properties .bio-properties-panel", EDITORS[1]: "#pf-form-editor .fjs-properties-panel",
         EDITORS[2]: "#pf-dmn-editor .tjs-table"}
NAMES = {"PlanFlow", "CSV", "BPMN", "DMN", "JSON", "SHA", "KB", "bpmn", "io", "zip", "PDF", "Camunda", "Modeler", "Python"}
ENGLISH = re.compile(r"(?<![\w.@/-])[A-Za-z]{3,}(?![\w@/-])")
# The bpmn.io logo stays as each widget draws it (its licence); only its hover text follows the page.
LOGOS = ".bjs-powered-by, .fjs-powered-by-link"
LOGO_TITLE = {"zh": "由 bpmn.io 提供支持", "en": "Powered by bpmn.io"}


def test_rendered_pages_of_every_role_keep_to_one_language(browser, live_server, web_desk):
    problems, logos = {}, {}
    for locale in ("zh", "en"):
        english = locale == "en"
        # Data in neither script: lists show every case, and what people typed is not the product's text.
        data = {"complainant": f"K-{locale}", "content": "0571-88886666", "contact_note": "13:30"}
        number = web_desk.start("general_complaint", {"complainant": data["complainant"], "contact": "13812345678",
                                                      "channel": "phone", "category": "service",
                                                      "content": data["content"]})
        web_desk.complete(number, "Task_FirstContact", {"contact_note": data["contact_note"], "grade": "general"})
        task_id = web_desk.task(number, "Task_VerifyNegotiate").id
        walks = {"handler1": ["/?list=queue", f"/tasks/{task_id}", f"/cases/{number}"],
                 "office_director1": ["/team"],
                 "process_owner1": ["/plans/", "/plans/general_complaint", *EDITORS],
                 "compliance1": ["/review/cases", f"/review/cases/{number}", "/review/monthly",
                                 "/review/plans/general_complaint/v1/heatmap"]}
        for username, paths in walks.items():
            page = log_in(browser, live_server, username)
            page.locator("header form button[lang]").click()  # switch, then back when needed
            page.wait_for_load_state()
            if (page.locator("html").get_attribute("lang") == "en") != english:
                page.locator("header form button[lang]").click()
                page.wait_for_load_state()
            for path in paths:
                page.goto(f"{live_server}{path}")
                page.wait_for_load_state("networkidle")
                if path in READY:
                    page.wait_for_selector(READY[path], state="attached", timeout=20000)
                text = page.evaluate(VISIBLE_TEXT, PLAN_CONTENT)
                found = CJK.findall(text) if english else [w for w in ENGLISH.findall(text) if w not in NAMES]
                if found:
                    problems[(locale, path)] = found[:10]
                logos[(locale, path)] = page.eval_on_selector_all(LOGOS, "es => es.map((e) => e.title)")
            page.close()
    assert not problems, problems
    wrong = {where: titles for where, titles in logos.items() if set(titles) - {LOGO_TITLE[where[0]]}}
    assert not wrong, wrong
    drawn = {re.sub(r"\d+$", "<id>", path) for (locale, path), titles in logos.items() if titles}
    assert {"/tasks/<id>", "/review/plans/general_complaint/v1/heatmap", *EDITORS} <= drawn, drawn
