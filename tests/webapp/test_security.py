"""The web app against the usual attacks and bad input: redirects, sessions, headers, limits, never a 500."""
from __future__ import annotations

import json
import threading
import urllib.request

import pytest
from werkzeug.serving import make_server

from engine.db import transaction
from engine.people import users
from tests.webapp.conftest import REGISTRATION
from webapp import create_app
from webapp.security import PlanFlowRequestHandler

HUGE = "9" * 30
LOGIN = {"username": "intake1", "password": "secret"}


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


# --- redirects after login -------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/\t/evil.example/path", "/\\evil.example/", "/\r\n/evil.example/",
                                    "https://evil.example/", "//evil.example/", "\t//evil.example/",
                                    "/\t\\evil.example/", "///evil.example/", "https:evil.example"])
def test_login_never_redirects_to_another_site(app, target):
    response = app.test_client().post("/login", query_string={"next": target}, data=LOGIN)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_with_a_percent_encoded_tab_in_next_stays_on_the_site(app):
    response = app.test_client().post("/login?next=/%09/evil.example/path", data=LOGIN)
    assert response.headers["Location"] == "/"


def test_login_still_returns_to_a_page_of_this_site(app):
    response = app.test_client().post("/login?next=/cases/TS-2026-000001%3Fx%3D1", data=LOGIN)
    assert response.headers["Location"] == "/cases/TS-2026-000001?x=1"


# --- sessions that end -----------------------------------------------------------------------------------------

def _copied_cookie_client(app, client):
    """A second client holding a copy of `client`'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_session_cookie_copied_before_logout_no_longer_works_after_it(app, login):
    client = login("intake")
    thief = _copied_cookie_client(app, client)
    assert thief.get("/").status_code == 200
    client.post("/logout")
    assert thief.get("/").status_code == 302
    assert client.get("/").status_code == 302


def test_a_password_change_ends_the_users_sessions(login, web_desk):
    client = login("intake")
    with transaction(web_desk.session_factory) as session:
        users.set_password(session, "intake1", "a new secret")
    assert client.get("/").status_code == 302


def test_removing_a_role_ends_the_users_sessions(login, web_desk):
    with transaction(web_desk.session_factory) as session:
        users.add_role(session, "intake1", "duty_officer")
    client = login("intake")
    with transaction(web_desk.session_factory) as session:
        users.remove_role(session, "intake1", "intake")
    assert client.get("/").status_code == 302


def test_thirty_wrong_passwords_then_the_right_one_is_refused_with_a_clear_message(app):
    client = app.test_client()
    for _ in range(30):
        assert client.post("/login", data={"username": "intake1", "password": "nope"}).status_code in (401, 429)
    response = client.post("/login", data=LOGIN)
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert "too many" in response.get_data(as_text=True).lower() or "过多" in response.get_data(as_text=True)


def test_one_address_trying_many_accounts_is_throttled(app):
    client = app.test_client()
    statuses = [client.post("/login", data={"username": f"{role}1", "password": "nope"}).status_code
                for role in ("intake", "handler", "dept_head", "legal", "pr", "security", "leadership")
                for _ in range(4)]
    assert statuses[0] == 401 and statuses[-1] == 429
    assert client.post("/login", data={"username": "handler1", "password": "secret"}).status_code == 429
    other_address = app.test_client().post("/login", data={"username": "handler1", "password": "secret"},
                                           environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_address.status_code == 302


# --- headers ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/", "/api/v1/openapi.json", "/no/such/page", "/static/app.css"])
def test_every_response_carries_the_security_headers(app, path):
    response = app.test_client().get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script(login, registered, web_desk):
    client = login("process_owner")
    for path in ["/plans/", "/plans/general_complaint/edit", "/plans/general_complaint/versions/1"]:
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " onchange=" not in html and " onclick=" not in html, path
    html = login("intake").get("/register").get_data(as_text=True)
    assert "<script>" not in html and " onchange=" not in html


def test_the_server_header_does_not_name_werkzeug_or_python(app):
    server = make_server("127.0.0.1", 0, app, request_handler=PlanFlowRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/login") as response:
            servers = response.headers.get_all("Server")
    finally:
        server.shutdown()
    assert servers == ["PlanFlow"]


# --- bad input: 400/404/405/413/422, never a 500 ---------------------------------------------------------------

def test_huge_integers_in_paths_and_queries_are_404_or_400_not_500(api, login, registered):
    client, headers = api("intake")
    assert client.get(f"/api/v1/tasks?cursor={HUGE}", headers=headers).status_code == 400
    assert client.get(f"/api/v1/tasks?per_page={HUGE}", headers=headers).status_code == 400
    assert client.post(f"/api/v1/tasks/{HUGE}/complete", headers=headers, json={"data": {}}).status_code == 404
    assert client.post(f"/api/v1/tasks/{HUGE}/claim", headers=headers).status_code == 404
    page = login("intake")
    assert page.get(f"/tasks/{HUGE}").status_code == 404
    assert page.get(f"/?list=queue&cursor={HUGE}").status_code == 400
    owner = login("process_owner")
    assert owner.get(f"/plans/general_complaint/versions/{HUGE}").status_code == 404
    assert owner.get(f"/plans/general_complaint/versions/1?compare={HUGE}").status_code == 400
    assert owner.get(f"/plans/general_complaint/diff.json?from=1&to={HUGE}").status_code == 400
    assert login("compliance").get(f"/review/cases?version={HUGE}").status_code == 400


def test_page_sizes_outside_the_documented_range_are_refused(api):
    client, headers = api("intake")
    for query in ["per_page=0", "per_page=201", "page=0", "page=-1", "per_page=x", "page=1_0", "page=%2B1",
                  "page=%D9%A3", "page=%201"]:
        response = client.get(f"/api/v1/tasks?{query}", headers=headers)
        assert response.status_code == 400 and error_code(response) == "bad_request", query


def test_a_lone_surrogate_is_refused_not_a_500(api, login, web_desk):
    client, headers = api("intake")
    data = json.dumps({**REGISTRATION, "complainant": "\ud800"})  # json.dumps writes the escape \ud800
    response = client.post("/api/v1/cases", headers=headers, content_type="application/json",
                           data='{"plan": "general_complaint", "data": ' + data + "}")
    assert response.status_code == 400 and error_code(response) == "bad_request"
    page = login("intake")
    response = page.post("/register?plan=general_complaint", data={"data": data})
    assert response.status_code == 422
    owner = login("process_owner")
    draft = owner.post("/plans/general_complaint/draft", data='{"xml": "<a>\\udc00</a>", "base_revision": 0}',
                       content_type="application/json")
    assert draft.status_code == 400


def test_a_nul_character_is_refused_not_a_500(api):
    client, headers = api("intake")
    assert client.get("/api/v1/tasks?plan=%00", headers=headers).status_code == 400
    assert client.get("/api/v1/cases/TS%00", headers=headers).status_code == 400
    body = {"plan": "general_complaint", "data": {**REGISTRATION, "content": "a\u0000b"}}
    assert client.post("/api/v1/cases", headers=headers, json=body).status_code == 400


def test_deeply_nested_json_is_refused_not_a_500(api, login):
    client, headers = api("intake")
    nested = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/cases", headers=headers, content_type="application/json",
                           data='{"plan": "general_complaint", "data": {"content": ' + nested + "}}")
    assert response.status_code == 400 and error_code(response) == "bad_request"
    page = login("intake").post("/register?plan=general_complaint", data={"data": '{"content": ' + nested + "}"})
    assert page.status_code in (413, 422)
    shallow_but_deep = "[" * 40 + "]" * 40
    response = client.post("/api/v1/cases", headers=headers, content_type="application/json",
                           data='{"plan": "general_complaint", "data": {"content": ' + shallow_but_deep + "}}")
    assert response.status_code == 400


def test_a_body_over_the_size_limit_is_413_with_a_json_error_before_it_is_read(web_desk):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False, "MAX_CONTENT_LENGTH": 1000},
                     session_factory=web_desk.session_factory)
    response = app.test_client().post("/api/v1/cases", data=b"x" * 2000, content_type="application/json",
                                      headers={"Authorization": "Bearer nope"})
    assert response.status_code in (401, 413)
    from engine.calendar.clock import utcnow
    from engine.people import tokens
    with transaction(web_desk.session_factory) as session:
        token = tokens.create_token(session, "intake1", utcnow())
    response = app.test_client().post("/api/v1/cases", data=b"x" * 2000, content_type="application/json",
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 413 and error_code(response) == "payload_too_large"


def test_the_body_limit_is_a_setting(web_desk, monkeypatch):
    monkeypatch.setenv("PLANFLOW_MAX_REQUEST_BYTES", "12345")
    app = create_app({"TESTING": True, "SECRET_KEY": "test"}, session_factory=web_desk.session_factory)
    assert app.config["MAX_CONTENT_LENGTH"] == 12345
    monkeypatch.delenv("PLANFLOW_MAX_REQUEST_BYTES")
    assert create_app({"TESTING": True, "SECRET_KEY": "test"},
                      session_factory=web_desk.session_factory).config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024


def test_405_answers_say_which_methods_are_allowed(api, login):
    client, headers = api("intake")
    response = client.get("/api/v1/tasks/1/claim", headers=headers)
    assert response.status_code == 405 and error_code(response) == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) >= {"POST"}
    response = client.delete("/api/v1/cases", headers=headers)
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    page = login("intake").put("/login")
    assert page.status_code == 405 and "POST" in page.headers["Allow"]


def test_a_60_mb_body_is_refused_with_413_under_the_default_limit(api):
    client, headers = api("intake")
    response = client.post("/api/v1/cases", headers=headers, content_type="application/json",
                           data=b'{"plan": "' + b"x" * (60 * 1024 * 1024) + b'"}')
    assert response.status_code == 413 and error_code(response) == "payload_too_large"


def test_the_throttle_message_is_in_the_users_language(app):
    client = app.test_client()
    for _ in range(6):
        response = client.post("/login", data={"username": "intake1", "password": "nope"})
    assert response.status_code == 429 and "密码错误次数过多" in response.get_data(as_text=True)
