"""A registration sent twice registers once: the API's Idempotency-Key and the registration page's one-time key."""
from __future__ import annotations

import html
import io
import json
import re
import uuid

import pytest
from sqlalchemy import func, select

from engine.calendar.clock import utcnow
from engine.db import transaction
from engine.models import Attachment, AuditEvent, Case, RegistrationKey
from engine.people import tokens, users
from tests.support import secret_hash
from tests.webapp.conftest import REGISTRATION, photos_on_the_start_form

BODY = {"plan": "general_complaint", "data": REGISTRATION}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


def written(web_desk) -> dict:
    with transaction(web_desk.session_factory, readonly=True) as session:
        return {name: session.execute(select(func.count()).select_from(model)).scalar_one()
                for name, model in (("cases", Case), ("events", AuditEvent), ("keys", RegistrationKey),
                                    ("files", Attachment))}


def keyed(headers: dict, key: str) -> dict:
    return {**headers, "Idempotency-Key": key}


def test_a_retried_registration_gets_the_first_case_back_marked_as_a_replay(api, web_desk):
    client, headers = api("intake")
    key = str(uuid.uuid4())
    first = client.post("/api/v1/cases", json=BODY, headers=keyed(headers, key))
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    before = written(web_desk)
    again = client.post("/api/v1/cases", json=BODY, headers=keyed(headers, key))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.get_json() == first.get_json()
    assert written(web_desk) == before == {**before, "cases": 1, "keys": 1}


def test_a_key_sent_with_another_body_is_422_and_writes_nothing(api, web_desk):
    client, headers = api("intake")
    number = client.post("/api/v1/cases", json=BODY, headers=keyed(headers, "order-42")).get_json()["number"]
    before = written(web_desk)
    other = {"plan": "general_complaint", "data": {**REGISTRATION, "content": "另一件投诉"}}
    response = client.post("/api/v1/cases", json=other, headers=keyed(headers, "order-42"))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "already used for a different request" in error["message"] and number in error["message"]
    assert written(web_desk) == before


def test_a_key_of_one_user_never_answers_for_another(app, api, web_desk):
    with transaction(web_desk.session_factory) as session:
        users.add_user(session, "intake2", ["intake"], None, password_hash=secret_hash())
        other_token = tokens.create_token(session, "intake2", utcnow())
    client, headers = api("intake")
    mine = client.post("/api/v1/cases", json=BODY, headers=keyed(headers, "order-42"))
    theirs = client.post("/api/v1/cases", json=BODY,
                         headers={"Authorization": f"Bearer {other_token}", "Idempotency-Key": "order-42"})
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["number"] != mine.get_json()["number"]
    assert written(web_desk)["cases"] == 2


@pytest.mark.parametrize("key", ["", "k" * 201, "clé", "tab\there"])
def test_a_key_that_is_not_1_to_200_printable_ascii_characters_is_400(api, web_desk, key):
    client, headers = api("intake")
    response = client.post("/api/v1/cases", json=BODY, headers=keyed(headers, key))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_idempotency_key" and "1 to 200 printable ASCII" in error["message"]
    assert written(web_desk)["cases"] == 0


def test_without_the_header_each_request_registers_a_case(api, web_desk):
    client, headers = api("intake")
    numbers = {client.post("/api/v1/cases", json=BODY, headers=headers).get_json()["number"] for _ in range(2)}
    assert len(numbers) == 2 and written(web_desk)["keys"] == 0


def test_the_openapi_document_describes_the_key_the_replay_and_the_422(app):
    operation = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/cases"]["post"]
    [parameter] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert parameter["in"] == "header" and parameter["schema"]["maxLength"] == 200
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
    assert "Idempotency-Key" in operation["responses"]["422"]["description"]


def page_key(response) -> str:
    return re.search(r'name="request_key" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def shown_values(response) -> dict:
    return json.loads(html.unescape(re.search(r'data-values="([^"]*)"', response.get_data(as_text=True)).group(1)))


def register(client, key: str | None, data: dict = REGISTRATION, **extra):
    form = {"data": json.dumps(data), **extra}
    if key is not None:
        form["request_key"] = key
    return client.post("/register?plan=general_complaint", data=form)


def test_the_registration_page_carries_a_fresh_one_time_key(login):
    client = login("intake")
    first, second = page_key(client.get("/register")), page_key(client.get("/register"))
    assert uuid.UUID(first).version == 4 and first != second


def test_a_page_submitted_twice_registers_once_and_leads_to_the_case(login, web_desk):
    client = login("intake")
    key = page_key(client.get("/register"))
    first = register(client, key)
    assert first.status_code == 302
    number = first.location.rsplit("/", 1)[-1]
    again = register(client, key)
    assert again.status_code == 302 and again.location == first.location
    page = client.get(again.location).get_data(as_text=True)
    assert f"该投诉已登记，编号 {number}；本次未重复登记。" in page
    assert written(web_desk)["cases"] == 1


def test_a_page_refused_for_its_data_keeps_its_key_for_the_corrected_submission(login, web_desk):
    client = login("intake")
    key = page_key(client.get("/register"))
    refused = register(client, key, {"contact": "1"})
    assert refused.status_code == 422 and page_key(refused) == key
    corrected = register(client, key)
    page = client.get(corrected.location).get_data(as_text=True)
    assert "投诉已登记，编号" in page and "本次未重复登记" not in page
    assert written(web_desk)["cases"] == 1


def test_a_used_page_sent_with_other_data_registers_nothing_and_offers_a_new_key(login, web_desk):
    client = login("intake")
    key = page_key(client.get("/register"))
    number = register(client, key).location.rsplit("/", 1)[-1]
    other = {**REGISTRATION, "content": "另一件投诉"}
    response = register(client, key, other)
    assert response.status_code == 422 and f"此页面已用于登记 {number}" in response.get_data(as_text=True)
    assert shown_values(response)["content"] == "另一件投诉"   # what was typed is kept
    assert page_key(response) != key and written(web_desk)["cases"] == 1
    assert register(client, page_key(response), other).status_code == 302
    assert written(web_desk)["cases"] == 2


def test_a_page_without_a_key_registers_as_before(login, web_desk):
    client = login("intake")
    assert register(client, None).status_code == 302 and register(client, None).status_code == 302
    assert (written(web_desk)["cases"], written(web_desk)["keys"]) == (2, 0)


def test_a_tampered_key_is_refused_and_registers_nothing(login, web_desk):
    response = register(login("intake"), "k" * 201)
    assert response.status_code == 400 and written(web_desk)["cases"] == 0


def test_a_page_with_files_submitted_twice_stores_them_once(login, web_desk, monkeypatch):
    photos_on_the_start_form(monkeypatch)
    client = login("intake")
    key = page_key(client.get("/register"))

    def send(content: bytes):
        return client.post("/register?plan=general_complaint", content_type="multipart/form-data",
                           data={"data": json.dumps(REGISTRATION), "request_key": key,
                                 "files.photos": [(io.BytesIO(content), "a.jpg")]})
    first, again = send(JPEG), send(JPEG)
    assert again.status_code == 302 and again.location == first.location
    assert (written(web_desk)["cases"], written(web_desk)["files"]) == (1, 1)
    assert send(JPEG[:-1] + b"\x01").status_code == 422   # another photo is another request
    assert written(web_desk)["files"] == 1
