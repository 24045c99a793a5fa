"""Steps every browser test takes: signing in as a demo user, submitting the task form."""
from __future__ import annotations


def log_in(browser, base: str, username: str, *, width: int = 1280, height: int = 900, bypass_csp: bool = False):
    """A new page signed in as `username` (password "secret"), in Chinese, on the inbox.

    `bypass_csp` only for injecting a test tool (axe-core); the pages' own scripts still run under it.
    """
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  bypass_csp=bypass_csp)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "secret")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def submit_form(page):
    page.click("#pf-submit-button")
