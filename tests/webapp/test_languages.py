"""Every page in Chinese and in English, with no text in the other language's script.

Walks the pages each role uses, in both languages, and reads the visible text (not
scripts, not `<code>`, not an element marked with its own `lang` such as the language
switch). English pages may hold no Chinese characters; Chinese pages no English words
beyond names of things (PlanFlow, CSV, BPMN …). Data typed by people is kept in the
page's language so that whatever is found is the product's own text.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.webapp.conftest import submit
from webapp import create_app

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
ENGLISH_WORD = re.compile(r"(?<![\w.@/-])[A-Za-z]{3,}(?![\w@/-])")
# Names, not words of a language: the product, file formats and standards, the switch to English.
NAMES = {"PlanFlow", "CSV", "BPMN", "DMN", "JSON", "PDF", "SHA", "XML", "ISO", "UTC", "BOM", "API", "zip", "Camunda",
         "Modeler", "bpmn", "dmn", "form", "js", "io", "KB"}


class VisibleText(HTMLParser):
    SKIPPED = {"script", "style", "code", "template", "noscript"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "input", "img", "meta", "link", "hr", "col", "source", "wbr"):
            if tag == "input":
                for name, value in attrs:
                    if name == "placeholder" and value:
                        self.parts.append(value)
            return
        hidden = tag in self.SKIPPED or any(name == "lang" for name, _ in attrs) and tag != "html"
        self.stack.append((tag, hidden))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if data.strip() and not any(hidden for _, hidden in self.stack):
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.parts


def foreign(html: str, english: bool) -> list[str]:
    """The strings of a page that are in the other language's script."""
    found = []
    for text in visible_text(html):
        if english:
            found += [text] if CJK.search(text) else []
        else:
            words = [w for w in ENGLISH_WORD.findall(text) if w not in NAMES]
            found += [text] if words else []
    return found


REGISTRATION = {
    "en": {"complainant": "Alice Wang", "contact": "13812345678", "channel": "phone", "category": "service",
           "content": "Parcel three days late", "claimed_amount": 200},
    "zh": {"complainant": "王女士", "contact": "13812345678", "channel": "phone", "category": "service",
           "content": "快递延误三天", "claimed_amount": 200},
}
ANSWERS = {"en": {"contact_note": "Called back", "grade": "general"},
           "zh": {"contact_note": "已电话联系", "grade": "general"}}


@pytest.fixture
def app_(web_desk):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False},
                      session_factory=web_desk.session_factory)


def client_for(app_, role: str | None, locale: str):
    client = app_.test_client()
    client.post("/language", data={"locale": "en" if locale == "en" else "zh_CN"})
    if role:
        assert client.post("/login", data={"username": f"{role}1", "password": "secret"}).status_code == 302
        client.post("/language", data={"locale": "en" if locale == "en" else "zh_CN"})
    return client


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_every_page_is_in_one_language(app_, web_desk, locale):
    english = locale == "en"
    number = web_desk.start("general_complaint", REGISTRATION[locale])
    first = web_desk.task(number, "Task_FirstContact").id
    intake = client_for(app_, "intake", locale)
    pages = {"login": (client_for(app_, None, locale), "/login")}
    pages.update({f"intake {path}": (intake, path) for path in
                  ["/?list=mine", "/?list=queue", "/?list=done", "/register", f"/tasks/{first}", f"/cases/{number}",
                   "/cases/TS-1999-000000"]})
    intake.post(f"/tasks/{first}/claim")
    assert submit(intake, first, ANSWERS[locale]).status_code == 302
    handler = client_for(app_, "handler", locale)
    handler.post(f"/cases/{number}/comments", data={"text": ANSWERS[locale]["contact_note"]})
    verify = web_desk.task(number, "Task_VerifyNegotiate").id
    pages.update({"handler task": (handler, f"/tasks/{verify}"), "handler case": (handler, f"/cases/{number}"),
                  "handler done": (handler, "/?list=done"), "handler forbidden": (handler, "/team")})
    director = client_for(app_, "office_director", locale)
    pages["team"] = (director, "/team")
    owner = client_for(app_, "process_owner", locale)
    pages.update({f"owner {path}": (owner, path) for path in
                  ["/plans/", "/plans/general_complaint", "/plans/general_complaint/edit",
                   "/plans/general_complaint/v1"]})
    compliance = client_for(app_, "compliance", locale)
    pages.update({f"compliance {path}": (compliance, path) for path in
                  ["/review/cases", f"/review/cases/{number}", "/review/monthly",
                   "/review/plans/general_complaint/v1/heatmap"]})
    problems = {}
    for name, (client, path) in pages.items():
        response = client.get(path)
        assert response.status_code in (200, 403, 404), (name, response.status_code)
        found = foreign(response.get_data(as_text=True), english)
        if found:
            problems[name] = found[:8]
    assert not problems, problems


def test_the_login_page_has_the_language_switch(app_):
    client = app_.test_client()
    page = client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'id="login-language"' in page and "登录" in page
    client.post("/language", data={"locale": "en"})
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and not CJK.search(" ".join(visible_text(page)))
