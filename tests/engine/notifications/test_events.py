"""Who is told what, and when: the events, the near-deadline schedule and each user's preferences."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from engine.cases import use_cases as cases
from engine.db import transaction
from engine.errors import PlanFlowError
from engine.models import Case, DeadlineWarning, DeadlineWarningStatus, Notification, NotificationStatus, Task
from engine.notifications import in_app, near_deadlines, preferences, sender
from engine.people import users
from tests.conftest import SHANGHAI
from tests.engine.notifications.conftest import set_mail


def notes(desk, **where):
    with transaction(desk.session_factory, readonly=True) as session:
        query = select(Notification).order_by(Notification.id)
        for key, value in where.items():
            query = query.where(getattr(Notification, key) == value)
        return list(session.execute(query).scalars())


def warning_of(desk, number):
    with transaction(desk.session_factory, readonly=True) as session:
        case = cases.get_case(session, number)
        return session.execute(select(DeadlineWarning).where(DeadlineWarning.case_id == case.id)).scalar_one()


def test_a_ready_task_rings_the_bell_of_every_holder_of_its_role_in_the_same_transaction(mini):
    mini.do(users.add_user, "handler2", ["handler"], None, password_hash="x")
    number = mini.start("mini", {}, "handler1")
    bell = notes(mini, channel="app")
    assert [(n.event, n.recipient, n.status) for n in bell] == [("task_ready", "handler1", NotificationStatus.SENT),
                                                                 ("task_ready", "handler2", NotificationStatus.SENT)]
    assert bell[0].payload["case"] == number and bell[0].payload["link"].startswith("/tasks/")
    with transaction(mini.session_factory) as session:
        assert in_app.unread_count(session, "handler1") == 1
        assert in_app.mark_read(session, "handler1", mini.now) == 1
        assert in_app.unread_count(session, "handler1") == 0
        assert in_app.unread_count(session, "handler2") == 1


def test_the_warning_time_is_written_with_the_task_at_80_percent_and_follows_the_plans_own_rule(mini):
    first = mini.start("mini", {}, "handler1")
    assert warning_of(mini, first).warn_at == mini.now + timedelta(hours=19, minutes=12)
    mini.do(near_deadlines.set_plan_rule, "mini", "90m")
    second = mini.start("mini", {}, "handler1")
    assert warning_of(mini, second).warn_at == mini.now + timedelta(hours=22, minutes=30)
    with pytest.raises(PlanFlowError, match="80%"):
        mini.do(near_deadlines.set_plan_rule, "mini", "soon")


def test_near_deadline_is_announced_once_when_its_time_comes_and_not_for_a_finished_task(mini):
    warned, done = mini.start("mini", {}, "handler1"), mini.start("mini", {}, "handler1")
    mini.complete(done, "Task_Verify", {"note": "ok"}, "handler1")
    almost = mini.now + timedelta(hours=19, minutes=11)
    assert near_deadlines.sweep(mini.session_factory, almost) == 0
    assert near_deadlines.sweep(mini.session_factory, almost + timedelta(minutes=1)) == 1
    assert near_deadlines.sweep(mini.session_factory, almost + timedelta(hours=1)) == 0
    [note] = notes(mini, event="deadline_near")
    assert (note.recipient, note.payload["case"]) == ("handler1", warned)
    assert warning_of(mini, done).status == DeadlineWarningStatus.CANCELLED


def test_the_warning_sweep_reads_the_index_not_the_tasks(mini, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the query plan is read on SQLite")
    with transaction(mini.session_factory, readonly=True) as session:
        plan = session.execute(text("EXPLAIN QUERY PLAN SELECT * FROM deadline_warnings WHERE status = 'waiting' "
                                    "AND warn_at <= '2026-03-03' ORDER BY warn_at LIMIT 200")).all()
    assert any("ix_deadline_warnings_due" in str(row) for row in plan), plan


def test_a_moved_deadline_moves_its_warning(mini):
    number = mini.start("mini", {}, "handler1")
    with transaction(mini.session_factory) as session:
        task = session.execute(select(Task).where(Task.element_id == "Task_Verify")).scalar_one()
        task.due_at = mini.now + timedelta(hours=10)
        near_deadlines.follow_moves(session)
    assert warning_of(mini, number).warn_at == mini.now + timedelta(hours=8)


def test_escalation_tells_the_new_role_and_the_person_who_held_the_missed_task(mini):
    number = mini.start("mini", {}, "handler1")
    mini.do(cases.claim_task, mini.task(number, "Task_Verify").id, "handler1", mini.now)
    mini.pass_time(timedelta(hours=24, seconds=1))
    escalated = notes(mini, event="escalated", channel="app")
    away = notes(mini, event="escalated_away", channel="app")
    assert [n.recipient for n in escalated] == ["office_director1"] and escalated[0].urgent
    assert [n.recipient for n in away] == ["handler1"]
    assert escalated[0].payload["missed"] == "Verify" and escalated[0].payload["role"] == "office_director"


def test_reassigning_tells_the_new_holder(mini):
    mini.do(users.add_user, "handler2", ["handler"], None, password_hash="x")
    number = mini.start("mini", {}, "handler1")
    mini.do(cases.reassign_task, mini.task(number, "Task_Verify").id, "handler2", "on leave", "office_director1",
            mini.now)
    [note] = notes(mini, event="task_assigned")
    assert (note.recipient, note.payload["actor"], note.payload["reason"]) == ("handler2", "office_director1",
                                                                               "on leave")


def test_an_urgent_case_is_announced_once_to_leadership_and_an_incident_to_process_owners(mini):
    number = mini.start("mini", {"grade": "urgent"}, "handler1")
    mini.complete(number, "Task_Verify", {"note": "loop"}, "handler1")  # another step of the same urgent case
    urgent = notes(mini, event="case_urgent", channel="app")
    assert sorted(n.recipient for n in urgent) == ["duty_officer1", "leadership1", "office_director1"]
    with transaction(mini.session_factory) as session:
        cases.record_incident(session, cases.get_case(session, number).id, "Gateway_Check: boom", "cli", mini.now)
    [incident] = notes(mini, event="incident")
    assert incident.recipient == "process_owner1" and "boom" in incident.payload["incident"] and incident.urgent


def test_quiet_hours_hold_mail_until_morning_but_not_for_urgent_cases(mini, smtp_server):
    set_mail(mini, "handler1", "h@example.cn", quiet_from="22:00", quiet_until="07:30")
    mini.now = datetime(2026, 3, 2, 23, 0, tzinfo=SHANGHAI)
    mini.start("mini", {}, "handler1")
    mini.start("mini", {"grade": "urgent"}, "handler1")
    quiet, urgent = notes(mini, channel="email", event="task_ready")
    assert quiet.next_attempt_at == datetime(2026, 3, 3, 7, 30, tzinfo=SHANGHAI)
    assert urgent.next_attempt_at == mini.now
    assert sender.send_due(mini.session_factory, mini.now).sent == 1
    assert sender.send_due(mini.session_factory, datetime(2026, 3, 3, 7, 30, tzinfo=SHANGHAI)).sent == 1


def test_the_daily_digest_sends_one_mail_with_everything_and_muted_events_send_nothing(mini, smtp_server):
    set_mail(mini, "handler1", "h@example.cn", digest=True)
    mini.do(users.add_user, "handler2", ["handler"], None, password_hash="x")
    set_mail(mini, "handler2", "h2@example.cn", muted=["task_ready"])
    numbers = [mini.start("mini", {}, "handler1") for _ in range(2)]
    assert sender.send_due(mini.session_factory, mini.now).sent == 0
    digest_at = datetime(2026, 3, 3, 8, 30, tzinfo=SHANGHAI)
    assert sender.send_due(mini.session_factory, digest_at).sent == 2
    [mail] = smtp_server.mailbox.messages
    assert mail["Subject"] == "PlanFlow 每日汇总：2 条通知"
    assert all(n in mail.get_content() for n in numbers)
    assert notes(mini, recipient="handler2") == []
    with transaction(mini.session_factory) as session:
        with pytest.raises(PlanFlowError, match="unknown event"):
            preferences.set_preferences(session, "handler1", email=None, muted_events=["everything"], channels=[],
                                        quiet_from=None, quiet_until=None, daily_digest=False)
        with pytest.raises(PlanFlowError, match="not an e-mail address"):
            preferences.set_preferences(session, "handler1", email="nobody", muted_events=[], channels=[],
                                        quiet_from=None, quiet_until=None, daily_digest=False)


def test_a_failing_timer_tells_the_process_owners_once_however_often_it_is_retried(mini):
    broken = mini.start("mini", {}, "handler1")
    with transaction(mini.session_factory) as session:
        session.execute(update(Case).where(Case.number == broken).values(workflow_state={"tasks": "garbage"}))
    assert mini.pass_time(timedelta(hours=25)).failed
    assert mini.pass_time(timedelta(hours=1)).failed
    [incident] = notes(mini, event="incident")
    assert incident.recipient == "process_owner1" and incident.payload["incident"].startswith("timer failed")


def test_a_step_that_rolls_back_tells_nobody(mini):
    with pytest.raises(RuntimeError):
        with transaction(mini.session_factory) as session:
            cases.start_case(session, "mini", {}, "handler1", mini.now)
            assert session.execute(select(Notification)).scalars().all()  # written with the step …
            raise RuntimeError("the request failed after the step")
    assert notes(mini) == []  # … and gone with it


def test_one_warning_that_fails_does_not_hold_back_the_others(mini, monkeypatch):
    broken, healthy = mini.start("mini", {}, "handler1"), mini.start("mini", {}, "handler1")
    broken_task = mini.task(broken, "Task_Verify").id
    real_write = near_deadlines.write

    def write(session, announcement, now, settings=None):
        if announcement.task_id == broken_task:
            raise KeyError("a template that cannot be filled")
        return real_write(session, announcement, now, settings)
    monkeypatch.setattr(near_deadlines, "write", write)
    assert near_deadlines.sweep(mini.session_factory, mini.now + timedelta(hours=20)) == 1
    assert warning_of(mini, broken).status == DeadlineWarningStatus.CANCELLED
    assert warning_of(mini, healthy).status == DeadlineWarningStatus.SENT
    assert [n.payload["case"] for n in notes(mini, event="deadline_near")] == [healthy]


def test_a_mistyped_mail_setting_never_stops_a_case(mini, monkeypatch):
    set_mail(mini, "handler1", "h@example.cn")
    monkeypatch.setenv("PLANFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PLANFLOW_SMTP_TLS", "yes please")
    number = mini.start("mini", {}, "handler1")
    assert [t.element_id for t in mini.open_tasks(number)] == ["Task_Verify"]
    assert [n.channel for n in notes(mini)] == ["app"]
    with pytest.raises(PlanFlowError, match="PLANFLOW_SMTP_TLS"):
        sender.send_due(mini.session_factory, mini.now)
