"""Chromium + axe-core: no serious or critical accessibility violation on the pages people work in.

axe-core comes from the npm registry with the other front-end packages (`make` installs it
under webapp/frontend/node_modules); the test injects it into each page.
"""
from __future__ import annotations

import pytest

from tests.browser.pages import log_in
from tests.support import ROOT
from tests.webapp.conftest import REGISTRATION

AXE = ROOT / "webapp" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(page) -> list[str]:
    if not page.evaluate("() => !!window.axe"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:4]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_inbox_task_case_plans_and_review_pages_have_no_serious_violation(browser, live_server, web_desk):
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make assets` (npm ci in webapp/frontend)")
    number = web_desk.start("general_complaint", REGISTRATION)
    web_desk.complete(number, "Task_FirstContact", {"contact_note": "已联系", "grade": "general"})
    task_id = web_desk.task(number, "Task_VerifyNegotiate").id
    found = {}
    handler = log_in(browser, live_server, "handler1", bypass_csp=True)
    for path, ready in [("/?list=queue", "#task-list"), (f"/tasks/{task_id}", "#pf-form .fjs-form-field"),
                        (f"/cases/{number}", "#workspace")]:
        handler.goto(f"{live_server}{path}")
        handler.wait_for_selector(ready)
        found[path] = serious_violations(handler)
    owner = log_in(browser, live_server, "process_owner1", bypass_csp=True)
    for path in ["/plans/", "/plans/general_complaint"]:
        owner.goto(f"{live_server}{path}")
        found[path] = serious_violations(owner)
    compliance = log_in(browser, live_server, "compliance1", bypass_csp=True)
    for path in ["/review/cases", f"/review/cases/{number}", "/review/monthly"]:
        compliance.goto(f"{live_server}{path}")
        found[path] = serious_violations(compliance)
    director = log_in(browser, live_server, "office_director1", bypass_csp=True)
    director.goto(f"{live_server}/team")
    found["/team"] = serious_violations(director)
    assert not {path: v for path, v in found.items() if v}, found
