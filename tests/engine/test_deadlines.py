"""Working-day deadlines in plans: official notices, provisional years, recomputation on load."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.calendar.loading import load_calendar_file
from engine.cases import use_cases as cases
from engine.db import transaction
from engine.errors import DeployRejected, PlanFlowError
from engine.models import AuditEvent, Task, Timer
from tests.conftest import SHANGHAI
from tests.samples import one_task_plan, write_plan
from tests.support import Desk


def desk_with_timer(session_factory, tmp_path, now, timer):
    return Desk.open(session_factory, now, [write_plan(tmp_path / "plans", one_task_plan(timer=timer))])


def registration_stopped(desk, data) -> str:
    """Why the mini plan could not advance a registration: the refusal, or the incident the case keeps."""
    try:
        number = desk.start("mini", data, "handler1")
    except cases.CaseEngineError as exc:
        return str(exc)
    with transaction(desk.session_factory, readonly=True) as session:
        return cases.get_case(session, number).incident or "the case advanced"


@pytest.mark.parametrize("received, timer, expected_due", [
    # Fri 26 Sep 2025, 20:00: Sat 27 off; Sun 28 worked (1), Mon 29 (2), Tue 30 (3); National Day from Oct 1.
    (datetime(2025, 9, 26, 20, 0), "working_days(3)", datetime(2025, 10, 1)),
    # Tue 30 Sep 2025: Oct 1–8 off, Thu 9 (1), Fri 10 (2), Sat 11 worked (3).
    (datetime(2025, 9, 30, 10, 0), "working_days(3)", datetime(2025, 10, 12)),
    # Fri 13 Feb 2026 evening before Spring Festival: Sat 14 worked (1), Feb 15–23 off, Tue 24 (2), Wed 25 (3).
    (datetime(2026, 2, 13, 19, 30), "working_days(3)", datetime(2026, 2, 26)),
    # 4 office hours from Fri 13 Feb 2026 16:00: 2 h Friday, 2 h on the worked Saturday, till 11:00.
    (datetime(2026, 2, 13, 16, 0), "working_hours(4)", datetime(2026, 2, 14, 11, 0)),
    # 3 calendar days from Thu 12 Feb 2026 end on Sun 15 (a holiday): moves to the end of Tue 24.
    (datetime(2026, 2, 12, 10, 0), "calendar_days(3)", datetime(2026, 2, 25)),
])
def test_calendar_timer_is_due_where_the_official_notice_puts_it(session_factory, tmp_path, received, timer,
                                                                 expected_due):
    received, expected_due = received.replace(tzinfo=SHANGHAI), expected_due.replace(tzinfo=SHANGHAI)
    desk = desk_with_timer(session_factory, tmp_path, received, timer)
    number = desk.start("mini", {}, "handler1")
    task = desk.task(number, "Task_Verify")
    assert task.due_at == expected_due and not task.due_provisional
    desk.pass_time(expected_due - received - timedelta(seconds=1))
    assert desk.task(number, "Task_Verify")
    desk.pass_time(timedelta(seconds=2))
    assert [t.element_id for t in desk.open_tasks(number)] == ["Task_Escalated"]


# Test data standing in for the 2027 notice (not published when this was written): Spring
# Festival 5–13 Feb off, Sun 14 and Sat 20 Feb worked.
YEAR_2027 = """
complete_year: 2027
days:
  - {date: 2027-01-01, kind: holiday, name: 元旦}
  - {date: 2027-02-05, kind: holiday, name: 春节}
  - {date: 2027-02-06, kind: holiday, name: 春节}
  - {date: 2027-02-07, kind: holiday, name: 春节}
  - {date: 2027-02-08, kind: holiday, name: 春节}
  - {date: 2027-02-09, kind: holiday, name: 春节}
  - {date: 2027-02-10, kind: holiday, name: 春节}
  - {date: 2027-02-11, kind: holiday, name: 春节}
  - {date: 2027-02-12, kind: holiday, name: 春节}
  - {date: 2027-02-13, kind: holiday, name: 春节}
  - {date: 2027-02-14, kind: workday, name: 春节调休上班}
  - {date: 2027-02-20, kind: workday, name: 春节调休上班}
"""


def test_deadline_into_a_year_without_data_is_provisional_until_that_year_is_loaded(session_factory, tmp_path):
    # Wed 3 Feb 2027, no notice yet: Thu 4 (1); 除夕–初三 5–8 Feb off by statute, 补假 9 and 10;
    # Thu 11 (2), Fri 12 (3).
    received = datetime(2027, 2, 3, 10, 0, tzinfo=SHANGHAI)
    desk = desk_with_timer(session_factory, tmp_path, received, "working_days(3)")
    number = desk.start("mini", {}, "handler1")
    task = desk.task(number, "Task_Verify")
    assert task.due_at == datetime(2027, 2, 13, tzinfo=SHANGHAI) and task.due_provisional
    with transaction(session_factory, readonly=True) as session:
        warning = session.execute(select(AuditEvent).where(AuditEvent.kind == "deadline_provisional")).scalar_one()
    assert warning.payload["years_without_calendar_data"] == [2027]

    notice = tmp_path / "2027.yaml"
    notice.write_text(YEAR_2027, encoding="utf-8")
    loaded_at = received + timedelta(hours=1)
    result = desk.do(load_calendar_file, notice, "process_owner1", loaded_at)
    # With the notice: Thu 4 (1), Sun 14 worked (2), Mon 15 (3).
    new_due = datetime(2027, 2, 16, tzinfo=SHANGHAI)
    assert [(c, e, n) for c, e, _, n in result.moved] == [(number, "Timer_Deadline", new_due)]
    task = desk.task(number, "Task_Verify")
    assert task.due_at == new_due and not task.due_provisional
    with transaction(session_factory, readonly=True) as session:
        timer = session.execute(select(Timer)).scalar_one()
        moved = session.execute(select(AuditEvent).where(AuditEvent.kind == "deadline_recomputed")).scalar_one()
    assert timer.due_at == new_due and timer.provisional_years == []
    assert datetime.fromisoformat(moved.payload["old_due_at"]) == datetime(2027, 2, 13, tzinfo=SHANGHAI)

    desk.now = datetime(2027, 2, 13, 12, 0, tzinfo=SHANGHAI)
    assert desk.pass_time(timedelta(0)).fired == 0, "the old, provisional due time no longer fires"
    assert desk.pass_time(timedelta(days=2, hours=12, seconds=1)).fired == 1


def test_a_broken_calendar_file_is_refused_and_changes_nothing(session_factory, tmp_path, now):
    desk = desk_with_timer(session_factory, tmp_path, now, "working_days(3)")
    bad = tmp_path / "bad.yaml"
    bad.write_text("days:\n  - date: 2027-02-30\n    kind: holiday\n    name: x\n", encoding="utf-8")
    with pytest.raises(PlanFlowError, match="calendar file not loaded"):
        desk.do(load_calendar_file, bad, "process_owner1", now)


@pytest.mark.parametrize("value", ["working_days(0)", "working_days(-1)", "working_days('3')",
                                   "working_days(2.5)", "working_hours(10**9)", "calendar_days()"])
def test_a_nonsense_calendar_argument_is_refused_at_deploy(session_factory, tmp_path, now, value):
    with pytest.raises(DeployRejected) as info:
        desk_with_timer(session_factory, tmp_path, now, value)
    [problem] = info.value.problems
    assert problem.element_id == "Timer_Deadline" and value in problem.message


@pytest.mark.parametrize("days", [0, -2])
def test_a_nonsense_argument_from_case_data_is_an_engine_error_not_a_silent_deadline(session_factory, tmp_path,
                                                                                     now, days):
    desk = desk_with_timer(session_factory, tmp_path, now, "working_days(days)")
    assert "positive" in registration_stopped(desk, {"days": days})
    with transaction(session_factory, readonly=True) as session:
        assert session.execute(select(Task)).first() is None


# ------------------------------------------------------------ counting from receipt (`since`)

@pytest.mark.parametrize("timer, received_at, timer_starts, expected_due", [
    # Received Fri 26 Sep 2025 20:00 (text without offset = local time), the timer starts Mon 29 Sep:
    # Sun 28 worked (1), Mon 29 (2), Tue 30 (3) — counted from receipt, not from Monday.
    ("working_days(3, since=received_at)", "2025-09-26T20:00", datetime(2025, 9, 29, 10, 0), datetime(2025, 10, 1)),
    # 24 h round the clock from receipt, the National Day holiday included.
    ("calendar_hours(24, since=received_at)", "2025-09-30T10:00:00+08:00", datetime(2025, 9, 30, 18, 0),
     datetime(2025, 10, 1, 10, 0)),
    # 4 office hours from Fri 13 Feb 2026 16:00: 2 h Friday, 2 h on the worked Saturday.
    ("working_hours(4, since=received_at)", "2026-02-13T16:00", datetime(2026, 2, 14, 9, 30),
     datetime(2026, 2, 14, 11, 0)),
    # 3 calendar days from Thu 12 Feb 2026 end on Sun 15, a holiday: moved to the end of Tue 24.
    ("calendar_days(3, since=received_at)", "2026-02-12T10:00", datetime(2026, 2, 14, 10, 0), datetime(2026, 2, 25)),
    # "本日内": the end of the local day of receipt; 17:00 UTC on 30 Sep is already 1 Oct in Shanghai.
    ("end_of_day(since=received_at)", "2025-09-30T17:00:00+00:00", datetime(2025, 10, 1, 8, 0), datetime(2025, 10, 2)),
    ("end_of_day(received_at)", "2025-09-30T10:00", datetime(2025, 9, 30, 15, 0), datetime(2025, 10, 1)),
])
def test_a_deadline_counts_from_receipt_not_from_when_its_timer_starts(session_factory, tmp_path, timer,
                                                                       received_at, timer_starts, expected_due):
    timer_starts, expected_due = timer_starts.replace(tzinfo=SHANGHAI), expected_due.replace(tzinfo=SHANGHAI)
    desk = desk_with_timer(session_factory, tmp_path, timer_starts, timer)
    number = desk.start("mini", {"received_at": received_at}, "handler1")
    task = desk.task(number, "Task_Verify")
    assert task.due_at == expected_due and not task.due_provisional
    desk.pass_time(expected_due - timer_starts - timedelta(seconds=1))
    assert desk.task(number, "Task_Verify")
    desk.pass_time(timedelta(seconds=2))
    assert [t.element_id for t in desk.open_tasks(number)] == ["Task_Escalated"]


def test_end_of_day_without_since_is_the_end_of_today_local_time(session_factory, tmp_path):
    desk = desk_with_timer(session_factory, tmp_path, datetime(2026, 10, 1, 23, 10, tzinfo=SHANGHAI), "end_of_day()")
    number = desk.start("mini", {}, "handler1")
    assert desk.task(number, "Task_Verify").due_at == datetime(2026, 10, 2, tzinfo=SHANGHAI)


@pytest.mark.parametrize("received_at, message", [
    ("campus", "since must be the date-time"),
    (20250930, "since must be ISO date-time text"),
    ("0205-09-30T10:00", "not a plausible date of receipt"),
])
def test_a_receipt_time_that_is_not_a_date_time_is_an_engine_error(session_factory, tmp_path, now, received_at,
                                                                   message):
    desk = desk_with_timer(session_factory, tmp_path, now, "working_days(3, since=received_at)")
    assert message in registration_stopped(desk, {"received_at": received_at})
    with transaction(session_factory, readonly=True) as session:
        assert session.execute(select(Task)).first() is None


def test_a_receipt_time_without_offset_is_read_in_the_organisations_time_zone():
    from engine.calendar.clock import engine_time
    from engine.calendar.deadlines import calendar_hours, end_of_day, using_calendar
    from engine.calendar.working_days import WorkingCalendar

    with engine_time(datetime(2026, 3, 2, 12, 0, tzinfo=SHANGHAI)), using_calendar(WorkingCalendar(zone="Europe/Berlin")):
        # Mon 2 Mar 2026 10:00 in Berlin (UTC+1) is 09:00 UTC; its day ends at 23:00 UTC.
        assert end_of_day("2026-03-02T10:00") == "2026-03-02T23:00:00+00:00"
        assert calendar_hours(24, since=datetime(2026, 3, 2, 10, 0)) == "2026-03-03T09:00:00+00:00"


@pytest.mark.parametrize("value", ["calendar_hours(24)", "end_of_day()", "working_days(3, since='2026-03-02')",
                                   "calendar_hours(0.25, since='2026-03-02T10:00')"])
def test_the_new_deadline_functions_are_date_timers_wherever_they_are_written(value):
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition

    from engine.calendar.deadlines import uses_calendar
    from engine.plans.bpmn import parse_plan

    assert uses_calendar(value)
    plan = parse_plan(one_task_plan(timer=value), "mini.bpmn")
    definition = plan.spec.task_specs["Timer_Deadline"].event_definition
    assert isinstance(definition, TimeDateEventDefinition) and definition.expression == value
