"""The bell, the notification list, marking read, preferences and the undeliverable list, on both backends."""
from __future__ import annotations

import re

from sqlalchemy import update

from engine.db import transaction
from engine.models import Notification, NotificationStatus, User
from engine.notifications import preferences
from tests.webapp.conftest import REGISTRATION


def bell_count(html: str) -> str | None:
    found = re.search(r'id="bell-count">(\d+)<', html)
    return found.group(1) if found else None


def test_the_bell_counts_unread_notifications_and_opening_one_marks_it_read(web_desk, login):
    number = web_desk.start("general_complaint", REGISTRATION)
    intake = login("intake")
    page = intake.get("/").get_data(as_text=True)
    assert bell_count(page) == "1"
    listing = intake.get("/notifications/").get_data(as_text=True)
    assert f"新任务：首次联系与分级（{number}）" in listing
    note_id = int(re.search(r'data-notification-id="(\d+)"', listing).group(1))
    opened = intake.post(f"/notifications/{note_id}/open")
    assert opened.status_code == 302 and re.search(r"/tasks/\d+$", opened.headers["Location"])
    assert bell_count(intake.get("/").get_data(as_text=True)) is None
    assert login("handler").post(f"/notifications/{note_id}/open").status_code == 302  # not theirs: nothing happens
    assert bell_count(login("handler").get("/").get_data(as_text=True)) is None


def test_mark_all_read_and_the_list_in_english(web_desk, login):
    with transaction(web_desk.session_factory) as session:
        session.execute(update(User).where(User.username == "intake1").values(locale="en"))
    number = web_desk.start("general_complaint", REGISTRATION)
    web_desk.start("general_complaint", REGISTRATION)
    intake = login("intake")
    listing = intake.get("/notifications/").get_data(as_text=True)
    assert f"New task: First contact and grading ({number})" in listing
    assert bell_count(intake.get("/").get_data(as_text=True)) == "2"
    intake.post("/notifications/read")
    assert bell_count(intake.get("/").get_data(as_text=True)) is None


def test_preferences_are_saved_and_a_refused_form_keeps_what_was_typed(web_desk, login):
    handler = login("handler")
    form = {"email": "not-an-address", "event_task_ready": "1", "channel_app": "1", "channel_email": "1",
            "quiet_from": "22:00", "quiet_until": "07:30"}
    refused = handler.post("/notifications/preferences", data=form)
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "not an e-mail address" in body and 'value="not-an-address"' in body and 'value="22:00"' in body
    form["email"] = "handler@example.cn"
    assert handler.post("/notifications/preferences", data=form).status_code == 302
    with transaction(web_desk.session_factory, readonly=True) as session:
        saved = preferences.get_preferences(session, "handler1")
    assert saved.email == "handler@example.cn" and saved.quiet_from == "22:00"
    assert "deadline_near" in saved.muted_events and "task_ready" not in saved.muted_events
    assert 'value="handler@example.cn"' in handler.get("/notifications/preferences").get_data(as_text=True)


def test_undeliverable_notifications_are_listed_for_process_owners_only_and_can_be_queued_again(web_desk, login):
    web_desk.start("general_complaint", REGISTRATION)
    with transaction(web_desk.session_factory) as session:
        session.execute(update(Notification).values(status=NotificationStatus.UNDELIVERABLE, channel="webhook",
                                                    recipient="duty-room", last_error="the webhook answered 404"))
    assert login("handler").get("/notifications/undeliverable").status_code == 403
    owner = login("process_owner")
    page = owner.get("/notifications/undeliverable").get_data(as_text=True)
    assert "duty-room" in page and "the webhook answered 404" in page
    assert owner.post("/notifications/undeliverable/retry").status_code == 302
    assert "没有无法送达的通知" in owner.get("/notifications/undeliverable").get_data(as_text=True)
