"""complaint_closure: feedback, return visit, one more negotiation round, archive — and its deadlines.

The closure is a called process, so every scenario drives it through the real deployed
general_complaint: a general case, first contact, verified with no compensation, then the
closing steps inside Call_Closure. general_complaint no longer sets `renegotiation_rounds`,
so the unsatisfied paths also show that the closure counts its rounds on its own.
Each scenario runs in memory and persisted with a reload before every step.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.calendar import WorkingCalendar
from tests.conftest import SHANGHAI
from tests.processes.conftest import expect, working_days

CALENDAR = WorkingCalendar()
SECOND = timedelta(seconds=1)

REGISTRATION = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "category": "service",
                "content": "快递延误且客服态度差", "claimed_amount": 500}
FEEDBACK = {"feedback_note": "已反馈", "feedback_channel": "phone"}
SATISFIED = {"satisfied": "yes", "visit_note": "满意"}
UNSATISFIED = {"satisfied": "no", "visit_note": "不满意"}
RENEGOTIATION = {"renegotiation_note": "再次沟通，补充说明处理依据"}
ARCHIVE = {"archive_note": "归档", "prevention_analysis": "no"}




@pytest.fixture
def closing_case(walk):
    """A general complaint answered without compensation, now at the closure's first step."""
    def start():
        case = walk("general_complaint", REGISTRATION)
        case.complete("Task_FirstContact", {"contact_note": "已电话联系", "grade": "general"})
        case.complete("Task_VerifyNegotiate", {"findings": "属实", "resolution": "道歉并改进",
                                               "compensation_amount": 0})
        return case
    return start


def archive(case):
    due = expect(case, ("Task_Archive", "office_director"))
    assert due["Task_Archive"] is None
    case.complete("Task_Archive", ARCHIVE)
    assert case.ready() == [] and case.finished()


def test_satisfied_complainant_is_fed_back_within_2_working_days_visited_within_15_and_archived(closing_case):
    case = closing_case()
    due = expect(case, ("Task_Feedback", "handler"))
    # Monday 09:00: Tuesday and Wednesday count; due when Wednesday ends.
    assert due["Task_Feedback"] == working_days(case, 2) == datetime(2026, 3, 5, tzinfo=SHANGHAI)
    case.complete("Task_Feedback", FEEDBACK)
    due = expect(case, ("Task_ReturnVisit", "intake"))
    assert due["Task_ReturnVisit"] == working_days(case, 15) == datetime(2026, 3, 24, tzinfo=SHANGHAI)
    case.complete("Task_ReturnVisit", SATISFIED)
    expect(case, ("Task_Archive", "office_director"))
    case.complete("Task_Archive", {"archive_note": "重复投诉，纳入预防分析", "prevention_analysis": "yes",
                                   "repeat_complaint": True})
    assert case.ready() == [] and case.finished()


def test_unsatisfied_complainant_gets_one_renegotiation_and_a_fresh_feedback_deadline(closing_case):
    case = closing_case()
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", UNSATISFIED)
    due = expect(case, ("Task_Renegotiate", "handler"))
    assert due["Task_Renegotiate"] is None
    case.pass_time(timedelta(days=1))
    case.complete("Task_Renegotiate", RENEGOTIATION)
    due = expect(case, ("Task_Feedback", "handler"))
    # Tuesday 09:00 now: Wednesday and Thursday count.
    assert due["Task_Feedback"] == working_days(case, 2) == datetime(2026, 3, 6, tzinfo=SHANGHAI)
    case.complete("Task_Feedback", FEEDBACK)
    expect(case, ("Task_ReturnVisit", "intake"))
    case.complete("Task_ReturnVisit", SATISFIED)
    archive(case)


def test_complainant_unsatisfied_twice_is_archived_after_the_one_renegotiation(closing_case):
    case = closing_case()
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", UNSATISFIED)
    case.complete("Task_Renegotiate", RENEGOTIATION)
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", UNSATISFIED)
    archive(case)


def test_feedback_missed_for_2_working_days_goes_to_office_director(closing_case):
    case = closing_case()
    due = expect(case, ("Task_Feedback", "handler"))["Task_Feedback"]
    case.pass_time(due - case.now - SECOND)
    expect(case, ("Task_Feedback", "handler"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_FeedbackEscalated", "office_director"))
    assert due["Task_FeedbackEscalated"] is None
    case.complete("Task_FeedbackEscalated", {"feedback_note": "主任督办后已反馈", "feedback_channel": "wechat"})
    due = expect(case, ("Task_ReturnVisit", "intake"))
    assert due["Task_ReturnVisit"] == working_days(case, 15)
    case.complete("Task_ReturnVisit", SATISFIED)
    archive(case)


def test_return_visit_missed_for_15_working_days_goes_to_office_director(closing_case):
    case = closing_case()
    case.complete("Task_Feedback", FEEDBACK)
    due = expect(case, ("Task_ReturnVisit", "intake"))["Task_ReturnVisit"]
    case.pass_time(due - case.now - SECOND)
    expect(case, ("Task_ReturnVisit", "intake"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_ReturnVisitEscalated", "office_director"))
    assert due["Task_ReturnVisitEscalated"] is None
    # The escalated visit decides satisfaction like the regular one: unsatisfied → one more round.
    case.complete("Task_ReturnVisitEscalated", UNSATISFIED)
    expect(case, ("Task_Renegotiate", "handler"))
    case.complete("Task_Renegotiate", RENEGOTIATION)
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", SATISFIED)
    archive(case)
