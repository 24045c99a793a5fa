"""Every kind of page works in Chromium under the Content-Security-Policy, with no violation reported."""
from __future__ import annotations

from tests.browser.pages import log_in
from tests.webapp.conftest import REGISTRATION

# Each violation is reported to the page as an event; a listener installed before any page
# script (an init script is not subject to the policy) keeps them for the test to read.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""


def visit(page, url: str, ready: str, console: list[str]) -> list[str]:
    """Open `url`, wait for `ready` to render, and return the CSP violations seen on the way."""
    response = page.goto(url)
    assert "script-src 'self'" in response.headers.get("content-security-policy", ""), url
    page.wait_for_selector(ready, timeout=30000)
    page.wait_for_timeout(300)
    return page.evaluate("window.__cspViolations") + [m for m in console if "Content Security Policy" in m]


def signed_in(browser, live_server, username: str):
    page = log_in(browser, live_server, username)
    page.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    return page, console


def test_pages_run_under_the_csp_without_a_violation(browser, live_server, web_desk, screenshot):
    number = web_desk.start("general_complaint", REGISTRATION)
    task = web_desk.task(number, "Task_FirstContact")
    pages = {
        "intake1": [("/", "table, .empty, main"), (f"/tasks/{task.id}", "#pf-form .fjs-form-field"),
                    ("/register", "#pf-form .fjs-form-field")],
        "process_owner1": [("/plans/general_complaint/edit", '.djs-element[data-element-id="Task_FirstContact"]'),
                           ("/plans/general_complaint/versions/1", '.djs-element[data-element-id="Task_FirstContact"]'),
                           ("/plans/general_complaint/forms/gc_answer/edit", "#pf-form-editor .fjs-editor-container"),
                           ("/plans/general_complaint/decisions/compensation_approval/edit",
                            "#pf-dmn-editor .tjs-table")],
        "compliance1": [("/review/cases", "main table"),
                        (f"/review/cases/{number}", '.djs-element[data-element-id="Task_FirstContact"]'),
                        ("/review/plans/general_complaint/v1/heatmap", ".djs-element"),
                        ("/review/monthly", "main")],
    }
    found = {}
    for username, visits in pages.items():
        page, console = signed_in(browser, live_server, username)
        for path, ready in visits:
            violations = visit(page, f"{live_server}{path}", ready, console)
            console.clear()
            if violations:
                found[path] = violations
        screenshot(page, f"csp-{username}")
        page.close()
    assert found == {}
