"""general_complaint: every branch and escalation, straight through and persisted with reloads.

Each scenario runs twice: once in a single in-memory SpiffWorkflow object, once through
the database with the spec cache dropped before every step (as if each step ran in a
freshly started process). Both must give the same tasks, roles and due times.
The closing steps (Task_Feedback … Task_Archive) run inside the call activity Call_Closure
(processes/complaint_closure.bpmn); its own paths and deadlines are in test_complaint_closure.py.
Deadlines of the answer count from `received_at` (when the complaint was received), which
registration sets to the registration time unless the intake clerk enters an earlier one.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from engine.cases import runtime
from engine.cases import use_cases as cases
from engine.db import transaction
from engine.errors import FormInvalid
from engine.forms.validation import validate_submission
from engine.plans.versions import spec_cache
from tests.conftest import SHANGHAI
from tests.processes.conftest import expect, working_days
from tests.support import PLANS_ROOT

H24 = timedelta(hours=24)
SECOND = timedelta(seconds=1)

REGISTRATION = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "category": "service",
                "content": "快递延误且客服态度差", "claimed_amount": 500}
# An e-mail sent on Sunday 1 March 2026 at 10:00, registered on Monday at 09:00.
RECEIVED_SUNDAY = {**REGISTRATION, "channel": "email", "received_at": "2026-03-01T10:00:00+08:00"}
CONTACT = {"contact_note": "已电话联系"}
ANSWER = {"findings": "属实", "resolution": "道歉并改进", "compensation_amount": 0}
FEEDBACK = {"feedback_note": "已告知处理结果", "feedback_channel": "phone"}
SATISFIED = {"satisfied": "yes", "visit_note": "满意"}
UNSATISFIED = {"satisfied": "no", "visit_note": "不满意"}
ARCHIVE = {"archive_note": "归档", "outcome": "upheld", "prevention_analysis": "no"}
APPROVE = {"approved": "yes", "approved_amount": 0, "comment": "同意"}


@pytest.fixture
def walk(walk):
    """Start a general_complaint case (default: the registration above)."""
    return lambda data=REGISTRATION: walk("general_complaint", data)


def case_data(case) -> dict:
    """The case data as its first open task sees it, in memory or loaded from the database."""
    if hasattr(case, "workflow"):
        workflow = case.workflow
    else:
        with transaction(case.desk.session_factory, readonly=True) as session:
            row = cases.get_case(session, case.number)
            workflow = runtime.load(row, spec_cache.get(row.plan_version))
    return dict(runtime.ready_user_tasks(workflow)[0].data)


def form(key: str) -> dict:
    return json.loads((PLANS_ROOT / "forms" / f"{key}.form").read_text(encoding="utf-8"))


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
    # Received Monday 09:00: Tuesday, Wednesday and Thursday count; due when Thursday ends.
    assert due["Task_VerifyNegotiate"] == working_days(case, 3) == datetime(2026, 3, 6, tzinfo=SHANGHAI)
    finish_after_answer(case)


def test_received_at_defaults_to_the_registration_time(walk):
    case = walk()
    assert datetime.fromisoformat(case_data(case)["received_at"]) == case.now


def test_deadlines_count_from_receipt_not_from_registration_or_first_contact(walk):
    case = walk(RECEIVED_SUNDAY)
    due = expect(case, ("Task_FirstContact", "intake"))
    # 24 hours from Sunday 10:00, although the case was registered on Monday 09:00.
    assert due["Task_FirstContact"] == datetime(2026, 3, 2, 10, tzinfo=SHANGHAI)
    case.pass_time(timedelta(hours=1) + SECOND)
    due = expect(case, ("Task_FirstContactEscalated", "office_director"))
    case.pass_time(H24 - timedelta(hours=2))  # the office director reaches the complainant on Tuesday
    case.complete("Task_FirstContactEscalated", {**CONTACT, "grade": "general"})
    due = expect(case, ("Task_VerifyNegotiate", "handler"))
    # Monday, Tuesday and Wednesday after the Sunday of receipt: due when Wednesday ends,
    # not three working days after Tuesday's first contact.
    assert due["Task_VerifyNegotiate"] == datetime(2026, 3, 5, tzinfo=SHANGHAI)


def test_major_answer_counts_5_working_days_from_receipt(walk):
    case = walk(RECEIVED_SUNDAY)
    case.complete("Task_FirstContact", {**CONTACT, "grade": "major"})
    due = expect(case, ("Task_Investigate", "handler"))
    assert due["Task_Investigate"] == datetime(2026, 3, 7, tzinfo=SHANGHAI)


def test_missed_24h_first_contact_escalates_to_office_director_then_general_manager(walk):
    case = walk()
    case.pass_time(H24 - timedelta(minutes=1))
    expect(case, ("Task_FirstContact", "intake"))
    case.pass_time(timedelta(minutes=2))
    due = expect(case, ("Task_FirstContactEscalated", "office_director"))
    assert due["Task_FirstContactEscalated"] == datetime(2026, 3, 4, 9, 1, tzinfo=SHANGHAI)
    case.pass_time(H24 - SECOND)
    expect(case, ("Task_FirstContactEscalated", "office_director"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_FirstContactGM", "general_manager"))
    assert due["Task_FirstContactGM"] == datetime(2026, 3, 5, 9, 1, 1, tzinfo=SHANGHAI)
    case.complete("Task_FirstContactGM", {**CONTACT, "grade": "general"})
    due = expect(case, ("Task_VerifyNegotiate", "handler"))
    assert due["Task_VerifyNegotiate"] == datetime(2026, 3, 6, tzinfo=SHANGHAI)
    finish_after_answer(case)


def test_general_manager_missing_the_first_contact_leaves_the_task_with_him_and_records_the_miss(walk):
    case = walk()
    case.pass_time(H24 + SECOND)
    case.pass_time(H24 + SECOND)
    expect(case, ("Task_FirstContactGM", "general_manager"))
    case.pass_time(H24 + SECOND)
    # Top of the ladder: the overdue mark fires, the task stays open with the general manager.
    expect(case, ("Task_FirstContactGM", "general_manager"))
    case.complete("Task_FirstContactGM", {**CONTACT, "grade": "general"})
    expect(case, ("Task_VerifyNegotiate", "handler"))


def test_major_grade_is_investigated_in_5_days_then_reviewed_by_leadership(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "major"})
    due = expect(case, ("Task_Investigate", "handler"))
    assert due["Task_Investigate"] == working_days(case, 5) == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    case.complete("Task_Investigate", ANSWER)
    expect(case, ("Task_LeadershipReview", "leadership"))
    case.complete("Task_LeadershipReview", {"review_opinion": "同意", "review_approved": True})
    expect(case, ("Task_Feedback", "handler"))


def test_leadership_rejection_sends_the_major_case_back_to_the_handler_on_the_same_deadline(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "major"})
    case.complete("Task_Investigate", ANSWER)
    case.pass_time(H24)
    case.complete("Task_LeadershipReview", {"review_opinion": "赔偿方案不足，重新核实损失", "review_approved": False})
    due = expect(case, ("Task_Investigate", "handler"))
    # The five working days still count from receipt: the rejection does not restart them.
    assert due["Task_Investigate"] == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    assert case_data(case)["review_opinion"] == "赔偿方案不足，重新核实损失"
    case.complete("Task_Investigate", {**ANSWER, "resolution": "补充赔偿"})
    expect(case, ("Task_LeadershipReview", "leadership"))
    case.complete("Task_LeadershipReview", {"review_opinion": "同意", "review_approved": True})
    expect(case, ("Task_Feedback", "handler"))


def test_urgent_answer_is_due_24h_from_receipt_even_when_activation_is_late(walk):
    case = walk({**REGISTRATION, "received_at": "2026-03-01T20:00:00+08:00"})
    due = expect(case, ("Task_FirstContact", "intake"))
    assert due["Task_FirstContact"] == datetime(2026, 3, 2, 20, tzinfo=SHANGHAI)
    case.complete("Task_FirstContact", {**CONTACT, "grade": "urgent"})
    due = expect(case, ("Task_EmergencyActivation", "leadership"))
    # 立即启动: activation is due within 2 hours.
    assert due["Task_EmergencyActivation"] == datetime(2026, 3, 2, 11, tzinfo=SHANGHAI)
    case.pass_time(timedelta(hours=5))
    expect(case, ("Task_EmergencyActivation", "leadership"))
    case.complete("Task_EmergencyActivation", {"measures": "成立专班"})
    due = expect(case, ("Task_PublicStatement", "pr"), ("Task_UrgentHandle", "handler"))
    # 24 hours from Sunday 20:00, not from Monday 14:00's activation.
    assert due["Task_UrgentHandle"] == due["Task_PublicStatement"] == datetime(2026, 3, 2, 20, tzinfo=SHANGHAI)


def test_urgent_grade_activates_leadership_then_handler_and_pr_in_parallel(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "urgent"})
    expect(case, ("Task_EmergencyActivation", "leadership"))
    case.complete("Task_EmergencyActivation", {"measures": "成立专班"})
    due = expect(case, ("Task_PublicStatement", "pr"), ("Task_UrgentHandle", "handler"))
    assert due["Task_UrgentHandle"] == due["Task_PublicStatement"] == case.now + H24
    case.complete("Task_PublicStatement", {"statement_needed": "yes", "statement": "正在处理"})
    expect(case, ("Task_UrgentHandle", "handler"))
    case.complete("Task_UrgentHandle", ANSWER)
    expect(case, ("Task_Feedback", "handler"))


def test_urgent_feedback_does_not_wait_for_the_pr_decision(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "urgent"})
    case.complete("Task_EmergencyActivation", {"measures": "成立专班"})
    case.complete("Task_UrgentHandle", ANSWER)
    expect(case, ("Task_Feedback", "handler"), ("Task_PublicStatement", "pr"))
    case.complete("Task_PublicStatement", {"statement_needed": "no"})
    expect(case, ("Task_Feedback", "handler"))


def test_missed_pr_decision_goes_to_leadership_and_does_not_hold_the_case(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "urgent"})
    case.complete("Task_EmergencyActivation", {"measures": "成立专班"})
    case.complete("Task_UrgentHandle", ANSWER)
    case.pass_time(H24 + SECOND)
    due = expect(case, ("Task_Feedback", "handler"), ("Task_StatementEscalated", "leadership"))
    assert due["Task_StatementEscalated"] == case.now + H24
    case.complete("Task_StatementEscalated", {"statement_needed": "no"})
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", SATISFIED)
    case.complete("Task_Archive", ARCHIVE)
    assert case.finished()


def test_missed_emergency_activation_is_recorded_and_the_task_stays_with_leadership(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "urgent"})
    due = expect(case, ("Task_EmergencyActivation", "leadership"))
    assert due["Task_EmergencyActivation"] == datetime(2026, 3, 2, 11, tzinfo=SHANGHAI)
    case.pass_time(timedelta(hours=2) + SECOND)
    expect(case, ("Task_EmergencyActivation", "leadership"))
    case.complete("Task_EmergencyActivation", {"measures": "成立专班"})
    expect(case, ("Task_PublicStatement", "pr"), ("Task_UrgentHandle", "handler"))


@pytest.mark.parametrize("grade, answer_task, days", [
    ("general", "Task_VerifyNegotiate", 3),
    ("major", "Task_Investigate", 5),
])
def test_missed_answer_deadline_escalates_to_office_director_then_general_manager_then_leadership(
        walk, grade, answer_task, days):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": grade})
    due = working_days(case, days)
    case.pass_time(due - case.now - SECOND)
    expect(case, (answer_task, "handler"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_AnswerEscalatedOffice", "office_director"))
    assert due["Task_AnswerEscalatedOffice"] == case.now + H24
    case.pass_time(H24 + SECOND)
    due = expect(case, ("Task_AnswerEscalatedGM", "general_manager"))
    assert due["Task_AnswerEscalatedGM"] == case.now + H24
    case.complete("Task_AnswerEscalatedGM", ANSWER)
    if grade == "major":
        expect(case, ("Task_LeadershipReview", "leadership"))
    else:
        expect(case, ("Task_Feedback", "handler"))


def test_general_manager_missing_the_escalated_answer_hands_it_to_the_leadership_group(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "general"})
    case.pass_time(working_days(case, 3) - case.now + SECOND)
    case.pass_time(H24 + SECOND)
    case.pass_time(H24 - SECOND)
    expect(case, ("Task_AnswerEscalatedGM", "general_manager"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_AnswerEscalatedLeadership", "leadership"))
    # Missed Thursday 24:00 (+1 s); office director +24 h; general manager +24 h; leadership 24 h more.
    assert due["Task_AnswerEscalatedLeadership"] == datetime(2026, 3, 9, 0, 0, 3, tzinfo=SHANGHAI)
    case.pass_time(H24 + SECOND)
    expect(case, ("Task_AnswerEscalatedLeadership", "leadership"))
    case.complete("Task_AnswerEscalatedLeadership", ANSWER)
    expect(case, ("Task_Feedback", "handler"))


def test_missed_urgent_24h_answer_escalates_while_pr_decides_in_parallel(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "urgent"})
    case.complete("Task_EmergencyActivation", {"measures": "成立专班"})
    case.complete("Task_PublicStatement", {"statement_needed": "yes", "statement": "正在处理"})
    case.pass_time(H24 + SECOND)
    expect(case, ("Task_AnswerEscalatedOffice", "office_director"))
    case.complete("Task_AnswerEscalatedOffice", ANSWER)
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


def test_the_approved_amount_not_the_requested_one_goes_forward(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "general"})
    case.complete("Task_VerifyNegotiate", {**ANSWER, "compensation_amount": 5000})
    case.complete("Task_ApproveGM", {"approved": "yes", "approved_amount": 3000, "comment": "按实际损失"})
    expect(case, ("Task_Feedback", "handler"))
    data = case_data(case)
    assert (data["compensation_amount"], data["requested_compensation"]) == (3000, 5000)


def test_rejected_compensation_goes_back_to_the_handler_and_the_new_amount_is_approved_again(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "general"})
    case.complete("Task_VerifyNegotiate", {**ANSWER, "compensation_amount": 5000})
    case.complete("Task_ApproveGM", {"approved": "no", "rejection_reason": "证据不足，请核实损失"})
    expect(case, ("Task_ReviseCompensation", "handler"))
    assert case_data(case)["rejection_reason"] == "证据不足，请核实损失"
    case.complete("Task_ReviseCompensation", {**ANSWER, "compensation_amount": 800})
    expect(case, ("Task_ApproveDeptHead", "dept_head"))
    case.complete("Task_ApproveDeptHead", {"approved": "yes", "approved_amount": 800})
    expect(case, ("Task_Feedback", "handler"))


def test_handler_may_drop_a_rejected_compensation_and_close_without_one(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "general"})
    case.complete("Task_VerifyNegotiate", {**ANSWER, "compensation_amount": 800})
    case.complete("Task_ApproveDeptHead", {"approved": "no", "rejection_reason": "不予赔偿"})
    case.complete("Task_ReviseCompensation", ANSWER)
    expect(case, ("Task_Feedback", "handler"))


def test_an_unanswered_compensation_approval_climbs_to_the_next_level(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "general"})
    case.complete("Task_VerifyNegotiate", {**ANSWER, "compensation_amount": 800})
    due = expect(case, ("Task_ApproveDeptHead", "dept_head"))
    assert due["Task_ApproveDeptHead"] == datetime(2026, 3, 5, tzinfo=SHANGHAI)
    case.pass_time(due["Task_ApproveDeptHead"] - case.now + SECOND)
    due = expect(case, ("Task_ApproveGM", "general_manager"))
    assert due["Task_ApproveGM"] == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    case.pass_time(due["Task_ApproveGM"] - case.now + SECOND)
    due = expect(case, ("Task_ApproveLeadership", "leadership"))
    assert due["Task_ApproveLeadership"] == datetime(2026, 3, 13, tzinfo=SHANGHAI)
    case.pass_time(due["Task_ApproveLeadership"] - case.now + SECOND)
    expect(case, ("Task_ApproveLeadership", "leadership"))  # top of the ladder: the miss is recorded
    case.complete("Task_ApproveLeadership", {"approved": "yes", "approved_amount": 800})
    expect(case, ("Task_Feedback", "handler"))


def test_leadership_review_is_due_in_2_working_days(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "major"})
    case.complete("Task_Investigate", ANSWER)
    due = expect(case, ("Task_LeadershipReview", "leadership"))
    assert due["Task_LeadershipReview"] == datetime(2026, 3, 5, tzinfo=SHANGHAI)


def test_a_revision_the_handler_leaves_undone_goes_to_the_office_director(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "general"})
    case.complete("Task_VerifyNegotiate", {**ANSWER, "compensation_amount": 800})
    case.complete("Task_ApproveDeptHead", {"approved": "no", "rejection_reason": "证据不足"})
    due = expect(case, ("Task_ReviseCompensation", "handler"))
    assert due["Task_ReviseCompensation"] == datetime(2026, 3, 5, tzinfo=SHANGHAI)
    case.pass_time(due["Task_ReviseCompensation"] - case.now + SECOND)
    expect(case, ("Task_AnswerEscalatedOffice", "office_director"))
    case.complete("Task_AnswerEscalatedOffice", ANSWER)
    expect(case, ("Task_Feedback", "handler"))


def test_unsatisfied_complainant_gets_one_more_negotiation_round_then_is_reinvestigated(walk):
    case = walk()
    case.complete("Task_FirstContact", {**CONTACT, "grade": "general"})
    case.complete("Task_VerifyNegotiate", ANSWER)
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", UNSATISFIED)
    expect(case, ("Task_Renegotiate", "handler"))
    case.complete("Task_Renegotiate", {"renegotiation_note": "再次沟通"})
    expect(case, ("Task_Feedback", "handler"))
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", UNSATISFIED)
    expect(case, ("Task_Reinvestigate", "office_director"))


# Form rules: the server applies the same rules the browser shows while typing.

@pytest.mark.parametrize("contact", ["13800000000", "010-12345678", "0755-87654321", "02168881234",
                                     "wang@example.com"])
def test_registration_accepts_a_mobile_a_landline_with_area_code_or_an_email(contact):
    assert validate_submission(form("gc_register"), {**REGISTRATION, "contact": contact})["contact"] == contact


@pytest.mark.parametrize("contact", ["138", "1380000000", "23800000000", "12345678", "wang@", "北京市朝阳区"])
def test_registration_refuses_a_contact_that_is_no_phone_number_or_email(contact):
    with pytest.raises(FormInvalid) as refused:
        validate_submission(form("gc_register"), {**REGISTRATION, "contact": contact})
    assert set(refused.value.errors) == {"contact"}


def test_registration_keeps_the_time_of_receipt():
    cleaned = validate_submission(form("gc_register"), {**REGISTRATION, "received_at": "2026-03-01T10:00"})
    assert cleaned["received_at"] == "2026-03-01T10:00:00"


@pytest.mark.parametrize("submission, missing", [
    ({"approved": "yes"}, "approved_amount"),
    ({"approved": "no"}, "rejection_reason"),
])
def test_approving_needs_the_amount_and_rejecting_needs_the_reason(submission, missing):
    with pytest.raises(FormInvalid) as refused:
        validate_submission(form("gc_compensation_approval"), submission)
    assert set(refused.value.errors) == {missing}


def test_pr_must_write_the_statement_it_decides_to_publish():
    with pytest.raises(FormInvalid) as refused:
        validate_submission(form("gc_statement"), {"statement_needed": "yes"})
    assert set(refused.value.errors) == {"statement"}
    assert validate_submission(form("gc_statement"), {"statement_needed": "no"}) == {"statement_needed": "no"}


def test_leadership_rejection_needs_its_reason():
    with pytest.raises(FormInvalid) as refused:
        validate_submission(form("gc_review"), {"review_approved": False})
    assert set(refused.value.errors) == {"review_opinion"}
