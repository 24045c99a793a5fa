"""holiday_duty_complaint: every branch and the 15-minute report deadline, in memory and persisted.

The township duty room's holiday plan (seed 000, 国庆中秋假期): the report must go up within
15 minutes, the duty captain handles on site while the publicity officer watches public
opinion, and the case closes only when both branches are done.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import SHANGHAI
from tests.processes.conftest import expect

M15 = timedelta(minutes=15)
# Reported when the case opens (the `now` fixture).
SHANGHAI_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)

REPORT = {"reporter": "李信息员", "reporter_unit": "新华村", "complainant": "张先生", "contact": "13800000000",
          "location": "镇区农家乐", "category": "consumer", "content": "假期农家乐结账金额明显高于标价"}
DUTY_REPORT = {"leader_informed": "duty_leader", "county_informed": "yes", "called_110": "no",
               "report_note": "已电话上报值班领导和县政府值班室"}
ON_SITE = {"situation": "游客与店主争执，围观约十人", "complainant_contacted": "yes",
           "market_supervision_contacted": "yes"}
GENERAL = {"activation_note": "启动预案，市监所到场", "severity": "general"}
SERIOUS = {"activation_note": "启动预案，报告主要领导", "severity": "serious"}
SETTLEMENT = {"settlement_plan": "店主按标价退还差价", "signatories": "张先生、店主、值班队长、市监所"}
NO_OPINION = {"online_opinion": "no", "monitor_note": "问政湖南、红网、市长信箱均未见相关帖文"}
OPINION = {"online_opinion": "yes", "monitor_note": "红网发现相关帖文"}
DRAFT = {"reply_draft": "镇政府已介入处理，店主已退还差价。"}
PUBLISHED = {"published_reply": "已在红网回复", "follow_up_note": "持续关注，无新帖"}


@pytest.fixture
def walk(walk):
    """Start a holiday_duty_complaint case from the information reporter's report."""
    return lambda data=REPORT: walk("holiday_duty_complaint", data)


def reported(case):
    """The duty room passes the report up in time; on-site handling and monitoring start together."""
    case.complete("Task_DutyRoomReport", DUTY_REPORT)
    due = expect(case, ("Task_OnSite", "duty_officer"), ("Task_OpinionMonitor", "pr"))
    assert due == {"Task_OnSite": None, "Task_OpinionMonitor": None}
    case.complete("Task_OnSite", ON_SITE)
    due = expect(case, ("Task_ActivatePlan", "leadership"), ("Task_OpinionMonitor", "pr"))
    assert due["Task_ActivatePlan"] == case.now + timedelta(minutes=30)


def test_duty_room_reports_up_within_15_minutes_and_captain_settles_with_signed_settlement(walk):
    case = walk()
    due = expect(case, ("Task_DutyRoomReport", "duty_officer"))
    assert due["Task_DutyRoomReport"] == case.now + M15
    reported(case)
    case.complete("Task_ActivatePlan", GENERAL)
    expect(case, ("Task_HandleOnSite", "duty_officer"), ("Task_OpinionMonitor", "pr"))
    case.complete("Task_HandleOnSite", {"handling_note": "调解达成一致", "settled_on_site": "yes"})
    expect(case, ("Task_OpinionMonitor", "pr"), ("Task_WrittenSettlement", "duty_officer"))
    case.complete("Task_WrittenSettlement", SETTLEMENT)
    # The on-site branch is done, but the case waits for the public-opinion branch.
    expect(case, ("Task_OpinionMonitor", "pr"))
    assert not case.finished()
    case.complete("Task_OpinionMonitor", NO_OPINION)
    assert case.ready() == [] and case.finished()


def test_report_not_passed_up_within_15_minutes_goes_straight_to_the_leader_on_duty(walk):
    case = walk()
    case.pass_time(M15 - timedelta(seconds=1))
    expect(case, ("Task_DutyRoomReport", "duty_officer"))
    case.pass_time(timedelta(seconds=2))
    due = expect(case, ("Task_LeaderTakesReport", "leadership"))
    assert due["Task_LeaderTakesReport"] == case.now + M15
    case.complete("Task_LeaderTakesReport", {**DUTY_REPORT, "leader_informed": "main_leader"})
    expect(case, ("Task_OnSite", "duty_officer"), ("Task_OpinionMonitor", "pr"))


def test_serious_case_brings_main_leader_on_site_and_police_when_needed(walk):
    case = walk()
    reported(case)
    case.complete("Task_ActivatePlan", SERIOUS)
    expect(case, ("Task_LeaderCommand", "leadership"), ("Task_OpinionMonitor", "pr"))
    case.complete("Task_LeaderCommand", {"command_note": "主要领导到场指挥", "police_needed": "yes",
                                         "settled_on_site": "yes"})
    expect(case, ("Task_ContactPolice", "security"), ("Task_OpinionMonitor", "pr"))
    case.complete("Task_ContactPolice", {"police_note": "派出所出警维持秩序"})
    expect(case, ("Task_OpinionMonitor", "pr"), ("Task_WrittenSettlement", "duty_officer"))
    case.complete("Task_OpinionMonitor", NO_OPINION)
    case.complete("Task_WrittenSettlement", SETTLEMENT)
    assert case.finished()


def test_captain_who_cannot_settle_reports_to_the_leader_and_unsettled_case_is_handed_over(walk):
    case = walk()
    reported(case)
    case.complete("Task_ActivatePlan", GENERAL)
    case.complete("Task_HandleOnSite", {"handling_note": "双方分歧较大", "settled_on_site": "no"})
    expect(case, ("Task_LeaderCommand", "leadership"), ("Task_OpinionMonitor", "pr"))
    case.complete("Task_LeaderCommand", {"command_note": "现场无法达成一致", "police_needed": "no",
                                         "settled_on_site": "no"})
    expect(case, ("Task_HandOver", "duty_officer"), ("Task_OpinionMonitor", "pr"))
    case.complete("Task_HandOver", {"handed_to": "市监所", "handover_note": "移交市监所依法调处"})
    case.complete("Task_OpinionMonitor", NO_OPINION)
    assert case.finished()


def test_online_reply_is_published_only_after_leader_in_charge_and_main_leader_approve(walk):
    case = walk()
    reported(case)
    case.complete("Task_OpinionMonitor", OPINION)
    expect(case, ("Task_ActivatePlan", "leadership"), ("Task_DraftReply", "pr"))
    case.complete("Task_DraftReply", DRAFT)
    expect(case, ("Task_ActivatePlan", "leadership"), ("Task_ReviewReply", "general_manager"))
    case.complete("Task_ReviewReply", {"review_approved": "yes", "review_comment": "同意"})
    expect(case, ("Task_ActivatePlan", "leadership"), ("Task_ApproveReply", "leadership"))
    case.complete("Task_ApproveReply", {"final_approved": "yes", "final_comment": "同意回复"})
    expect(case, ("Task_ActivatePlan", "leadership"), ("Task_PublishReply", "pr"))
    case.complete("Task_PublishReply", PUBLISHED)
    expect(case, ("Task_ActivatePlan", "leadership"))
    case.complete("Task_ActivatePlan", GENERAL)
    case.complete("Task_HandleOnSite", {"handling_note": "调解达成一致", "settled_on_site": "yes"})
    case.complete("Task_WrittenSettlement", SETTLEMENT)
    assert case.finished()


@pytest.mark.parametrize("review, approval", [
    ({"review_approved": "no", "review_comment": "表述不准确"}, None),
    ({"review_approved": "yes"}, {"final_approved": "no", "final_comment": "补充处理结果"}),
])
def test_reply_sent_back_by_either_leader_is_redrafted_and_reviewed_again(walk, review, approval):
    case = walk()
    case.complete("Task_DutyRoomReport", DUTY_REPORT)
    case.complete("Task_OpinionMonitor", OPINION)
    case.complete("Task_DraftReply", DRAFT)
    case.complete("Task_ReviewReply", review)
    if approval is not None:
        case.complete("Task_ApproveReply", approval)
    expect(case, ("Task_DraftReply", "pr"), ("Task_OnSite", "duty_officer"))
    case.complete("Task_DraftReply", {"reply_draft": "修改稿"})
    expect(case, ("Task_OnSite", "duty_officer"), ("Task_ReviewReply", "general_manager"))



# ---------------------------------------------------------------- deadlines from the report; the top of the ladder

def test_the_15_minutes_count_from_the_reporter_s_report_not_from_when_it_was_logged(walk):
    case = walk({**REPORT, "received_at": (SHANGHAI_NOW - timedelta(minutes=10)).isoformat()})
    due = expect(case, ("Task_DutyRoomReport", "duty_officer"))
    assert due["Task_DutyRoomReport"] == datetime(2026, 3, 2, 9, 5, tzinfo=SHANGHAI)


def test_leader_on_duty_missing_the_report_has_the_miss_recorded_and_keeps_it(walk):
    case = walk()
    case.pass_time(M15 + timedelta(seconds=1))
    due = expect(case, ("Task_LeaderTakesReport", "leadership"))["Task_LeaderTakesReport"]
    case.pass_time(due - case.now + timedelta(seconds=1))
    expect(case, ("Task_LeaderTakesReport", "leadership"))


def test_plan_not_activated_within_30_minutes_is_recorded_and_stays_with_the_group_leader(walk):
    case = walk()
    case.complete("Task_DutyRoomReport", DUTY_REPORT)
    case.complete("Task_OnSite", ON_SITE)
    case.pass_time(timedelta(minutes=31))
    expect(case, ("Task_ActivatePlan", "leadership"), ("Task_OpinionMonitor", "pr"))
    case.complete("Task_ActivatePlan", GENERAL)
    expect(case, ("Task_HandleOnSite", "duty_officer"), ("Task_OpinionMonitor", "pr"))
