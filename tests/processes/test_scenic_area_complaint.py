"""scenic_area_complaint: every branch and every deadline, in memory and persisted.

Seed 003: accepted and recorded within 24 hours, investigated within 3 working days, a
solution within 5 working days; major losses activate the plan with progress published;
a dispute goes to third-party mediation or arbitration; the result is disclosed, then the
shared feedback, return visit and archive.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.calendar.working_days import WorkingCalendar
from tests.conftest import SHANGHAI
from tests.processes.conftest import ARCHIVE, FEEDBACK, SATISFIED, expect, walk_closure, working_days

H24 = timedelta(hours=24)
SECOND = timedelta(seconds=1)
CALENDAR = WorkingCalendar()

REGISTRATION = {"visitor": "赵女士", "contact": "13700000000", "channel": "onsite_point", "location": "索道下站",
                "incident_time": "3月2日上午", "content": "索道停运未提前告知，排队两小时后被要求离开"}
ACCEPTED = {"accept_note": "已受理登记", "severity": "general"}
INVESTIGATED = {"contact_note": "已电话联系游客", "facts": "设备检修未在售票处公示", "resolved_now": "no"}
RESOLVED_NOW = {**INVESTIGATED, "resolved_now": "yes", "resolution": "当场退还索道票款并致歉"}
SOLUTION = {"solution": "退票并赠送下次游览门票", "staff_action": "售票班组通报批评", "compensation": "门票一张",
            "visitor_agrees": "yes"}
DISCLOSED = {"disclosure_note": "公示处理结果", "disclosure_channel": "景区公众号"}




@pytest.fixture
def walk(walk):
    """Start a scenic_area_complaint case from the visitor's complaint."""
    return lambda data=REGISTRATION: walk("scenic_area_complaint", data)


def disclosed_and_closed(case):
    expect(case, ("Task_Disclose", "pr"))
    case.complete("Task_Disclose", DISCLOSED)
    walk_closure(case)
    assert case.ready() == [] and case.finished()


def test_complaint_accepted_within_24h_and_resolved_at_once_is_disclosed_and_closed(walk):
    case = walk()
    due = expect(case, ("Task_Accept", "intake"))
    assert due["Task_Accept"] == case.now + H24 == datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)
    case.complete("Task_Accept", ACCEPTED)
    due = expect(case, ("Task_Investigate", "handler"))
    # Monday 09:00: Tuesday, Wednesday and Thursday count; due when Thursday ends.
    assert due["Task_Investigate"] == working_days(case, 3) == datetime(2026, 3, 6, tzinfo=SHANGHAI)
    case.complete("Task_Investigate", RESOLVED_NOW)
    disclosed_and_closed(case)


def test_complaint_not_accepted_within_24h_is_accepted_by_the_office_director(walk):
    case = walk()
    case.pass_time(H24 - SECOND)
    expect(case, ("Task_Accept", "intake"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_AcceptEscalated", "office_director"))
    assert due["Task_AcceptEscalated"] == working_days(case, 1)
    case.complete("Task_AcceptEscalated", ACCEPTED)
    expect(case, ("Task_Investigate", "handler"))


def test_investigated_complaint_gets_a_solution_within_5_working_days_that_the_visitor_accepts(walk):
    case = walk()
    case.complete("Task_Accept", ACCEPTED)
    case.complete("Task_Investigate", INVESTIGATED)
    due = expect(case, ("Task_Solution", "handler"))
    assert due["Task_Solution"] == working_days(case, 5) == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    case.complete("Task_Solution", SOLUTION)
    disclosed_and_closed(case)


def test_missed_investigation_and_solution_deadlines_go_to_the_office_director(walk):
    case = walk()
    case.complete("Task_Accept", ACCEPTED)
    case.pass_time(working_days(case, 3) - case.now - SECOND)
    expect(case, ("Task_Investigate", "handler"))
    case.pass_time(2 * SECOND)
    expect(case, ("Task_InvestigateEscalated", "office_director"))
    case.complete("Task_InvestigateEscalated", INVESTIGATED)
    due = expect(case, ("Task_Solution", "handler"))
    solution_due = working_days(case, 5)
    assert due["Task_Solution"] == solution_due
    case.pass_time(solution_due - case.now - SECOND)
    expect(case, ("Task_Solution", "handler"))
    case.pass_time(2 * SECOND)
    expect(case, ("Task_SolutionEscalated", "office_director"))
    case.complete("Task_SolutionEscalated", SOLUTION)
    disclosed_and_closed(case)


@pytest.mark.parametrize("outcome, steps", [
    ("settled", []),
    ("arbitration", [("Task_Arbitration", "legal", {"arbitration_body": "市旅游纠纷仲裁委", "award": "按裁决退票"})]),
])
def test_disputed_solution_goes_to_third_party_mediation_or_arbitration(walk, outcome, steps):
    case = walk()
    case.complete("Task_Accept", ACCEPTED)
    case.complete("Task_Investigate", INVESTIGATED)
    case.complete("Task_Solution", {**SOLUTION, "visitor_agrees": "no"})
    expect(case, ("Task_Mediation", "legal"))
    case.complete("Task_Mediation", {"mediator": "旅游纠纷人民调解委员会", "mediation_note": "组织调解",
                                     "mediation_outcome": outcome})
    for element, role, data in steps:
        expect(case, (element, role))
        case.complete(element, data)
    disclosed_and_closed(case)


def test_major_losses_are_reported_and_the_plan_activated_with_progress_published_while_handling(walk):
    case = walk()
    case.complete("Task_Accept", {**ACCEPTED, "severity": "major"})
    due = expect(case, ("Task_ReportActivate", "leadership"))
    assert due["Task_ReportActivate"] == case.now + timedelta(hours=2)
    case.complete("Task_ReportActivate", {"reported_to": "县文旅局", "activation_note": "启动应急预案"})
    due = expect(case, ("Task_Investigate", "handler"), ("Task_ProgressRelease", "pr"))
    assert due["Task_Investigate"] == working_days(case, 3) and due["Task_ProgressRelease"] is None
    case.complete("Task_Investigate", RESOLVED_NOW)
    # The result waits for the progress release before it is disclosed.
    expect(case, ("Task_ProgressRelease", "pr"))
    case.complete("Task_ProgressRelease", {"progress_note": "已退还票款", "progress_channel": "官网"})
    disclosed_and_closed(case)


def test_unsatisfied_visitor_gets_one_more_round_before_the_case_is_archived(walk):
    case = walk()
    case.complete("Task_Accept", ACCEPTED)
    case.complete("Task_Investigate", RESOLVED_NOW)
    case.complete("Task_Disclose", DISCLOSED)
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", {"satisfied": "no", "visit_note": "希望书面道歉"})
    expect(case, ("Task_Renegotiate", "handler"))
    case.complete("Task_Renegotiate", {"renegotiation_note": "寄送书面道歉信"})
    expect(case, ("Task_Feedback", "handler"))
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", SATISFIED)
    case.complete("Task_Archive", ARCHIVE)
    assert case.finished()


# ---------------------------------------------------------------- deadlines from receipt; escalated steps

def test_acceptance_is_due_24h_after_receipt_when_the_complaint_is_logged_later(walk):
    case = walk({**REGISTRATION, "received_at": "2026-03-01T17:30:00+08:00"})
    due = expect(case, ("Task_Accept", "intake"))
    # 接到投诉后24小时内进行受理: received Sunday 17:30, due Monday 17:30 however late it was logged.
    assert due["Task_Accept"] == datetime(2026, 3, 2, 17, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize("escalated, leadership_task", [
    ("Task_AcceptEscalated", "Task_AcceptLeadership"),
    ("Task_InvestigateEscalated", "Task_InvestigateLeadership"),
    ("Task_SolutionEscalated", "Task_SolutionLeadership"),
])
def test_office_director_missing_an_escalated_step_passes_it_to_the_leadership_group(walk, escalated, leadership_task):
    case = walk()
    if escalated != "Task_AcceptEscalated":
        case.complete("Task_Accept", ACCEPTED)
    if escalated == "Task_SolutionEscalated":
        case.complete("Task_Investigate", INVESTIGATED)
    case.pass_time(timedelta(days=8))
    due = expect(case, (escalated, "office_director"))
    assert due[escalated] == working_days(case, 1)
    case.pass_time(due[escalated] - case.now + SECOND)
    due = expect(case, (leadership_task, "leadership"))
    assert due[leadership_task] == working_days(case, 1)
    case.pass_time(due[leadership_task] - case.now + SECOND)
    expect(case, (leadership_task, "leadership"))  # the top of the ladder: the miss is recorded, the task stays


def test_activation_after_major_losses_is_due_within_2_hours(walk):
    case = walk()
    case.pass_time(timedelta(hours=1))
    case.complete("Task_Accept", {**ACCEPTED, "severity": "major"})
    due = expect(case, ("Task_ReportActivate", "leadership"))
    assert due["Task_ReportActivate"] == datetime(2026, 3, 2, 12, 0, tzinfo=SHANGHAI)
    case.pass_time(timedelta(hours=2, seconds=1))
    expect(case, ("Task_ReportActivate", "leadership"))
