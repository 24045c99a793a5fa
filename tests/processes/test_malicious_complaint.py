"""malicious_complaint: every path and escalation, straight through and persisted with reloads.

A complaint judged not malicious is handed over to general_complaint inside the same case
(call activity Call_GeneralComplaint); these tests follow it into that plan only as far as
its first task, except one that walks it to its end.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from engine.calendar.working_days import WorkingCalendar
from engine.errors import FormInvalid
from engine.forms import validation as forms
from tests.conftest import SHANGHAI
from tests.processes.conftest import expect, walk_closure, working_days
from tests.support import ROOT, Desk

H24 = timedelta(hours=24)
SECOND = timedelta(seconds=1)
CALENDAR = WorkingCalendar()




# Received when the case opens (the `now` fixture): Monday 2 March 2026, 09:00.
RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
REGISTRATION = {"complainant": "李先生", "contact": "13900000000", "channel": "phone", "category": "product_quality",
                "content": "称产品致其受伤，要求赔偿十万元，否则向媒体曝光", "claimed_amount": 100000,
                "malice_signs": "索要高额赔偿并以曝光相威胁", "received_at": RECEIVED.isoformat()}
NOT_MALICIOUS = {"malicious": "no", "judgement_basis": "诉求有据，属正常投诉", "media_involved": "no"}
KEEP_CONTACT = {"interview_note": "已约谈，说明核实需要时间，保持联系", "complainant_demands": "赔偿十万元"}
OPINION = {"evidence_summary": "监控与购买记录显示伤情与产品无关", "handling_opinion": "认定为借机敲诈，建议警告并保全证据",
           "proposed_measures": ["warning", "preserve_evidence"]}
RESOLUTION = {"home_visit_note": "已登门说明情况", "final_resolution": "不予赔偿，保留追究权利"}
REPORT = {"result_report": "投诉人已停止索赔", "response_plan": "持续关注投诉人动态"}
SUMMARY = {"summary": "恶意投诉已妥善处理", "causes": "售后记录不完整", "improvements": "完善售后记录", "plan_revision": "no"}
ARCHIVE = {"archive_note": "归档"}
MEDIA_STATEMENT = {"statement": "公司已核实情况并依法处理"}

# measure code -> the task that carries it out, its lane, and what that lane records
MEASURES = {
    "warning": ("Task_Warning", "legal", {"warning_method": "lawyer_letter", "warning_note": "已发律师函"}),
    "preserve_evidence": ("Task_PreserveEvidence", "legal",
                          {"preservation_method": "notarization", "evidence_location": "公证处存档"}),
    "report_authorities": ("Task_ReportAuthorities", "security",
                           {"authority": "police", "authority_report_note": "已向派出所报案"}),
    "legal_action": ("Task_LegalAction", "legal", {"legal_action_type": "lawsuit", "legal_action_note": "已立案"}),
}


def plan_files(plan_key):
    """The plan's BPMN with the processes it calls, and the decision tables and forms these name."""
    processes, decisions, forms, todo, seen = [], set(), set(), [plan_key], set()
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        path = ROOT / "processes" / f"{key}.bpmn"
        xml = path.read_text(encoding="utf-8")
        processes.append(path)
        todo += re.findall(r'calledElement="([^"]+)"', xml)
        decisions.update(re.findall(r'camunda:decisionRef="([^"]+)"', xml))
        forms.update(re.findall(r'camunda:formKey="([^"]+)"', xml))
    tables = [p for p in sorted((ROOT / "processes").glob("*.dmn"))
              if any(f'id="{d}"' in p.read_text(encoding="utf-8") for d in decisions)]
    return processes + tables + [ROOT / "forms" / f"{key}.form" for key in sorted(forms)]


@pytest.fixture
def desk(session_factory, now):
    """Deploys only this plan and what it calls: quicker, and unaffected by other plans half-written."""
    return Desk.open(session_factory, now, plan_files("malicious_complaint"))


def judged_malicious(media_involved="no"):
    return {"malicious": "yes", "malicious_type": "extortion", "judgement_basis": "以曝光相威胁索要高额赔偿",
            "media_involved": media_involved}


def decision(*measures):
    return {"decision_note": "同意法律顾问意见", "chosen_measures": list(measures)}


@pytest.fixture
def walk(walk):
    """Start a malicious_complaint case with the registration above (or with `changes`)."""
    return lambda **changes: walk("malicious_complaint", {**REGISTRATION, **changes})


def up_to_decision(case, media_involved="no"):
    """Judge malicious and give the legal opinion in time; the general manager's decision is open."""
    case.complete("Task_JudgeMalicious", judged_malicious(media_involved))
    case.complete("Task_CollectEvidence", OPINION)


def report_review_archive(case):
    """From the open report to the end: the malicious branch ends with review and archive, no feedback."""
    case.complete("Task_ReportResult", REPORT)
    expect(case, ("Task_Summary", "leadership"))
    case.complete("Task_Summary", SUMMARY)
    expect(case, ("Task_Archive", "office_director"))
    case.complete("Task_Archive", ARCHIVE)
    assert case.ready() == [] and case.finished()


def test_complaint_judged_not_malicious_is_handed_over_to_general_complaint_intake_in_the_same_case(walk):
    case = walk()
    due = expect(case, ("Task_JudgeMalicious", "legal"))
    assert due["Task_JudgeMalicious"] is None
    case.complete("Task_JudgeMalicious", NOT_MALICIOUS)
    due = expect(case, ("Task_FirstContact", "intake"))
    assert due["Task_FirstContact"] == case.now + H24


def test_handed_over_complaint_runs_general_complaint_to_its_end_and_closes_the_case(walk):
    case = walk()
    case.complete("Task_JudgeMalicious", NOT_MALICIOUS)
    case.complete("Task_FirstContact", {"contact_note": "已电话联系", "grade": "general"})
    expect(case, ("Task_VerifyNegotiate", "handler"))
    case.complete("Task_VerifyNegotiate", {"findings": "属实", "resolution": "更换产品", "compensation_amount": 0})
    walk_closure(case)
    assert case.ready() == [] and case.finished()


def test_malicious_complaint_goes_to_general_manager_with_legal_opinion_within_24h(walk):
    case = walk()
    case.complete("Task_JudgeMalicious", judged_malicious())
    due = expect(case, ("Task_CollectEvidence", "legal"), ("Task_KeepContact", "intake"))
    assert due["Task_CollectEvidence"] == case.now + H24
    assert due["Task_KeepContact"] is None
    case.pass_time(H24 - timedelta(minutes=1))
    expect(case, ("Task_CollectEvidence", "legal"), ("Task_KeepContact", "intake"))
    case.complete("Task_CollectEvidence", OPINION)
    due = expect(case, ("Task_DecideMeasures", "general_manager"), ("Task_KeepContact", "intake"))
    assert due["Task_DecideMeasures"] is None


def test_missed_24h_legal_opinion_is_escalated_to_the_office_director(walk):
    case = walk()
    case.complete("Task_JudgeMalicious", judged_malicious())
    case.pass_time(H24 - SECOND)
    expect(case, ("Task_CollectEvidence", "legal"), ("Task_KeepContact", "intake"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_KeepContact", "intake"), ("Task_OpinionEscalated", "office_director"))
    assert due["Task_OpinionEscalated"] == working_days(case, 1)
    case.complete("Task_OpinionEscalated", OPINION)
    expect(case, ("Task_DecideMeasures", "general_manager"), ("Task_KeepContact", "intake"))


def test_every_measure_the_general_manager_chooses_is_a_task_and_the_review_waits_for_all_of_them(walk):
    case = walk()
    up_to_decision(case)
    case.complete("Task_DecideMeasures", decision(*MEASURES))
    measure_tasks = [(task, role) for task, role, _ in MEASURES.values()]
    expect(case, ("Task_FinalResolution", "office_director"), ("Task_KeepContact", "intake"), *measure_tasks)
    for task, _, data in list(MEASURES.values())[:3]:
        case.complete(task, data)
    case.complete("Task_FinalResolution", RESOLUTION)
    expect(case, ("Task_KeepContact", "intake"), ("Task_LegalAction", "legal"), ("Task_ReportResult", "office_director"))
    case.complete("Task_ReportResult", REPORT)
    case.complete("Task_KeepContact", KEEP_CONTACT)
    expect(case, ("Task_LegalAction", "legal"))
    case.complete("Task_LegalAction", MEASURES["legal_action"][2])
    expect(case, ("Task_Summary", "leadership"))
    case.complete("Task_Summary", SUMMARY)
    case.complete("Task_Archive", ARCHIVE)
    assert case.ready() == [] and case.finished()


def test_final_resolution_is_due_in_5_working_days_then_escalates_to_the_general_manager(walk):
    case = walk()
    up_to_decision(case)
    case.complete("Task_KeepContact", KEEP_CONTACT)
    case.complete("Task_DecideMeasures", decision("warning"))
    due = expect(case, ("Task_FinalResolution", "office_director"), ("Task_Warning", "legal"))
    # Monday 09:00: Tuesday to Friday and the next Monday count; due when that Monday ends.
    assert due["Task_FinalResolution"] == working_days(case, 5) == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    assert due["Task_Warning"] is None
    case.pass_time(due["Task_FinalResolution"] - case.now - SECOND)
    expect(case, ("Task_FinalResolution", "office_director"), ("Task_Warning", "legal"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_ResolutionEscalated", "general_manager"), ("Task_Warning", "legal"))
    assert due["Task_ResolutionEscalated"] == working_days(case, 2)
    case.complete("Task_ResolutionEscalated", RESOLUTION)
    expect(case, ("Task_ReportResult", "office_director"), ("Task_Warning", "legal"))
    case.complete("Task_Warning", MEASURES["warning"][2])
    report_review_archive(case)


def test_report_is_due_2_working_days_after_the_resolution_then_escalates_to_the_general_manager(walk):
    case = walk()
    up_to_decision(case)
    case.complete("Task_KeepContact", KEEP_CONTACT)
    case.complete("Task_DecideMeasures", decision("preserve_evidence"))
    expect(case, ("Task_FinalResolution", "office_director"), ("Task_PreserveEvidence", "legal"))
    case.complete("Task_PreserveEvidence", MEASURES["preserve_evidence"][2])
    case.complete("Task_FinalResolution", RESOLUTION)
    due = expect(case, ("Task_ReportResult", "office_director"))
    assert due["Task_ReportResult"] == working_days(case, 2) == datetime(2026, 3, 5, tzinfo=SHANGHAI)
    case.pass_time(due["Task_ReportResult"] - case.now - SECOND)
    expect(case, ("Task_ReportResult", "office_director"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_ReportEscalated", "general_manager"))
    assert due["Task_ReportEscalated"] == working_days(case, 2)
    case.complete("Task_ReportEscalated", REPORT)
    expect(case, ("Task_Summary", "leadership"))
    case.complete("Task_Summary", SUMMARY)
    case.complete("Task_Archive", ARCHIVE)
    assert case.finished()


def test_media_or_government_involvement_opens_a_pr_branch_that_the_review_waits_for(walk):
    case = walk()
    case.complete("Task_JudgeMalicious", judged_malicious(media_involved="yes"))
    due = expect(case, ("Task_CollectEvidence", "legal"), ("Task_KeepContact", "intake"), ("Task_MediaVisit", "pr"))
    assert due["Task_MediaVisit"] is None
    case.complete("Task_MediaVisit", {"media_party": "media", "media_visit_note": "已拜访记者说明原委",
                                      "media_outcome": "understood"})
    expect(case, ("Task_CollectEvidence", "legal"), ("Task_KeepContact", "intake"), ("Task_PublicStatement", "pr"))
    case.complete("Task_CollectEvidence", OPINION)
    case.complete("Task_KeepContact", KEEP_CONTACT)
    case.complete("Task_DecideMeasures", decision("report_authorities"))
    expect(case, ("Task_FinalResolution", "office_director"), ("Task_PublicStatement", "pr"),
           ("Task_ReportAuthorities", "security"))
    case.complete("Task_ReportAuthorities", MEASURES["report_authorities"][2])
    case.complete("Task_FinalResolution", RESOLUTION)
    case.complete("Task_ReportResult", REPORT)
    expect(case, ("Task_PublicStatement", "pr"))
    case.complete("Task_PublicStatement", MEDIA_STATEMENT)
    expect(case, ("Task_Summary", "leadership"))
    case.complete("Task_Summary", SUMMARY)
    case.complete("Task_Archive", ARCHIVE)
    assert case.ready() == [] and case.finished()


@pytest.mark.parametrize("outcome", ["failed", "published"])
def test_failed_media_talks_or_a_negative_report_bring_in_the_company_leadership(walk, outcome):
    case = walk()
    case.complete("Task_JudgeMalicious", judged_malicious(media_involved="yes"))
    case.complete("Task_MediaVisit", {"media_party": "government", "media_visit_note": "已拜访",
                                      "media_outcome": outcome})
    expect(case, ("Task_CollectEvidence", "legal"), ("Task_KeepContact", "intake"),
           ("Task_LeadershipContact", "leadership"))
    case.complete("Task_LeadershipContact", {"leadership_contact_note": "已联系主管领导说明情况"})
    expect(case, ("Task_CollectEvidence", "legal"), ("Task_KeepContact", "intake"), ("Task_PublicStatement", "pr"))
    case.complete("Task_PublicStatement", MEDIA_STATEMENT)
    case.complete("Task_CollectEvidence", OPINION)
    case.complete("Task_KeepContact", KEEP_CONTACT)
    case.complete("Task_DecideMeasures", decision("warning"))
    case.complete("Task_Warning", MEASURES["warning"][2])
    case.complete("Task_FinalResolution", RESOLUTION)
    expect(case, ("Task_ReportResult", "office_director"))
    report_review_archive(case)


MAY_DAY_EVE = datetime(2026, 4, 30, 9, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize("now", [MAY_DAY_EVE])
def test_working_day_deadlines_follow_the_official_calendar_over_the_may_day_holiday(walk):
    # Received on Thursday 30 April 2026: 1-5 May are off, Saturday 9 May is a make-up working day (调休上班).
    case = walk(received_at=MAY_DAY_EVE.isoformat())
    expect(case, ("Task_JudgeMalicious", "legal"))
    up_to_decision(case)
    case.complete("Task_KeepContact", KEEP_CONTACT)
    case.complete("Task_DecideMeasures", decision("legal_action"))
    due = expect(case, ("Task_FinalResolution", "office_director"), ("Task_LegalAction", "legal"))
    # 6, 7, 8, 9 (Saturday, worked) and 11 May: due when Monday 11 May ends.
    assert due["Task_FinalResolution"] == working_days(case, 5) == datetime(2026, 5, 12, tzinfo=SHANGHAI)
    case.complete("Task_LegalAction", MEASURES["legal_action"][2])
    case.complete("Task_FinalResolution", RESOLUTION)
    due = expect(case, ("Task_ReportResult", "office_director"))
    # 6 and 7 May: due when Thursday 7 May ends.
    assert due["Task_ReportResult"] == working_days(case, 2) == datetime(2026, 5, 8, tzinfo=SHANGHAI)
    report_review_archive(case)


# ---------------------------------------------------------------- deadlines count from receipt

def test_legal_opinion_is_due_24h_after_receipt_not_after_the_judgement(walk):
    case = walk()
    case.pass_time(timedelta(hours=4))
    case.complete("Task_JudgeMalicious", judged_malicious())
    due = expect(case, ("Task_CollectEvidence", "legal"), ("Task_KeepContact", "intake"))
    # 接到恶意投诉后…24小时内报送总经理: Tuesday 3 March 09:00, however late the judgement came.
    assert due["Task_CollectEvidence"] == datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)


def test_final_resolution_is_due_5_working_days_after_receipt_however_late_the_decision(walk):
    case = walk()
    case.pass_time(timedelta(days=1))
    up_to_decision(case)
    case.pass_time(timedelta(days=2))
    case.complete("Task_DecideMeasures", decision("warning"))
    due = expect(case, ("Task_FinalResolution", "office_director"), ("Task_KeepContact", "intake"),
                 ("Task_Warning", "legal"))
    # Received Monday 2 March: 3, 4, 5, 6 and 9 March count; the decision on Thursday changes nothing.
    assert due["Task_FinalResolution"] == datetime(2026, 3, 10, tzinfo=SHANGHAI)


def test_complaint_handed_over_to_general_complaint_keeps_the_24h_first_contact_from_receipt(walk):
    case = walk()
    case.pass_time(timedelta(hours=10))
    case.complete("Task_JudgeMalicious", NOT_MALICIOUS)
    due = expect(case, ("Task_FirstContact", "intake"))
    assert due["Task_FirstContact"] == RECEIVED + H24 == datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)


# ---------------------------------------------------------------- the report does not wait for long measures

def test_report_to_the_general_manager_does_not_wait_for_litigation_to_end(walk):
    case = walk()
    up_to_decision(case, media_involved="yes")
    case.complete("Task_DecideMeasures", decision("legal_action"))
    case.pass_time(timedelta(days=1))
    case.complete("Task_FinalResolution", RESOLUTION)
    due = expect(case, ("Task_KeepContact", "intake"), ("Task_LegalAction", "legal"), ("Task_MediaVisit", "pr"),
                 ("Task_ReportResult", "office_director"))
    # Resolution on Tuesday 3 March: 4 and 5 March count, due when Thursday ends; the lawsuit runs on.
    assert due["Task_ReportResult"] == working_days(case, 2) == datetime(2026, 3, 6, tzinfo=SHANGHAI)
    case.complete("Task_ReportResult", REPORT)
    expect(case, ("Task_KeepContact", "intake"), ("Task_LegalAction", "legal"), ("Task_MediaVisit", "pr"))
    case.complete("Task_KeepContact", KEEP_CONTACT)
    case.complete("Task_MediaVisit", {"media_party": "media", "media_visit_note": "已说明", "media_outcome": "understood"})
    case.complete("Task_PublicStatement", MEDIA_STATEMENT)
    expect(case, ("Task_LegalAction", "legal"))
    case.complete("Task_LegalAction", MEASURES["legal_action"][2])
    expect(case, ("Task_Summary", "leadership"))
    case.complete("Task_Summary", SUMMARY)
    case.complete("Task_Archive", ARCHIVE)
    assert case.ready() == [] and case.finished()


# ---------------------------------------------------------------- every escalated step has a deadline and a next level

def test_office_director_missing_the_escalated_opinion_leaves_the_decision_to_the_general_manager(walk):
    case = walk()
    case.complete("Task_JudgeMalicious", judged_malicious())
    case.complete("Task_KeepContact", KEEP_CONTACT)
    case.pass_time(H24 + SECOND)
    due = expect(case, ("Task_OpinionEscalated", "office_director"))
    # Escalated on Tuesday 3 March 09:00: one working day, due when Wednesday ends.
    assert due["Task_OpinionEscalated"] == working_days(case, 1) == datetime(2026, 3, 5, tzinfo=SHANGHAI)
    case.pass_time(due["Task_OpinionEscalated"] - case.now - SECOND)
    expect(case, ("Task_OpinionEscalated", "office_director"))
    case.pass_time(2 * SECOND)
    expect(case, ("Task_DecideMeasures", "general_manager"))


def test_escalated_final_resolution_has_2_working_days_then_goes_to_the_leadership(walk):
    case = walk()
    up_to_decision(case)
    case.complete("Task_KeepContact", KEEP_CONTACT)
    case.complete("Task_DecideMeasures", decision("warning"))
    case.complete("Task_Warning", MEASURES["warning"][2])
    case.pass_time(datetime(2026, 3, 10, tzinfo=SHANGHAI) - case.now + SECOND)
    due = expect(case, ("Task_ResolutionEscalated", "general_manager"))
    # Escalated as Tuesday 10 March begins (that day not counted): 11 and 12 March count.
    assert due["Task_ResolutionEscalated"] == working_days(case, 2) == datetime(2026, 3, 13, tzinfo=SHANGHAI)
    case.pass_time(due["Task_ResolutionEscalated"] - case.now + SECOND)
    due = expect(case, ("Task_ResolutionLeadership", "leadership"))
    # Escalated as Friday 13 March begins: 16 and 17 March count.
    assert due["Task_ResolutionLeadership"] == working_days(case, 2) == datetime(2026, 3, 18, tzinfo=SHANGHAI)
    case.pass_time(due["Task_ResolutionLeadership"] - case.now + SECOND)
    # The top of the ladder: the miss is recorded and the task stays with the leadership, now overdue.
    expect(case, ("Task_ResolutionLeadership", "leadership"))
    case.complete("Task_ResolutionLeadership", RESOLUTION)
    expect(case, ("Task_ReportResult", "office_director"))
    report_review_archive(case)


def test_escalated_report_has_2_working_days_then_goes_to_the_leadership(walk):
    case = walk()
    up_to_decision(case)
    case.complete("Task_KeepContact", KEEP_CONTACT)
    case.complete("Task_DecideMeasures", decision("warning"))
    case.complete("Task_Warning", MEASURES["warning"][2])
    case.complete("Task_FinalResolution", RESOLUTION)
    case.pass_time(working_days(case, 2) - case.now + SECOND)
    due = expect(case, ("Task_ReportEscalated", "general_manager"))
    # Report due when Wednesday 4 March ends; escalated as Thursday begins: 6 and 9 March count.
    assert due["Task_ReportEscalated"] == working_days(case, 2) == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    case.pass_time(due["Task_ReportEscalated"] - case.now + SECOND)
    due = expect(case, ("Task_ReportLeadership", "leadership"))
    # Escalated as Tuesday 10 March begins: 11 and 12 March count.
    assert due["Task_ReportLeadership"] == working_days(case, 2) == datetime(2026, 3, 13, tzinfo=SHANGHAI)
    case.complete("Task_ReportLeadership", REPORT)
    expect(case, ("Task_Summary", "leadership"))
    case.complete("Task_Summary", SUMMARY)
    case.complete("Task_Archive", ARCHIVE)
    assert case.finished()


# ---------------------------------------------------------------- form rules

def test_the_kind_of_malice_is_required_only_when_the_complaint_is_judged_malicious():
    schema = json.loads((ROOT / "forms" / "mc_judgement.form").read_text(encoding="utf-8"))
    without_type = {k: v for k, v in judged_malicious().items() if k != "malicious_type"}
    with pytest.raises(FormInvalid) as refused:
        forms.validate_submission(schema, without_type)
    assert set(refused.value.errors) == {"malicious_type"}
    assert forms.validate_submission(schema, NOT_MALICIOUS) == NOT_MALICIOUS


@pytest.mark.parametrize("contact, valid", [
    ("13900000000", True), ("+86 13900000000", True), ("010-62345678", True), ("0755-2345678-123", True),
    ("li@example.cn", True), ("12900000000", False), ("62345678", False), ("北京市朝阳区", False),
])
def test_registration_contact_must_be_a_mainland_phone_or_an_e_mail(contact, valid):
    schema = json.loads((ROOT / "forms" / "mc_register.form").read_text(encoding="utf-8"))
    submission = {**REGISTRATION, "contact": contact}
    if valid:
        assert forms.validate_submission(schema, submission)["contact"] == contact
    else:
        with pytest.raises(FormInvalid) as refused:
            forms.validate_submission(schema, submission)
        assert set(refused.value.errors) == {"contact"}
