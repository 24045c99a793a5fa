"""bank_onsite_complaint: the three on-site situations, their escalations, mediation and the 3-day report.

Each scenario runs twice: once in a single in-memory SpiffWorkflow object, once through
the database with the spec cache dropped before every step. Every path ends through the
complaint_closure call activity (feedback, return visit, archive).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.calendar.working_days import WorkingCalendar
from tests.conftest import SHANGHAI
from tests.processes.conftest import expect, walk_closure

CALENDAR = WorkingCalendar()
SECOND = timedelta(seconds=1)

REGISTRATION = {"customer_name": "李先生", "contact": "13900000000", "branch": "城关支行营业部",
                "content": "排队时间过长，要求插队办理", "situation": "general", "media_on_site": "no"}
RESOLVED = {"outcome": "resolved", "compensation_due": "no"}
FOLLOW_UP = {"outcome": "follow_up", "compensation_due": "no"}
ONSITE = {"reception_note": "请至接待室，耐心解释排队规则", "excessive_behaviour": "no"}
RESTORE = {"order_note": "大堂经理与保安劝解，请客户至接待室"}
LEADER = {"leader_note": "分管领导到场，按章处理"}
FOLLOW_UP_DONE = {"follow_up_note": "已调查核实", "resolution": "已答复客户", "compensation_due": "no"}
POLICE = {"police_note": "10:05 报警，派出所 10:20 到场"}
PROTECT = {"protection_note": "疏散客户，保护柜台", "suspect_features": "身高约175cm，左脸有疤"}
MEDIATION = {"mediator": "县消费者协会", "mediation_agreed": "yes", "compensation_amount": 200,
             "mediation_note": "转账赔付"}
REPORT = {"report_note": "事件经过及处理结果", "improper_handling": "no"}
MEDIA = {"media_outlet": "县电视台", "statement": "统一口径说明事件经过"}

REPORT_TASK = ("Task_ReportInitiatingBank", "office_director")
SEVERE_TASKS = (("Task_CallPolice", "intake"), ("Task_LeaderCoordinate", "general_manager"),
                ("Task_ProtectSafety", "security"))


@pytest.fixture
def walk(walk):
    """Start a bank_onsite_complaint case; keyword arguments change the registration."""
    return lambda **changes: walk("bank_onsite_complaint", {**REGISTRATION, **changes})


def report_due(case):
    """Three days after the incident is handled, as the engine counts calendar days."""
    return CALENDAR.add_calendar_days(case.now, 3).due


def close(case, *also_open):
    """Walk complaint_closure (feedback, satisfied return visit, archive) while `also_open` stay open."""
    walk_closure(case, *also_open)


def close_and_report(case):
    """Closure and the report to the initiating bank both run; the case ends when both are done."""
    close(case, REPORT_TASK)
    expect(case, REPORT_TASK)
    assert not case.finished()
    case.complete("Task_ReportInitiatingBank", REPORT)
    assert case.ready() == [] and case.finished()


def test_general_complaint_solved_on_the_spot_needs_no_report_and_closes_through_feedback_and_archive(walk):
    case = walk()
    due = expect(case, ("Task_OnSiteHandling", "intake"))
    assert due["Task_OnSiteHandling"] is None  # the source says "at once", with no period
    case.complete("Task_OnSiteHandling", {**ONSITE, **RESOLVED})
    close(case)
    assert case.ready() == [] and case.finished()


def test_complex_general_complaint_is_promised_on_site_and_followed_up_by_the_handler(walk):
    case = walk()
    case.complete("Task_OnSiteHandling", {**ONSITE, **FOLLOW_UP})
    due = expect(case, ("Task_FollowUp", "handler"))
    assert due["Task_FollowUp"] is None  # "承诺尽快处理": no period given
    case.complete("Task_FollowUp", FOLLOW_UP_DONE)
    close(case)
    assert case.finished()


def test_major_interest_or_mass_incident_risk_goes_to_the_branch_head_who_activates_the_plan(walk):
    case = walk()
    case.complete("Task_OnSiteHandling", {**ONSITE, "outcome": "escalate", "compensation_due": "no"})
    expect(case, ("Task_BranchEmergency", "dept_head"))
    case.complete("Task_BranchEmergency", {"measures": "专人安抚，调查原因，协调业务部门", **FOLLOW_UP})
    expect(case, ("Task_FollowUp", "handler"))
    case.complete("Task_FollowUp", FOLLOW_UP_DONE)
    close(case)
    assert case.finished()


def test_mild_excessive_behaviour_is_reported_to_the_initiating_bank_within_3_days(walk):
    case = walk()
    case.complete("Task_OnSiteHandling", {**ONSITE, "excessive_behaviour": "yes", **RESOLVED})
    due = expect(case, ("Task_Feedback", "handler"), REPORT_TASK)
    # Handled Monday 2 March 09:00: Tuesday, Wednesday and Thursday count; due when Thursday ends.
    assert due["Task_ReportInitiatingBank"] == report_due(case) == datetime(2026, 3, 6, tzinfo=SHANGHAI)
    close_and_report(case)


def test_disorder_is_calmed_in_the_reception_room_and_reported_to_the_initiating_bank(walk):
    case = walk(situation="disorder")
    due = expect(case, ("Task_RestoreOrder", "intake"))
    assert due["Task_RestoreOrder"] is None
    case.complete("Task_RestoreOrder", {**RESTORE, **RESOLVED})
    close_and_report(case)


def test_customer_still_disrupting_at_the_counter_brings_the_leader_in_charge_on_site(walk):
    case = walk(situation="disorder")
    case.complete("Task_RestoreOrder", {**RESTORE, "outcome": "report", "compensation_due": "no"})
    due = expect(case, ("Task_LeaderOnSite", "general_manager"))
    assert due["Task_LeaderOnSite"] is None
    case.complete("Task_LeaderOnSite", {**LEADER, **FOLLOW_UP})
    # The incident is handled: the report's 3 days start now, beside the follow-up.
    expect(case, ("Task_FollowUp", "handler"), REPORT_TASK)
    case.complete("Task_FollowUp", FOLLOW_UP_DONE)
    close_and_report(case)


def test_general_complaint_that_disrupts_order_switches_to_the_order_plan_and_must_be_reported(walk):
    case = walk()
    case.complete("Task_OnSiteHandling", {**ONSITE, "outcome": "disorder", "compensation_due": "no"})
    expect(case, ("Task_RestoreOrder", "intake"))
    case.complete("Task_RestoreOrder", {**RESTORE, **RESOLVED})
    close_and_report(case)


def test_severe_behaviour_calls_police_protects_people_and_brings_a_bank_leader_at_once(walk):
    case = walk(situation="severe")
    due = expect(case, *SEVERE_TASKS)
    assert set(due.values()) == {None}
    case.complete("Task_LeaderCoordinate", {**LEADER, **RESOLVED})
    expect(case, ("Task_CallPolice", "intake"), ("Task_ProtectSafety", "security"))
    case.complete("Task_CallPolice", POLICE)
    expect(case, ("Task_ProtectSafety", "security"))
    case.complete("Task_ProtectSafety", PROTECT)
    close_and_report(case)


def test_disorder_turning_violent_switches_to_the_severe_plan(walk):
    case = walk(situation="disorder")
    case.complete("Task_RestoreOrder", {**RESTORE, "outcome": "severe", "compensation_due": "no"})
    expect(case, *SEVERE_TASKS)
    case.complete("Task_CallPolice", POLICE)
    case.complete("Task_ProtectSafety", PROTECT)
    case.complete("Task_LeaderCoordinate", {**LEADER, **FOLLOW_UP})
    expect(case, ("Task_FollowUp", "handler"), REPORT_TASK)
    case.complete("Task_FollowUp", FOLLOW_UP_DONE)
    close_and_report(case)


@pytest.mark.parametrize("decided_by", ["on_site", "follow_up"])
def test_compensation_owed_by_the_bank_is_mediated_by_a_third_party(walk, decided_by):
    case = walk()
    if decided_by == "on_site":
        case.complete("Task_OnSiteHandling", {**ONSITE, "outcome": "resolved", "compensation_due": "yes"})
    else:
        case.complete("Task_OnSiteHandling", {**ONSITE, **FOLLOW_UP})
        case.complete("Task_FollowUp", {**FOLLOW_UP_DONE, "compensation_due": "yes"})
    due = expect(case, ("Task_Mediation", "legal"))
    assert due["Task_Mediation"] is None
    case.complete("Task_Mediation", MEDIATION)
    close(case)
    assert case.finished()


def test_media_on_site_is_answered_by_pr_and_the_case_waits_for_it(walk):
    case = walk(media_on_site="yes")
    expect(case, ("Task_MediaResponse", "pr"), ("Task_OnSiteHandling", "intake"))
    case.complete("Task_OnSiteHandling", {**ONSITE, **RESOLVED})
    close(case, ("Task_MediaResponse", "pr"))
    expect(case, ("Task_MediaResponse", "pr"))
    assert not case.finished()
    case.complete("Task_MediaResponse", MEDIA)
    assert case.ready() == [] and case.finished()


def test_report_not_sent_within_3_days_escalates_to_the_leader_in_charge(walk):
    case = walk(situation="disorder")
    case.complete("Task_RestoreOrder", {**RESTORE, **RESOLVED})
    deadline = report_due(case)
    close(case, REPORT_TASK)
    case.pass_time(deadline - case.now - SECOND)
    expect(case, REPORT_TASK)
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_ReportEscalated", "general_manager"))
    assert due["Task_ReportEscalated"] is not None
    case.complete("Task_ReportEscalated", REPORT)
    assert case.ready() == [] and case.finished()


def test_report_deadline_ending_in_a_holiday_moves_to_the_end_of_the_next_working_day(walk):
    case = walk(situation="severe")
    case.complete("Task_CallPolice", POLICE)
    case.complete("Task_ProtectSafety", PROTECT)
    case.pass_time(datetime(2026, 4, 29, 9, tzinfo=SHANGHAI) - case.now)
    case.complete("Task_LeaderCoordinate", {**LEADER, **RESOLVED})
    due = expect(case, ("Task_Feedback", "handler"), REPORT_TASK)
    # Handled Wednesday 29 April: the third day, 2 May, is in the Labour Day holiday (1-5 May),
    # so the report is due when Wednesday 6 May ends.
    assert due["Task_ReportInitiatingBank"] == report_due(case) == datetime(2026, 5, 7, tzinfo=SHANGHAI)
    close_and_report(case)


# ---------------------------------------------------------------- the report counts from the end of the incident

INCIDENT_DAY = datetime(2025, 9, 29, 10, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize("now", [INCIDENT_DAY])
def test_report_counts_3_days_from_the_end_of_the_incident_not_from_the_end_of_mediation(walk):
    case = walk(situation="disorder")
    case.complete("Task_RestoreOrder", {**RESTORE, **FOLLOW_UP})
    due = expect(case, ("Task_FollowUp", "handler"), REPORT_TASK)
    # 过激行为事件处理完的三日内: handled Monday 29 September 2025; the third day, 2 October, is in the
    # National Day holiday (1-8 October), so the report is due when Thursday 9 October ends.
    assert due["Task_ReportInitiatingBank"] == datetime(2025, 10, 10, tzinfo=SHANGHAI)
    case.pass_time(timedelta(days=1))
    case.complete("Task_FollowUp", {**FOLLOW_UP_DONE, "compensation_due": "yes"})
    case.complete("Task_Mediation", MEDIATION)
    due = expect(case, ("Task_Feedback", "handler"), REPORT_TASK)
    assert due["Task_ReportInitiatingBank"] == datetime(2025, 10, 10, tzinfo=SHANGHAI)
    case.complete("Task_ReportInitiatingBank", REPORT)
    close(case)
    assert case.ready() == [] and case.finished()


# ---------------------------------------------------------------- escalated steps have deadlines and a next level

def test_escalated_report_has_1_working_day_then_goes_to_the_leadership_group(walk):
    case = walk(situation="disorder")
    case.complete("Task_RestoreOrder", {**RESTORE, **RESOLVED})
    close(case, REPORT_TASK)
    case.pass_time(report_due(case) - case.now + SECOND)
    due = expect(case, ("Task_ReportEscalated", "general_manager"))
    # Escalated as Friday 6 March begins (that day not counted): Monday 9 March counts.
    assert due["Task_ReportEscalated"] == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    case.pass_time(due["Task_ReportEscalated"] - case.now + SECOND)
    due = expect(case, ("Task_ReportLeadership", "leadership"))
    # Escalated as Tuesday 10 March begins: Wednesday 11 March counts.
    assert due["Task_ReportLeadership"] == datetime(2026, 3, 12, tzinfo=SHANGHAI)
    case.pass_time(due["Task_ReportLeadership"] - case.now + SECOND)
    expect(case, ("Task_ReportLeadership", "leadership"))  # the top of the ladder: the miss is recorded
    case.complete("Task_ReportLeadership", REPORT)
    assert case.ready() == [] and case.finished()


def test_branch_head_activating_the_plan_has_1_hour_then_the_leader_in_charge_takes_over(walk):
    case = walk()
    case.complete("Task_OnSiteHandling", {**ONSITE, "outcome": "escalate", "compensation_due": "no"})
    due = expect(case, ("Task_BranchEmergency", "dept_head"))
    # 立即启动应急预案: one hour (organisation default).
    assert due["Task_BranchEmergency"] == datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
    case.pass_time(timedelta(hours=1, seconds=1))
    due = expect(case, ("Task_EmergencyEscalated", "general_manager"))
    assert due["Task_EmergencyEscalated"] == datetime(2026, 3, 2, 11, 0, 1, tzinfo=SHANGHAI)
    case.pass_time(timedelta(hours=1))
    expect(case, ("Task_EmergencyEscalated", "general_manager"))  # the miss is recorded; the leader keeps it
    case.complete("Task_EmergencyEscalated", {"measures": "分管领导到场启动应急处置", **RESOLVED})
    close(case)
    assert case.finished()
