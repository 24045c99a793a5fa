"""training_school_complaint: every path and escalation, straight through and persisted with reloads.

Complaints received on a campus follow the campus rules (answered on the spot, or a receipt
form within 2 days and coordination within 1, 3 or 7 days by complexity); complaints to the
head office are handled by type. Malicious complaints are handed over to malicious_complaint
inside the same case; one test walks that plan to its end, the others stop at its first task.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.calendar.working_days import WorkingCalendar
from tests.conftest import SHANGHAI
from tests.processes.conftest import calendar_days, expect, walk_closure, working_days

H24 = timedelta(hours=24)
SECOND = timedelta(seconds=1)
CALENDAR = WorkingCalendar()






def registration(received_where, complaint_type):
    return {"complainant": "张女士", "contact": "13800000001", "student_name": "王小明", "campus": "城南校区",
            "received_where": received_where, "channel": "phone", "category": "course", "complaint_type": complaint_type,
            "content": "数学老师频繁更换，作业无人批改", "claimed_amount": 2000}


RECEPTION_DIRECT = {"reception_note": "已当场解释排课安排", "needs_coordination": "no"}
RECEPTION_COORDINATE = {"reception_note": "需教学部协调", "needs_coordination": "yes"}
RECEIPT = {"investigation_summary": "近一月更换教师三次", "photos_note": "无", "evidence_note": "作业本两本",
           "coordinating_department": "教学部"}
RECEIPT_PENALTY = {"responsible_person": "前台李某", "penalty_amount": 100, "penalty_note": "2日内未传递接收单"}
COORDINATED = {"coordination_result": "教学部固定任课教师", "solution": "补批作业并固定教师"}
COORDINATION_PENALTY = {"responsible_department_head": "教学部主任", "penalty_amount": 200, "penalty_note": "绩效为零"}

FORWARD = {"forwarded_to": "教学部", "forward_note": "家长建议增加课后答疑"}
REPORT = {"report": "已安排每周答疑", "improvement": "增设答疑时段", "constructive": "yes",
          "thanks_note": "已面谈致谢并赠送学习用品"}
REVIEW = {"review_opinion": "同意，报总经理"}
GM_RESULT = {"gm_comment": "已阅"}

MEETING = {"meeting_note": "已致歉", "demands": "更换教师并退还部分课时费", "campus_supervisor_joined": "yes"}
OPINION = {"handling_opinion": "更换教师", "compensation_plan": "退还两次课时费", "compensation_amount": 400}
APPROVE = {"approved": "yes", "approval_comment": "同意"}
REJECT = {"approved": "no", "approval_comment": "补偿方案再议"}
AGREED = {"final_plan": "更换教师并退还400元", "final_compensation": 400, "negotiation_result": "agreed"}
FAILED = {"final_plan": "家长要求退还全部学费并索要精神损失费", "final_compensation": 0, "negotiation_result": "failed"}
EXECUTED = {"execution_result": "已更换教师并退款", "responsible_staff": "原任课教师", "staff_penalty": "performance_zero",
            "supervisor_penalty": "management_zero", "loss_borne": 0, "penalty_note": "按公司制度处罚"}



@pytest.fixture
def walk(walk):
    """Start a training_school_complaint case received at `received_where` of type `complaint_type`."""
    return lambda received_where="hq", complaint_type="problem", **changes: walk(
        "training_school_complaint", {**registration(received_where, complaint_type), **changes})


def closes_with_feedback_visit_and_archive(case):
    """The shared closure (complaint_closure) from its first task to the end of the case."""
    walk_closure(case)
    assert case.ready() == [] and case.finished()


# ---------------------------------------------------------------- campus (校区)

def test_campus_complaint_answered_on_the_spot_ends_with_the_reception_record(walk):
    case = walk("campus", "problem")
    due = expect(case, ("Task_CampusReception", "intake"))
    assert due["Task_CampusReception"] is None
    case.complete("Task_CampusReception", RECEPTION_DIRECT)
    assert case.ready() == [] and case.finished()


@pytest.mark.parametrize("complexity, days, literal_due", [
    ("simple", 1, datetime(2026, 3, 4, tzinfo=SHANGHAI)),
    ("ordinary", 3, datetime(2026, 3, 6, tzinfo=SHANGHAI)),
    ("complex", 7, datetime(2026, 3, 10, tzinfo=SHANGHAI)),
])
def test_campus_receipt_form_within_2_days_then_coordination_in_1_3_or_7_days_by_complexity(
        walk, complexity, days, literal_due):
    case = walk("campus", "suggestion")
    case.complete("Task_CampusReception", RECEPTION_COORDINATE)
    due = expect(case, ("Task_ReceiptForm", "intake"))
    # 投诉调查…本日内完成: received Monday 09:00, the investigation is due when Monday ends.
    assert due["Task_ReceiptForm"] == datetime(2026, 3, 3, tzinfo=SHANGHAI)
    case.pass_time(timedelta(hours=3))
    case.complete("Task_ReceiptForm", {**RECEIPT, "complexity": complexity})
    due = expect(case, ("Task_Coordinate", "handler"))
    assert due["Task_Coordinate"] == calendar_days(case, days) == literal_due
    case.pass_time(literal_due - case.now - SECOND)
    expect(case, ("Task_Coordinate", "handler"))
    case.complete("Task_Coordinate", COORDINATED)
    if complexity == "simple":
        closes_with_feedback_visit_and_archive(case)
    else:
        expect(case, ("Task_Feedback", "handler"))


def test_campus_steps_overdue_go_to_the_campus_supervisor_with_fines_of_100_and_200(walk):
    case = walk("campus", "problem")
    case.complete("Task_CampusReception", RECEPTION_COORDINATE)
    due = calendar_days(case, 2)
    case.pass_time(due - case.now - SECOND)
    expect(case, ("Task_ReceiptForm", "intake"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_ReceiptFormEscalated", "dept_head"))
    assert due["Task_ReceiptFormEscalated"] == working_days(case, 1)
    case.complete("Task_ReceiptFormEscalated", {**RECEIPT, **RECEIPT_PENALTY, "complexity": "ordinary"})
    due = calendar_days(case, 3)
    assert expect(case, ("Task_Coordinate", "handler"))["Task_Coordinate"] == due
    case.pass_time(due - case.now - SECOND)
    expect(case, ("Task_Coordinate", "handler"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_CoordinateEscalated", "dept_head"))
    assert due["Task_CoordinateEscalated"] == working_days(case, 1)
    case.complete("Task_CoordinateEscalated", {**COORDINATED, **COORDINATION_PENALTY})
    closes_with_feedback_visit_and_archive(case)


# ---------------------------------------------------------------- head office: suggestion (建议型)

def test_suggestion_is_forwarded_in_24h_reported_in_5_working_days_reviewed_in_2_and_reported_to_the_gm(walk):
    case = walk("hq", "suggestion")
    due = expect(case, ("Task_ForwardSuggestion", "office_director"))
    assert due["Task_ForwardSuggestion"] == case.now + H24
    case.pass_time(timedelta(hours=2))
    case.complete("Task_ForwardSuggestion", FORWARD)
    due = expect(case, ("Task_DeptReport", "handler"))
    # Monday 11:00: Tuesday to Friday and next Monday count; due when Monday 9 March ends.
    assert due["Task_DeptReport"] == working_days(case, 5) == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    case.pass_time(timedelta(days=1))
    case.complete("Task_DeptReport", REPORT)
    due = expect(case, ("Task_AdminReview", "office_director"))
    assert due["Task_AdminReview"] == working_days(case, 2) == datetime(2026, 3, 6, tzinfo=SHANGHAI)
    case.complete("Task_AdminReview", REVIEW)
    due = expect(case, ("Task_GMResult", "general_manager"))
    assert due["Task_GMResult"] is None
    case.complete("Task_GMResult", GM_RESULT)
    closes_with_feedback_visit_and_archive(case)


def test_suggestion_overdue_at_each_step_is_taken_over_one_level_up(walk):
    case = walk("hq", "suggestion")
    case.pass_time(H24 - SECOND)
    expect(case, ("Task_ForwardSuggestion", "office_director"))
    case.pass_time(2 * SECOND)
    expect(case, ("Task_ForwardEscalated", "general_manager"))
    case.complete("Task_ForwardEscalated", FORWARD)
    due = working_days(case, 5)
    assert expect(case, ("Task_DeptReport", "handler"))["Task_DeptReport"] == due
    case.pass_time(due - case.now - SECOND)
    expect(case, ("Task_DeptReport", "handler"))
    case.pass_time(2 * SECOND)
    expect(case, ("Task_DeptReportEscalated", "dept_head"))
    case.complete("Task_DeptReportEscalated", {**REPORT, "constructive": "no", "thanks_note": ""})
    due = working_days(case, 2)
    assert expect(case, ("Task_AdminReview", "office_director"))["Task_AdminReview"] == due
    case.pass_time(due - case.now - SECOND)
    expect(case, ("Task_AdminReview", "office_director"))
    case.pass_time(2 * SECOND)
    expect(case, ("Task_AdminReviewEscalated", "general_manager"))
    case.complete("Task_AdminReviewEscalated", REVIEW)
    expect(case, ("Task_GMResult", "general_manager"))
    case.complete("Task_GMResult", GM_RESULT)
    expect(case, ("Task_Feedback", "handler"))


def test_department_report_deadline_skips_labour_day_and_counts_the_make_up_saturday(desk, walk):
    desk.now = datetime(2026, 4, 29, 9, 0, tzinfo=SHANGHAI)   # Wednesday before the 1-5 May holiday
    case = walk("hq", "suggestion")
    case.complete("Task_ForwardSuggestion", FORWARD)
    due = expect(case, ("Task_DeptReport", "handler"))
    # 30 April, 6, 7, 8 May and the make-up working Saturday 9 May count.
    assert due["Task_DeptReport"] == working_days(case, 5) == datetime(2026, 5, 10, tzinfo=SHANGHAI)


# ---------------------------------------------------------------- head office: problem (问题型)

def test_problem_complaint_gets_opinion_24h_after_meeting_plan_in_5_working_days_and_execution_in_2(walk):
    case = walk("hq", "problem")
    due = expect(case, ("Task_MeetParent", "office_director"))
    assert due["Task_MeetParent"] is None
    case.pass_time(timedelta(hours=5))
    case.complete("Task_MeetParent", MEETING)
    due = expect(case, ("Task_HandlingOpinion", "office_director"))
    assert due["Task_HandlingOpinion"] == case.now + H24 == datetime(2026, 3, 3, 14, 0, tzinfo=SHANGHAI)
    case.complete("Task_HandlingOpinion", OPINION)
    expect(case, ("Task_ApproveOpinion", "general_manager"))
    case.complete("Task_ApproveOpinion", APPROVE)
    due = expect(case, ("Task_NegotiateFinal", "office_director"))
    assert due["Task_NegotiateFinal"] == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    case.complete("Task_NegotiateFinal", AGREED)
    expect(case, ("Task_ApproveFinal", "general_manager"))
    case.pass_time(timedelta(days=1))
    case.complete("Task_ApproveFinal", APPROVE)
    due = expect(case, ("Task_ExecutePlan", "office_director"))
    assert due["Task_ExecutePlan"] == working_days(case, 2) == datetime(2026, 3, 6, tzinfo=SHANGHAI)
    case.complete("Task_ExecutePlan", EXECUTED)
    expect(case, ("Task_GMResult", "general_manager"))
    case.complete("Task_GMResult", GM_RESULT)
    closes_with_feedback_visit_and_archive(case)


def test_problem_complaint_overdue_at_each_step_goes_to_the_gm_and_the_plan_counts_from_receipt(walk):
    case = walk("hq", "problem")
    received_due = working_days(case, 5)
    case.pass_time(timedelta(days=1))
    case.complete("Task_MeetParent", MEETING)
    case.pass_time(H24 - SECOND)
    expect(case, ("Task_HandlingOpinion", "office_director"))
    case.pass_time(2 * SECOND)
    expect(case, ("Task_HandlingOpinionEscalated", "general_manager"))
    case.complete("Task_HandlingOpinionEscalated", OPINION)
    expect(case, ("Task_ApproveOpinion", "general_manager"))
    case.complete("Task_ApproveOpinion", APPROVE)
    due = expect(case, ("Task_NegotiateFinal", "office_director"))
    # 5 working days from receipt (Monday), not from the start of the negotiation (Wednesday).
    assert due["Task_NegotiateFinal"] == received_due != working_days(case, 5)
    case.pass_time(received_due - case.now - SECOND)
    expect(case, ("Task_NegotiateFinal", "office_director"))
    case.pass_time(2 * SECOND)
    expect(case, ("Task_NegotiateEscalated", "general_manager"))
    case.complete("Task_NegotiateEscalated", AGREED)
    case.complete("Task_ApproveFinal", APPROVE)
    due = working_days(case, 2)
    assert expect(case, ("Task_ExecutePlan", "office_director"))["Task_ExecutePlan"] == due
    case.pass_time(due - case.now - SECOND)
    expect(case, ("Task_ExecutePlan", "office_director"))
    case.pass_time(2 * SECOND)
    expect(case, ("Task_ExecuteEscalated", "general_manager"))
    case.complete("Task_ExecuteEscalated", EXECUTED)
    expect(case, ("Task_GMResult", "general_manager"))
    case.complete("Task_GMResult", GM_RESULT)
    expect(case, ("Task_Feedback", "handler"))


def test_rejected_opinion_and_rejected_plan_go_back_opinion_with_a_fresh_24h_plan_on_the_same_deadline(walk):
    case = walk("hq", "problem")
    received_due = working_days(case, 5)
    case.complete("Task_MeetParent", MEETING)
    case.complete("Task_HandlingOpinion", OPINION)
    case.pass_time(timedelta(hours=4))
    case.complete("Task_ApproveOpinion", REJECT)
    due = expect(case, ("Task_HandlingOpinion", "office_director"))
    assert due["Task_HandlingOpinion"] == case.now + H24
    case.complete("Task_HandlingOpinion", {**OPINION, "compensation_amount": 200})
    case.complete("Task_ApproveOpinion", APPROVE)
    case.complete("Task_NegotiateFinal", AGREED)
    case.pass_time(timedelta(days=1))
    case.complete("Task_ApproveFinal", REJECT)
    due = expect(case, ("Task_NegotiateFinal", "office_director"))
    assert due["Task_NegotiateFinal"] == received_due
    case.complete("Task_NegotiateFinal", AGREED)
    case.complete("Task_ApproveFinal", APPROVE)
    expect(case, ("Task_ExecutePlan", "office_director"))


def test_failed_negotiation_turns_the_problem_complaint_into_a_malicious_one_for_legal(walk):
    case = walk("hq", "problem")
    case.complete("Task_MeetParent", MEETING)
    case.complete("Task_HandlingOpinion", OPINION)
    case.complete("Task_ApproveOpinion", APPROVE)
    case.complete("Task_NegotiateFinal", FAILED)
    expect(case, ("Task_JudgeMalicious", "legal"))


# ---------------------------------------------------------------- malicious (恶意)

def test_malicious_complaint_even_on_a_campus_goes_to_the_malicious_plan_and_ends_when_it_is_archived(walk):
    case = walk("campus", "malicious")
    expect(case, ("Task_JudgeMalicious", "legal"))
    case.complete("Task_JudgeMalicious", {"malicious": "yes", "malicious_type": "extortion",
                                          "judgement_basis": "以曝光相威胁索要全额退费", "media_involved": "no"})
    expect(case, ("Task_CollectEvidence", "legal"), ("Task_KeepContact", "intake"))
    case.complete("Task_KeepContact", {"interview_note": "已约谈，说明审批需要时间，保持联系"})
    case.complete("Task_CollectEvidence", {"evidence_summary": "录音与聊天记录", "handling_opinion": "保全证据"})
    expect(case, ("Task_DecideMeasures", "general_manager"))
    case.complete("Task_DecideMeasures", {"decision_note": "同意", "chosen_measures": ["preserve_evidence"]})
    expect(case, ("Task_FinalResolution", "office_director"), ("Task_PreserveEvidence", "legal"))
    case.complete("Task_PreserveEvidence", {"preservation_method": "notarization", "evidence_location": "公证处"})
    case.complete("Task_FinalResolution", {"home_visit_note": "已登门", "final_resolution": "按合同退费"})
    expect(case, ("Task_ReportResult", "office_director"))
    case.complete("Task_ReportResult", {"result_report": "已处理", "response_plan": "持续关注"})
    expect(case, ("Task_Summary", "leadership"))
    case.complete("Task_Summary", {"summary": "已妥善处理", "causes": "沟通不足", "improvements": "加强沟通",
                                   "plan_revision": "no"})
    expect(case, ("Task_Archive", "office_director"))
    case.complete("Task_Archive", {"archive_note": "归档"})
    assert case.ready() == [] and case.finished()



# ---------------------------------------------------------------- deadlines count from receipt

def test_final_plan_counts_5_working_days_from_receipt_when_the_complaint_is_logged_later(walk):
    # A parent's letter received on Friday 27 February, logged on Monday 2 March.
    case = walk(received_at="2026-02-27T16:00:00+08:00")
    case.complete("Task_MeetParent", MEETING)
    case.complete("Task_HandlingOpinion", OPINION)
    case.complete("Task_ApproveOpinion", APPROVE)
    due = expect(case, ("Task_NegotiateFinal", "office_director"))
    # 在接投诉的5个工作日内: the make-up working Saturday 28 February (调休上班) and 2 to 5 March count,
    # due when Thursday 5 March ends — not 5 working days from the Monday it was logged.
    assert due["Task_NegotiateFinal"] == datetime(2026, 3, 6, tzinfo=SHANGHAI)


def test_campus_investigation_missed_on_the_day_is_recorded_and_the_receipt_form_escalates_2_days_after_receipt(
        walk):
    case = walk(received_where="campus", complaint_type="suggestion", received_at="2026-03-01T20:00:00+08:00")
    case.complete("Task_CampusReception", RECEPTION_COORDINATE)
    # Received Sunday 1 March at 20:00: 本日内 ended at midnight, before it was logged; the 2 days run to Tuesday's end.
    due = expect(case, ("Task_ReceiptForm", "intake"))
    assert due["Task_ReceiptForm"] == datetime(2026, 3, 4, tzinfo=SHANGHAI)
    case.pass_time(datetime(2026, 3, 4, tzinfo=SHANGHAI) - case.now + SECOND)
    expect(case, ("Task_ReceiptFormEscalated", "dept_head"))


# ---------------------------------------------------------------- escalated steps: own deadline, next level

@pytest.mark.parametrize("escalated, gm_task, data", [
    ("Task_ReceiptFormEscalated", "Task_ReceiptFormGM", {**RECEIPT, **RECEIPT_PENALTY, "complexity": "simple"}),
    ("Task_CoordinateEscalated", "Task_CoordinateGM", {**COORDINATED, **COORDINATION_PENALTY}),
])
def test_campus_supervisor_missing_the_escalated_step_passes_it_to_the_general_manager(walk, escalated, gm_task, data):
    case = walk("campus", "problem")
    case.complete("Task_CampusReception", RECEPTION_COORDINATE)
    if escalated == "Task_CoordinateEscalated":
        case.complete("Task_ReceiptForm", {**RECEIPT, "complexity": "simple"})
    case.pass_time(timedelta(days=3))
    due = expect(case, (escalated, "dept_head"))[escalated]
    case.pass_time(due - case.now + SECOND)
    due = expect(case, (gm_task, "general_manager"))
    assert due[gm_task] == working_days(case, 1)
    case.pass_time(due[gm_task] - case.now + SECOND)
    expect(case, (gm_task, "general_manager"))  # the top of the ladder: the miss is recorded
    case.complete(gm_task, data)
    if escalated == "Task_ReceiptFormEscalated":
        expect(case, ("Task_Coordinate", "handler"))
    else:
        expect(case, ("Task_Feedback", "handler"))


def test_department_head_missing_the_escalated_report_passes_it_to_the_general_manager(walk):
    case = walk("hq", "suggestion")
    case.complete("Task_ForwardSuggestion", FORWARD)
    case.pass_time(working_days(case, 5) - case.now + SECOND)
    due = expect(case, ("Task_DeptReportEscalated", "dept_head"))["Task_DeptReportEscalated"]
    assert due == working_days(case, 1)
    case.pass_time(due - case.now + SECOND)
    due = expect(case, ("Task_DeptReportGM", "general_manager"))
    assert due["Task_DeptReportGM"] == working_days(case, 1)
    case.complete("Task_DeptReportGM", {**REPORT, "constructive": "no", "thanks_note": ""})
    expect(case, ("Task_AdminReview", "office_director"))


@pytest.mark.parametrize("escalated", ["Task_ForwardEscalated", "Task_HandlingOpinionEscalated"])
def test_general_manager_s_escalated_steps_have_1_working_day_and_a_recorded_miss(walk, escalated):
    case = walk("hq", "suggestion" if escalated == "Task_ForwardEscalated" else "problem")
    if escalated == "Task_HandlingOpinionEscalated":
        case.complete("Task_MeetParent", MEETING)
    case.pass_time(H24 + SECOND)
    due = expect(case, (escalated, "general_manager"))
    assert due[escalated] == working_days(case, 1)
    case.pass_time(due[escalated] - case.now + SECOND)
    expect(case, (escalated, "general_manager"))
