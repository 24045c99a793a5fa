"""medical_dispute: staged acceptance, answer deadlines, appraisal and court, security in parallel.

Each scenario runs twice: once in a single in-memory SpiffWorkflow object, once through
the database with the spec cache dropped before every step (as if each step ran in a
freshly started process). Both must give the same tasks, roles and due times.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from engine.calendar.working_days import WorkingCalendar
from engine.errors import FormInvalid
from engine.forms import validation as forms
from tests.conftest import SHANGHAI
from tests.processes.conftest import expect, walk_closure, working_days
from tests.support import ROOT

SECOND = timedelta(seconds=1)
CALENDAR = WorkingCalendar()
# A complex complaint received Monday 2 March 2026 09:00: 5 working days, due when Monday 9 March ends.
ANSWER_DUE = datetime(2026, 3, 10, tzinfo=SHANGHAI)




def calendar_days(case, n):
    return CALENDAR.add_calendar_days(case.now, n).due


REGISTRATION = {"complainant": "张女士", "patient_name": "张某", "contact": "13800000000", "department": "心内科",
                "channel": "visit", "content": "术后出现并发症，对医生的解释不满", "complexity": "complex",
                "complaint_kind": "dispute", "patient_safety": False, "disorder": False}
DEPT = {"findings": "诊疗符合规范", "explanation": "已向家属解释并发症风险", "dept_accepted": "yes", "disorder": False}
OFFICE = {"situation": "科室已说明诊疗经过", "dept_head_opinion": "同意减免", "handling_opinion": "减免部分费用",
          "office_accepted": "yes", "disorder": False}
VP_SUPERVISE = {"supervision_note": "医务科逾期，限期调查", "responsible_person": "王主任"}
INVESTIGATE = {"written_materials": "家属书面投诉材料", "investigation": "调阅病历、询问医护人员",
               "solution_plan": "补偿并改进术后随访"}
VP_REVIEW = {"vp_opinion": "同意方案，按此协商"}
NEGOTIATE = {"negotiation_note": "按方案协商", "negotiation_accepted": "yes", "disorder": False}
RECORDS = {"records_note": "病历、检查报告、医嘱单"}
APPRAISAL = {"representative": "医务科李某", "appraisal_type": "medical_accident",
             "appraisal_conclusion": "不构成医疗事故", "medical_accident": "no", "lawsuit": "no"}
COURT = {"court_representatives": "医务科李某、王律师", "court_result": "驳回诉讼请求"}
ADMIN = {"admin_opinion": "科室加强术后告知", "archive_note": "鉴定材料归档"}
SECURITY = {"security_measures": "保卫科到场制止，保护病历", "police_called": "yes", "evidence_preserved": "yes"}
FEEDBACK = {"feedback_note": "已告知处理结果", "feedback_channel": "phone"}


@pytest.fixture
def walk(walk):
    """Start a medical_dispute case (default: a complex complaint, no disorder)."""
    return lambda **changes: walk("medical_dispute", {**REGISTRATION, **changes})


def rejected(data: dict, key: str) -> dict:
    return {**data, key: "no"}


def close_through_feedback_return_visit_and_archive(case, *still_open):
    """The patient accepted: the shared closing steps run, then the case ends."""
    walk_closure(case, *still_open)


def reach_office(case):
    case.complete("Task_DeptExplain", rejected(DEPT, "dept_accepted"))
    expect(case, ("Task_OfficeNegotiate", "office_director"))


def reach_negotiation(case):
    reach_office(case)
    case.complete("Task_OfficeNegotiate", rejected(OFFICE, "office_accepted"))
    case.complete("Task_Investigate", INVESTIGATE)
    case.complete("Task_VPReview", VP_REVIEW)
    expect(case, ("Task_Negotiate", "handler"))


def conclude_appraisal(case, *still_open):
    expect(case, ("Task_AttendAppraisal", "legal"), *still_open)
    case.complete("Task_AttendAppraisal", APPRAISAL)
    due = expect(case, ("Task_AdminOpinion", "office_director"), *still_open)
    assert due["Task_AdminOpinion"] is None
    case.complete("Task_AdminOpinion", ADMIN)


# ---------------------------------------------------------------- staged acceptance

def test_patient_accepting_the_department_explanation_ends_with_feedback_return_visit_and_archive(walk):
    case = walk()
    due = expect(case, ("Task_DeptExplain", "dept_head"))
    # Complex complaint registered Monday 09:00: Tuesday to the next Monday count, due when it ends.
    assert due["Task_DeptExplain"] == working_days(case, 5) == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    case.complete("Task_DeptExplain", DEPT)
    close_through_feedback_return_visit_and_archive(case)
    assert case.ready() == [] and case.finished()


def test_multi_department_complaint_is_answered_within_10_working_days(walk):
    case = walk(complexity="multi_department")
    due = expect(case, ("Task_DeptExplain", "dept_head"))
    assert due["Task_DeptExplain"] == working_days(case, 10) == datetime(2026, 3, 17, tzinfo=SHANGHAI)
    case.complete("Task_DeptExplain", DEPT)
    expect(case, ("Task_Feedback", "handler"))


def test_rejected_explanation_goes_to_the_medical_affairs_office_on_the_same_clock_from_receipt(walk):
    case = walk(complexity="multi_department")
    case.pass_time(timedelta(days=1))
    case.complete("Task_DeptExplain", rejected(DEPT, "dept_accepted"))
    due = expect(case, ("Task_OfficeNegotiate", "office_director"))
    # 10 working days from Monday 2 March, not from the office's Tuesday: due when Monday 16 March ends.
    assert due["Task_OfficeNegotiate"] == datetime(2026, 3, 17, tzinfo=SHANGHAI)
    case.complete("Task_OfficeNegotiate", OFFICE)
    close_through_feedback_return_visit_and_archive(case)
    assert case.finished()


def test_rejected_office_handling_goes_to_written_investigation_plan_for_the_vice_president_and_negotiation(walk):
    case = walk()
    reach_office(case)
    case.complete("Task_OfficeNegotiate", rejected(OFFICE, "office_accepted"))
    due = expect(case, ("Task_Investigate", "handler"))
    # Every answering level works to the clock started at receipt (Monday 2 March): due when 9 March ends.
    assert due["Task_Investigate"] == ANSWER_DUE
    case.pass_time(timedelta(days=2))
    case.complete("Task_Investigate", INVESTIGATE)
    due = expect(case, ("Task_VPReview", "general_manager"))
    assert due["Task_VPReview"] == ANSWER_DUE
    case.complete("Task_VPReview", VP_REVIEW)
    due = expect(case, ("Task_Negotiate", "handler"))
    assert due["Task_Negotiate"] == ANSWER_DUE
    case.complete("Task_Negotiate", NEGOTIATE)
    close_through_feedback_return_visit_and_archive(case)
    assert case.finished()


def test_rejected_negotiation_leads_to_medical_appraisal_with_records_ready_within_one_week(walk):
    case = walk()
    reach_negotiation(case)
    case.complete("Task_Negotiate", rejected(NEGOTIATE, "negotiation_accepted"))
    due = expect(case, ("Task_PrepareRecords", "dept_head"))
    # One week in natural days, the day it starts not counted: due when Monday 9 March ends.
    assert due["Task_PrepareRecords"] == calendar_days(case, 7) == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    case.complete("Task_PrepareRecords", RECORDS)
    conclude_appraisal(case)
    assert case.ready() == [] and case.finished()


def test_lawsuit_after_the_appraisal_is_defended_by_the_designated_person_and_lawyer(walk):
    case = walk()
    reach_negotiation(case)
    case.complete("Task_Negotiate", rejected(NEGOTIATE, "negotiation_accepted"))
    case.complete("Task_PrepareRecords", RECORDS)
    case.complete("Task_AttendAppraisal", {**APPRAISAL, "lawsuit": "yes"})
    due = expect(case, ("Task_Court", "legal"))
    assert due["Task_Court"] is None
    case.complete("Task_Court", COURT)
    expect(case, ("Task_AdminOpinion", "office_director"))
    case.complete("Task_AdminOpinion", ADMIN)
    assert case.finished()


# ---------------------------------------------------------------- deadlines

@pytest.mark.parametrize("complexity, days, due_at", [
    ("complex", 5, datetime(2026, 3, 10, tzinfo=SHANGHAI)),
    ("multi_department", 10, datetime(2026, 3, 17, tzinfo=SHANGHAI)),
])
def test_department_missing_the_answer_deadline_escalates_to_the_medical_affairs_office(walk, complexity, days,
                                                                                        due_at):
    case = walk(complexity=complexity)
    assert working_days(case, days) == due_at
    case.pass_time(due_at - case.now - SECOND)
    expect(case, ("Task_DeptExplain", "dept_head"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_OfficeNegotiate", "office_director"))
    # The clock has run out: the office gets a deadline of its own, 2 working days (organisation default).
    assert due["Task_OfficeNegotiate"] == working_days(case, 2)
    case.complete("Task_OfficeNegotiate", OFFICE)
    close_through_feedback_return_visit_and_archive(case)
    assert case.finished()


def test_office_missing_the_answer_deadline_is_reported_to_the_vice_president_then_investigated(walk):
    case = walk()
    reach_office(case)
    due = working_days(case, 5)
    case.pass_time(due - case.now - SECOND)
    expect(case, ("Task_OfficeNegotiate", "office_director"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_VPSupervise", "general_manager"))
    # Escalated as Tuesday 10 March begins: Wednesday counts, due when it ends.
    assert due["Task_VPSupervise"] == working_days(case, 1) == datetime(2026, 3, 12, tzinfo=SHANGHAI)
    case.complete("Task_VPSupervise", VP_SUPERVISE)
    due = expect(case, ("Task_Investigate", "handler"))
    assert due["Task_Investigate"] == working_days(case, 2) == datetime(2026, 3, 13, tzinfo=SHANGHAI)
    case.complete("Task_Investigate", INVESTIGATE)
    case.complete("Task_VPReview", VP_REVIEW)
    case.complete("Task_Negotiate", NEGOTIATE)
    close_through_feedback_return_visit_and_archive(case)
    assert case.finished()


def test_records_not_ready_within_one_week_escalate_to_the_medical_affairs_office(walk):
    case = walk()
    reach_negotiation(case)
    case.complete("Task_Negotiate", rejected(NEGOTIATE, "negotiation_accepted"))
    due = calendar_days(case, 7)
    case.pass_time(due - case.now - SECOND)
    expect(case, ("Task_PrepareRecords", "dept_head"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_RecordsEscalated", "office_director"))
    assert due["Task_RecordsEscalated"] == working_days(case, 2)
    case.complete("Task_RecordsEscalated", RECORDS)
    conclude_appraisal(case)
    assert case.finished()


# ---------------------------------------------------------------- disorder: security in parallel

def test_disorder_at_registration_alerts_security_in_parallel_and_the_case_waits_for_it(walk):
    case = walk(disorder=True)
    due = expect(case, ("Task_DeptExplain", "dept_head"), ("Task_SecurityResponse", "security"))
    assert due["Task_SecurityResponse"] is None
    case.complete("Task_DeptExplain", DEPT)
    close_through_feedback_return_visit_and_archive(case, ("Task_SecurityResponse", "security"))
    expect(case, ("Task_SecurityResponse", "security"))
    assert not case.finished()
    case.complete("Task_SecurityResponse", SECURITY)
    assert case.ready() == [] and case.finished()


@pytest.mark.parametrize("stage", ["department", "office", "negotiation"])
def test_disorder_raised_at_any_stage_alerts_security_while_the_dispute_goes_on(walk, stage):
    case = walk()
    if stage == "department":
        case.complete("Task_DeptExplain", {**rejected(DEPT, "dept_accepted"), "disorder": True})
        expect(case, ("Task_OfficeNegotiate", "office_director"), ("Task_SecurityResponse", "security"))
        case.complete("Task_SecurityResponse", SECURITY)
        case.complete("Task_OfficeNegotiate", OFFICE)
        close_through_feedback_return_visit_and_archive(case)
    elif stage == "office":
        reach_office(case)
        case.complete("Task_OfficeNegotiate", {**rejected(OFFICE, "office_accepted"), "disorder": True})
        expect(case, ("Task_Investigate", "handler"), ("Task_SecurityResponse", "security"))
        case.complete("Task_SecurityResponse", SECURITY)
        case.complete("Task_Investigate", INVESTIGATE)
        case.complete("Task_VPReview", VP_REVIEW)
        case.complete("Task_Negotiate", NEGOTIATE)
        close_through_feedback_return_visit_and_archive(case)
    else:
        reach_negotiation(case)
        case.complete("Task_Negotiate", {**rejected(NEGOTIATE, "negotiation_accepted"), "disorder": True})
        expect(case, ("Task_PrepareRecords", "dept_head"), ("Task_SecurityResponse", "security"))
        case.complete("Task_SecurityResponse", SECURITY)
        case.complete("Task_PrepareRecords", RECORDS)
        conclude_appraisal(case)
    assert case.ready() == [] and case.finished()


def test_a_second_disorder_raises_a_second_security_response_even_when_the_patient_accepts(walk):
    case = walk(disorder=True)
    case.complete("Task_SecurityResponse", SECURITY)
    expect(case, ("Task_DeptExplain", "dept_head"))
    case.complete("Task_DeptExplain", {**DEPT, "disorder": True})
    close_through_feedback_return_visit_and_archive(case, ("Task_SecurityResponse", "security"))
    assert not case.finished()
    case.complete("Task_SecurityResponse", SECURITY)
    assert case.ready() == [] and case.finished()


# ---------------------------------------------------------------- the case clock at the later levels

def reach_investigation(case):
    reach_office(case)
    case.complete("Task_OfficeNegotiate", rejected(OFFICE, "office_accepted"))
    expect(case, ("Task_Investigate", "handler"))


@pytest.mark.parametrize("step, before", [
    ("Task_Investigate", []),
    ("Task_Negotiate", [("Task_Investigate", INVESTIGATE), ("Task_VPReview", VP_REVIEW)]),
])
def test_investigation_or_negotiation_past_the_clock_is_supervised_by_the_vice_president_then_resumed(walk, step,
                                                                                                    before):
    case = walk()
    reach_investigation(case)
    for element, data in before:
        case.complete(element, data)
    case.pass_time(ANSWER_DUE - case.now - SECOND)
    expect(case, (step, "handler"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_VPSupervise", "general_manager"))
    assert due["Task_VPSupervise"] == working_days(case, 1) == datetime(2026, 3, 12, tzinfo=SHANGHAI)
    case.complete("Task_VPSupervise", VP_SUPERVISE)
    due = expect(case, (step, "handler"))
    # Back to the same step with a deadline of its own: 2 working days (organisation default).
    assert due[step] == working_days(case, 2) == datetime(2026, 3, 13, tzinfo=SHANGHAI)


def test_vice_president_review_past_the_clock_goes_to_the_hospital_leadership_then_negotiation(walk):
    case = walk()
    reach_investigation(case)
    case.complete("Task_Investigate", INVESTIGATE)
    case.pass_time(ANSWER_DUE - case.now + SECOND)
    due = expect(case, ("Task_LeadershipSupervise", "leadership"))
    assert due["Task_LeadershipSupervise"] == working_days(case, 1) == datetime(2026, 3, 12, tzinfo=SHANGHAI)
    case.complete("Task_LeadershipSupervise", VP_SUPERVISE)
    due = expect(case, ("Task_Negotiate", "handler"))
    assert due["Task_Negotiate"] == working_days(case, 2)
    case.complete("Task_Negotiate", NEGOTIATE)
    close_through_feedback_return_visit_and_archive(case)
    assert case.finished()


def test_vice_president_missing_the_supervision_passes_it_to_the_leadership_whose_miss_is_recorded(walk):
    case = walk()
    reach_investigation(case)
    case.pass_time(ANSWER_DUE - case.now + SECOND)
    vp_due = expect(case, ("Task_VPSupervise", "general_manager"))["Task_VPSupervise"]
    case.pass_time(vp_due - case.now + SECOND)
    due = expect(case, ("Task_LeadershipSupervise", "leadership"))
    # Escalated as Thursday 12 March begins: Friday counts.
    assert due["Task_LeadershipSupervise"] == working_days(case, 1) == datetime(2026, 3, 14, tzinfo=SHANGHAI)
    case.pass_time(due["Task_LeadershipSupervise"] - case.now + SECOND)
    # The top of the ladder: the fired timer records the miss and the task stays with the leadership.
    expect(case, ("Task_LeadershipSupervise", "leadership"))
    case.complete("Task_LeadershipSupervise", VP_SUPERVISE)
    expect(case, ("Task_Investigate", "handler"))


def test_escalated_records_go_to_the_vice_president_after_2_working_days(walk):
    case = walk()
    reach_negotiation(case)
    case.complete("Task_Negotiate", rejected(NEGOTIATE, "negotiation_accepted"))
    case.pass_time(calendar_days(case, 7) - case.now + SECOND)
    due = expect(case, ("Task_RecordsEscalated", "office_director"))["Task_RecordsEscalated"]
    case.pass_time(due - case.now + SECOND)
    due = expect(case, ("Task_RecordsVP", "general_manager"))
    assert due["Task_RecordsVP"] == working_days(case, 2)
    case.complete("Task_RecordsVP", RECORDS)
    conclude_appraisal(case)
    assert case.finished()


# ---------------------------------------------------------------- fee complaints (收费、价格: 当场核查, 立即纠正)

FEE_REFUNDED = {"charge_finding": "overcharged", "check_note": "重复收取检查费", "refund_amount": 120,
                "apologised": True, "fee_accepted": "yes"}


def test_overcharge_is_refunded_on_the_day_of_receipt_and_the_case_closes(walk):
    case = walk(complaint_kind="fee", content="检查费重复收取")
    due = expect(case, ("Task_FeeCheck", "intake"))
    # 立即纠正: by the end of the day the complaint was received (organisation default).
    assert due["Task_FeeCheck"] == datetime(2026, 3, 3, tzinfo=SHANGHAI)
    case.complete("Task_FeeCheck", FEE_REFUNDED)
    close_through_feedback_return_visit_and_archive(case)
    assert case.finished()


def test_fee_explanation_not_accepted_goes_to_the_department_on_the_clock_from_receipt(walk):
    case = walk(complaint_kind="fee")
    case.pass_time(timedelta(hours=3))
    case.complete("Task_FeeCheck", {"charge_finding": "correct", "check_note": "按物价标准收费，已解释依据",
                                    "fee_accepted": "no"})
    due = expect(case, ("Task_DeptExplain", "dept_head"))
    assert due["Task_DeptExplain"] == ANSWER_DUE


def test_fee_not_checked_on_the_day_goes_to_the_office_whose_miss_is_recorded(walk):
    case = walk(complaint_kind="fee")
    case.pass_time(datetime(2026, 3, 3, tzinfo=SHANGHAI) - case.now + SECOND)
    due = expect(case, ("Task_FeeEscalated", "office_director"))
    assert due["Task_FeeEscalated"] == working_days(case, 1) == datetime(2026, 3, 5, tzinfo=SHANGHAI)
    case.pass_time(due["Task_FeeEscalated"] - case.now + SECOND)
    expect(case, ("Task_FeeEscalated", "office_director"))
    case.complete("Task_FeeEscalated", FEE_REFUNDED)
    expect(case, ("Task_Feedback", "handler"))


def test_refund_amount_is_required_only_for_an_overcharge():
    schema = json.loads((ROOT / "forms" / "md_fee_check.form").read_text(encoding="utf-8"))
    with pytest.raises(FormInvalid) as refused:
        forms.validate_submission(schema, {**FEE_REFUNDED, "refund_amount": None})
    assert set(refused.value.errors) == {"refund_amount"}
    correct = {"charge_finding": "correct", "check_note": "收费正确", "fee_accepted": "yes", "refund_amount": 50}
    assert "refund_amount" not in forms.validate_submission(schema, correct)


# ---------------------------------------------------------------- patient safety and the reporting duty

SAFETY = {"safety_measures": "立即复查并调整治疗方案", "patient_condition": "生命体征平稳", "major_negligence": "no"}
NEGLIGENCE_REPORT = {"report_to": "区卫生健康委员会", "report_summary": "术后用药错误，已报告"}


def test_risk_to_the_patient_opens_immediate_measures_within_2_hours_beside_the_dispute(walk):
    case = walk(patient_safety=True)
    due = expect(case, ("Task_DeptExplain", "dept_head"), ("Task_SafetyMeasures", "dept_head"))
    assert due["Task_SafetyMeasures"] == datetime(2026, 3, 2, 11, 0, tzinfo=SHANGHAI)
    assert due["Task_DeptExplain"] == ANSWER_DUE
    case.complete("Task_SafetyMeasures", SAFETY)
    expect(case, ("Task_DeptExplain", "dept_head"))
    case.complete("Task_DeptExplain", DEPT)
    close_through_feedback_return_visit_and_archive(case)
    assert case.finished()


def test_measures_not_taken_in_2_hours_go_to_the_medical_affairs_office(walk):
    case = walk(patient_safety=True)
    case.pass_time(timedelta(hours=2, seconds=1))
    due = expect(case, ("Task_DeptExplain", "dept_head"), ("Task_SafetyEscalated", "office_director"))
    assert due["Task_SafetyEscalated"] == datetime(2026, 3, 2, 13, 0, 1, tzinfo=SHANGHAI)
    case.pass_time(timedelta(hours=2))
    expect(case, ("Task_DeptExplain", "dept_head"), ("Task_SafetyEscalated", "office_director"))
    case.complete("Task_SafetyEscalated", SAFETY)
    expect(case, ("Task_DeptExplain", "dept_head"))


def test_suspected_major_negligence_is_reported_within_12_hours_or_passes_to_the_vice_president(walk):
    case = walk(patient_safety=True)
    case.complete("Task_SafetyMeasures", {**SAFETY, "major_negligence": "yes"})
    due = expect(case, ("Task_DeptExplain", "dept_head"), ("Task_ReportNegligence", "office_director"))
    assert due["Task_ReportNegligence"] == datetime(2026, 3, 2, 21, 0, tzinfo=SHANGHAI)
    case.pass_time(timedelta(hours=12, seconds=1))
    due = expect(case, ("Task_DeptExplain", "dept_head"), ("Task_ReportEscalated", "general_manager"))
    assert due["Task_ReportEscalated"] == datetime(2026, 3, 3, 9, 0, 1, tzinfo=SHANGHAI)
    case.complete("Task_ReportEscalated", NEGLIGENCE_REPORT)
    case.complete("Task_DeptExplain", DEPT)
    close_through_feedback_return_visit_and_archive(case)
    assert case.finished()


def test_an_appraisal_finding_a_medical_accident_is_reported_beside_the_administrative_opinion(walk):
    case = walk()
    reach_negotiation(case)
    case.complete("Task_Negotiate", rejected(NEGOTIATE, "negotiation_accepted"))
    case.complete("Task_PrepareRecords", RECORDS)
    case.complete("Task_AttendAppraisal", {**APPRAISAL, "appraisal_conclusion": "构成三级医疗事故",
                                           "medical_accident": "yes"})
    due = expect(case, ("Task_AdminOpinion", "office_director"), ("Task_ReportNegligence", "office_director"))
    assert due["Task_ReportNegligence"] == case.now + timedelta(hours=12)
    case.complete("Task_ReportNegligence", NEGLIGENCE_REPORT)
    case.complete("Task_AdminOpinion", ADMIN)
    assert case.ready() == [] and case.finished()
