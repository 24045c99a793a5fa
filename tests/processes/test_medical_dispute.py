"""medical_dispute: staged acceptance, answer deadlines, appraisal and court, security in parallel.

Each scenario runs twice: once in a single in-memory SpiffWorkflow object, once through
the database with the spec cache dropped before every step (as if each step ran in a
freshly started process). Both must give the same tasks, roles and due times.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.calendar import WorkingCalendar
from tests.conftest import SHANGHAI
from tests.processes.conftest import expect, walk_closure, working_days

SECOND = timedelta(seconds=1)
CALENDAR = WorkingCalendar()




def calendar_days(case, n):
    return CALENDAR.add_calendar_days(case.now, n).due


REGISTRATION = {"complainant": "张女士", "patient_name": "张某", "contact": "13800000000", "department": "心内科",
                "channel": "visit", "content": "术后出现并发症，对医生的解释不满", "complexity": "complex",
                "disorder": False}
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
             "appraisal_conclusion": "不构成医疗事故", "lawsuit": "no"}
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


def test_rejected_explanation_goes_to_medical_affairs_office_with_a_fresh_answer_deadline(walk):
    case = walk(complexity="multi_department")
    case.pass_time(timedelta(days=1))
    case.complete("Task_DeptExplain", rejected(DEPT, "dept_accepted"))
    due = expect(case, ("Task_OfficeNegotiate", "office_director"))
    assert due["Task_OfficeNegotiate"] == working_days(case, 10) == datetime(2026, 3, 18, tzinfo=SHANGHAI)
    case.complete("Task_OfficeNegotiate", OFFICE)
    close_through_feedback_return_visit_and_archive(case)
    assert case.finished()


def test_rejected_office_handling_goes_to_written_investigation_plan_for_the_vice_president_and_negotiation(walk):
    case = walk()
    reach_office(case)
    case.complete("Task_OfficeNegotiate", rejected(OFFICE, "office_accepted"))
    due = expect(case, ("Task_Investigate", "handler"))
    assert due["Task_Investigate"] is None
    case.complete("Task_Investigate", INVESTIGATE)
    expect(case, ("Task_VPReview", "general_manager"))
    case.complete("Task_VPReview", VP_REVIEW)
    expect(case, ("Task_Negotiate", "handler"))
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
    assert due["Task_OfficeNegotiate"] == working_days(case, days)
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
    expect(case, ("Task_OfficeOverdueVP", "general_manager"))
    case.complete("Task_OfficeOverdueVP", VP_SUPERVISE)
    expect(case, ("Task_Investigate", "handler"))
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
    expect(case, ("Task_RecordsEscalated", "office_director"))
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
