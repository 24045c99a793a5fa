"""The inbox lists: escalated first, then soonest due; search; capped counts; due soon."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from engine.models import Task
from engine.people import users
from engine.views import inbox
from tests.webapp.conftest import REGISTRATION


def intake_tasks(desk, count: int) -> list[int]:
    numbers = [desk.start("general_complaint", {**REGISTRATION, "contact": f"1381234{i:04d}"}) for i in range(count)]
    return [desk.task(n, "Task_FirstContact").id for n in numbers]


def listed(desk, username: str, which: str = "queue", **filters) -> list[int]:
    def read(session):
        user = users.get_user(session, username)
        return [t.id for t in inbox.task_list(session, user, which, desk.now, inbox.InboxFilter(**filters)).tasks]
    return desk.do(read)


def pages(desk, username: str, which: str = "queue", **filters) -> list[list[int]]:
    """Every page of a list, following each page's next cursor."""
    def read(session):
        user, walked, cursor = users.get_user(session, username), [], None
        while True:
            page = inbox.task_list(session, user, which, desk.now, inbox.InboxFilter(cursor=cursor, **filters))
            walked.append([t.id for t in page.tasks])
            if not page.has_next:
                return walked
            cursor = page.next_cursor
    return desk.do(read)


def test_an_escalated_task_comes_first_even_when_due_last_and_pages_stay_whole(desk):
    first, second, third = intake_tasks(desk, 3)
    desk.do(lambda s: s.execute(update(Task).where(Task.id == third).values(
        escalated_from="Task_Missed", due_at=desk.now + timedelta(days=30), due_sort=desk.now + timedelta(days=30))))
    assert listed(desk, "intake1") == [third, first, second]
    assert pages(desk, "intake1", per_page=1) == [[third], [first], [second]]
    assert pages(desk, "intake1", per_page=2) == [[third, first], [second]]


def test_search_finds_by_case_number_and_phone(desk):
    tasks = intake_tasks(desk, 3)
    number = desk.do(lambda s: s.get(Task, tasks[1]).case.number)
    assert listed(desk, "intake1", search=number) == [tasks[1]]
    assert listed(desk, "intake1", search="13812340002") == [tasks[2]]
    assert listed(desk, "intake1", search="340002") == [tasks[2]], "people who see the phone find it by a part"
    assert listed(desk, "intake1", search="王女") == tasks
    assert listed(desk, "intake1", search="100%_") == []


def test_roles_that_see_identity_masked_find_a_case_only_by_the_exact_value(desk):
    number = desk.start("general_complaint", REGISTRATION)
    desk.complete(number, "Task_FirstContact", {"contact_note": "已联系", "grade": "urgent"})
    desk.complete(number, "Task_EmergencyActivation", {"measures": "成立专班"})
    statement = desk.task(number, "Task_PublicStatement").id
    assert listed(desk, "pr1") == [statement]
    assert listed(desk, "pr1", search="5678") == [] and listed(desk, "pr1", search="王") == []
    assert listed(desk, "pr1", search=REGISTRATION["contact"]) == [statement]
    assert listed(desk, "pr1", search=REGISTRATION["complainant"]) == [statement]


def test_counts_stop_at_the_cap(desk):
    intake_tasks(desk, 3)

    def count(session, cap):
        return inbox.list_count(session, users.get_user(session, "intake1"), "queue", desk.now, cap=cap)
    assert desk.do(count, 1000) == 3 and desk.do(count, 2) == 2


def test_a_task_is_due_soon_in_the_last_share_of_its_time(desk):
    [task_id] = intake_tasks(desk, 1)
    task = desk.do(lambda s: s.get(Task, task_id))
    given = task.due_at - task.created_at
    assert not inbox.due_soon(task, task.created_at + given * 0.79, 0.2)
    assert inbox.due_soon(task, task.created_at + given * 0.81, 0.2)
    assert not inbox.due_soon(task, task.due_at, 0.2), "overdue is not due soon"
