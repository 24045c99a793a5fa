"""Supervisors see every open task by plan, grade and role, and reassign one to another holder of its role."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine.cases import use_cases as cases
from engine.errors import PermissionDenied, PlanFlowError
from engine.models import AuditEvent, Task
from engine.people import users
from engine.views import team
from tests.webapp.conftest import REGISTRATION


def view(desk, username="office_director1", **kwargs):
    return desk.do(lambda s: team.team_view(s, users.get_user(s, username), desk.now, 0.2, **kwargs))


def test_the_team_view_counts_open_overdue_and_escalated_tasks_by_plan_grade_and_role(desk):
    first = desk.start("general_complaint", REGISTRATION)
    second = desk.start("general_complaint", REGISTRATION)
    late = desk.task(second, "Task_FirstContact").id
    desk.do(lambda s: s.execute(update(Task).where(Task.id == late).values(
        due_at=desk.now - timedelta(hours=1), due_sort=desk.now - timedelta(hours=1))))
    result = view(desk)
    assert [t.task.id for t in result.tasks] == [late, desk.task(first, "Task_FirstContact").id]
    assert [t.state for t in result.tasks] == ["overdue", "open"]
    counts = result.groups[("general_complaint", "", "intake")]
    assert (counts["total"], counts["overdue"], counts["escalated"]) == (2, 1, 0)
    assert "intake1" in result.holders["intake"]
    assert [t.task.id for t in view(desk, state="overdue").tasks] == [late]


def test_only_supervisors_see_the_team_view(desk):
    with pytest.raises(PermissionDenied):
        view(desk, "handler1")


def test_a_supervisor_reassigns_to_another_holder_of_the_role_with_the_reason_audited(desk):
    number = desk.start("general_complaint", REGISTRATION)
    task_id = desk.task(number, "Task_FirstContact").id
    desk.do(cases.claim_task, task_id, "intake1", desk.now)
    desk.do(users.add_user, "intake2", ["intake"], None, password_hash="x")
    desk.do(cases.reassign_task, task_id, "intake2", "intake1 is on leave", "office_director1", desk.now)
    assert desk.task(number, "Task_FirstContact").assignee == "intake2"
    [event] = desk.do(lambda s: list(s.execute(select(AuditEvent).where(AuditEvent.kind == "task_reassigned"))
                                     .scalars()))
    assert (event.actor, event.payload) == ("office_director1", {"task_id": task_id, "from": "intake1",
                                                                "to": "intake2", "reason": "intake1 is on leave"})


def test_reassigning_is_refused_without_a_reason_to_a_non_holder_or_by_a_non_supervisor(desk):
    number = desk.start("general_complaint", REGISTRATION)
    task_id = desk.task(number, "Task_FirstContact").id
    with pytest.raises(PlanFlowError, match="reason"):
        desk.do(cases.reassign_task, task_id, "intake1", " ", "office_director1", desk.now)
    with pytest.raises(PermissionDenied, match="does not hold role 'intake'"):
        desk.do(cases.reassign_task, task_id, "handler1", "why", "office_director1", desk.now)
    with pytest.raises(PermissionDenied, match="may reassign"):
        desk.do(cases.reassign_task, task_id, "intake1", "why", "handler1", desk.now)
    assert desk.task(number, "Task_FirstContact").assignee is None
