"""general_complaint: every branch and escalation, straight through and persisted with reloads.

Each scenario runs twice: once in a single in-memory SpiffWorkflow object, once through
the database with the spec cache dropped before every step (as if each step ran in a
freshly started process). Both must give the same tasks, roles and due times.
The closing steps (Task_Feedback … Task_Archive) run inside the call activity Call_Closure
(processes/complaint_closure.bpmn); its own paths and deadlines are in test_complaint_closure.py.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.calendar import WorkingCalendar
from tests.conftest import SHANGHAI
from tests.processes.conftest import expect, working_days

H24 = timedelta(hours=24)
CALENDAR = WorkingCalendar()




REGISTRATION = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "category": "service",
                "content": "快递延误且客服态度差", "claimed_amount": 500}
CONTACT = {"contact_note": "已电话联系"}
ANSWER = {"findings": "属实", "resolution": "道歉并改进", "compensation_amount": 0}
FEEDBACK = {"feedback_note": "已告知处理结果", "feedback_channel": "phone"}
SATISFIED = {"satisfied": "yes", "visit_note": "满意"}
UNSATISFIED = {"satisfied": "no", "visit_note": "不满意"}
ARCHIVE = {"archive_note": "归档", "prevention_analysis": "no"}
APPROVE = {"approved": "yes", "approved_amount": 0, "comment": "同意"}


@pytest.fixture
def walk(walk):
    """Start a general_complaint case (default: the registration above)."""
    return lambda data=REGISTRATION: walk("general_complaint", data)


def finish_after_answer(case, answer_task="Task_VerifyNegotiate", answer_role="handler"):
    case.complete(answer_task, ANSWER)
    expect(case, ("Task_Feedback", "handler"))
    case.complete("Task_Feedback", FEEDBACK)
    expect(case, ("Task_ReturnVisit", "intake"))
    case.complete("Task_ReturnVisit", SATISFIED)
    expect(case, ("Task_Archive", "office_director"))
    case.complete("Task_Archive", ARCHIVE)
    assert case.ready() == [] and case.finished()


def test_general_grade_is_verified_by_handler_within_3_days_and_archived(walk):
    case = walk()
    due = expect(case, ("Task_FirstContact", "intake"))
    assert due["Task_FirstContact"] == case.now + H24
    case.complete("Task_FirstContact", {**CONTACT, "grade": "general"})
    due = expect(case, ("Task_VerifyNegotiate", "handler"))
    # Monday 09:00: Tuesday, Wednesday and Thursday count; due when Thursday ends.
    assert due["Task_VerifyNegotiate"] == working_days(case, 3) == datetime(2026, 3, 6, tzinfo=SHANGHAI)
    finish_after_answer(case)


def test_missed_24h_first_contact_escalates_to_office_director(walk):
    case = walk()
    case.pass_time(H24 - timedelta(minutes=1))
    expect(case, ("Task_FirstContact", "intake"))
    case.pass_time(timedelta(minutes=2))
    expect(case, ("Task_FirstContactEscalated", "office_director"))
    case.complete("Task_FirstContactEscalated", {**CONTACT, "grade": "general"})
    expect(case, ("Task_VerifyNegotiate", "handler"))
    finish_after_answer(case)


def test_major_grade_is_investigated_in_5_days_then_reviewed_by_leadership(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "major"})
    due = expect(case, ("Task_Investigate", "handler"))
    assert due["Task_Investigate"] == working_days(case, 5) == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    case.complete("Task_Investigate", ANSWER)
    expect(case, ("Task_LeadershipReview", "leadership"))
    case.complete("Task_LeadershipReview", {"review_opinion": "同意", "review_approved": True})
    expect(case, ("Task_Feedback", "handler"))


def test_urgent_grade_activates_leadership_then_handler_and_pr_in_parallel(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "urgent"})
    expect(case, ("Task_EmergencyActivation", "leadership"))
    case.complete("Task_EmergencyActivation", {"measures": "成立专班"})
    due = expect(case, ("Task_PublicStatement", "pr"), ("Task_UrgentHandle", "handler"))
    assert due["Task_UrgentHandle"] == case.now + H24 and due["Task_PublicStatement"] is None
    case.complete("Task_UrgentHandle", ANSWER)
    expect(case, ("Task_PublicStatement", "pr"))
    case.complete("Task_PublicStatement", {"statement": "正在处理"})
    expect(case, ("Task_Feedback", "handler"))


@pytest.mark.parametrize("grade, answer_task, days", [
    ("general", "Task_VerifyNegotiate", 3),
    ("major", "Task_Investigate", 5),
])
def test_missed_answer_deadline_escalates_to_office_director_then_general_manager(walk, grade, answer_task, days):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": grade})
    due = working_days(case, days)
    case.pass_time(due - case.now - timedelta(seconds=1))
    expect(case, (answer_task, "handler"))
    case.pass_time(timedelta(seconds=2))
    due = expect(case, ("Task_AnswerEscalatedOffice", "office_director"))
    assert due["Task_AnswerEscalatedOffice"] == case.now + H24
    case.pass_time(H24 + timedelta(seconds=1))
    expect(case, ("Task_AnswerEscalatedGM", "general_manager"))
    case.complete("Task_AnswerEscalatedGM", ANSWER)
    if grade == "major":
        expect(case, ("Task_LeadershipReview", "leadership"))
    else:
        expect(case, ("Task_Feedback", "handler"))


def test_missed_urgent_24h_answer_escalates_and_the_parallel_branch_still_joins(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "urgent"})
    case.complete("Task_EmergencyActivation", {"measures": "成立专班"})
    case.pass_time(H24 + timedelta(seconds=1))
    expect(case, ("Task_AnswerEscalatedOffice", "office_director"), ("Task_PublicStatement", "pr"))
    case.complete("Task_AnswerEscalatedOffice", ANSWER)
    expect(case, ("Task_PublicStatement", "pr"))
    case.complete("Task_PublicStatement", {"statement": "正在处理"})
    expect(case, ("Task_Feedback", "handler"))


@pytest.mark.parametrize("amount, approver_task, role", [
    (800, "Task_ApproveDeptHead", "dept_head"),
    (1000, "Task_ApproveDeptHead", "dept_head"),
    (5000, "Task_ApproveGM", "general_manager"),
    (10000, "Task_ApproveGM", "general_manager"),
    (20000, "Task_ApproveLeadership", "leadership"),
])
def test_compensation_is_approved_at_the_level_its_amount_requires(walk, amount, approver_task, role):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "general"})
    case.complete("Task_VerifyNegotiate", {**ANSWER, "compensation_amount": amount})
    expect(case, (approver_task, role))
    case.complete(approver_task, {**APPROVE, "approved_amount": amount})
    expect(case, ("Task_Feedback", "handler"))


@pytest.mark.parametrize("second_visit", [SATISFIED, UNSATISFIED])
def test_unsatisfied_complainant_gets_exactly_one_more_negotiation_round(walk, second_visit):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "general"})
    case.complete("Task_VerifyNegotiate", ANSWER)
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", UNSATISFIED)
    expect(case, ("Task_Renegotiate", "handler"))
    case.complete("Task_Renegotiate", {"renegotiation_note": "再次沟通"})
    expect(case, ("Task_Feedback", "handler"))
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", second_visit)
    expect(case, ("Task_Archive", "office_director"))
    case.complete("Task_Archive", ARCHIVE)
    assert case.finished()
