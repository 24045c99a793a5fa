"""Flask fixtures: the app on the test's real database, clients logged in as a role."""
from __future__ import annotations

import json
import re

import pytest

from engine.calendar.clock import utcnow
from engine.db import transaction
from engine.people import tokens
from engine.plans import versions as plans
from tests.conftest import open_desk
from tests.support import username_for
from webapp import create_app

REGISTRATION = {"complainant": "王女士", "contact": "13812345678", "channel": "phone", "category": "service",
                "content": "快递延误且客服态度差", "claimed_amount": 500}


def photos_on_the_start_form(monkeypatch, required: bool = False) -> None:
    """Give every plan's start form a file field `photos` (several files; required or not)."""
    real_get = plans.spec_cache.get

    def with_photo_field(version):
        plan = real_get(version)
        form = plan.forms.get(plan.start_form_key or "", {"components": []})
        if plan.start_form_key and not any(c.get("key") == "photos" for c in form["components"]):
            field = {"type": "filepicker", "key": "photos", "label": "现场照片", "multiple": True}
            form["components"].append({**field, "validate": {"required": True}} if required else field)
        return plan
    monkeypatch.setattr(plans.spec_cache, "get", with_photo_field)


@pytest.fixture
def web_desk(session_factory, db_url, tmp_path_factory):
    """Plans deployed and one user per role, at the real current time (pages use the clock)."""
    return open_desk(session_factory, db_url, utcnow(), tmp_path_factory)


@pytest.fixture
def app(web_desk):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False},
                      session_factory=web_desk.session_factory)


@pytest.fixture
def login(app):
    """`login(role)` gives a test client signed in as that role's user."""
    def sign_in(role: str):
        client = app.test_client()
        response = client.post("/login", data={"username": username_for(role), "password": "secret"})
        assert response.status_code == 302, response.data
        return client
    return sign_in


@pytest.fixture
def registered(web_desk):
    """A general complaint registered by intake; returns its case number."""
    return web_desk.start("general_complaint", REGISTRATION)


def task_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r'data-task-id="(\d+)"', response.get_data(as_text=True))]


def submit(client, task_id: int, data: dict):
    return client.post(f"/tasks/{task_id}/complete", data={"data": json.dumps(data)})


@pytest.fixture
def api(app, web_desk):
    """`api(role)` gives (client, headers) carrying a bearer token for that role's user."""
    def for_role(role: str):
        with transaction(web_desk.session_factory) as session:
            token = tokens.create_token(session, username_for(role), utcnow())
        return app.test_client(), {"Authorization": f"Bearer {token}"}
    return for_role
