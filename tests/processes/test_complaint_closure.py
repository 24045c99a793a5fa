"""complaint_closure: feedback, return visit, renegotiation, re-investigation, archive — and its deadlines.

The closure is a called process, so every scenario drives it through the real deployed
general_complaint: a general case, first contact, verified with no compensation, then the
closing steps inside Call_Closure. general_complaint no longer sets `renegotiation_rounds`,
so the unsatisfied paths also show that the closure counts its rounds on its own.
A complainant still unsatisfied after the one renegotiation round is re-investigated by the
office director (seed 000 "对客户不满意的处理结果,重新进行调查和处理"), never archived unasked.
Each scenario runs in memory and persisted with a reload before every step.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from engine.calendar.working_days import WorkingCalendar
from engine.errors import FormInvalid
from engine.forms.validation import validate_submission
from tests.conftest import SHANGHAI
from tests.processes.conftest import expect, working_days
from tests.support import PLANS_ROOT

CALENDAR = WorkingCalendar()
SECOND = timedelta(seconds=1)

REGISTRATION = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "category": "service",
                "content": "快递延误且客服态度差", "claimed_amount": 500}
FEEDBACK = {"feedback_note": "已反馈", "feedback_channel": "phone"}
SATISFIED = {"satisfied": "yes", "visit_note": "满意"}
UNSATISFIED = {"satisfied": "no", "visit_note": "不满意"}
RENEGOTIATION = {"renegotiation_note": "再次沟通，补充说明处理依据"}
ARCHIVE = {"archive_note": "归档", "outcome": "upheld", "prevention_analysis": "no"}
REINVESTIGATED = {"reinvestigation_note": "办公室重新调查：补发商品", "reinvestigation_result": "new_resolution"}
MAINTAINED = {"reinvestigation_note": "重新调查后维持原处理意见，已告知其他救济途径",
              "reinvestigation_result": "maintained"}



def form(key: str) -> dict:
    return json.loads((PLANS_ROOT / "forms" / f"{key}.form").read_text(encoding="utf-8"))


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
    case.complete("Task_Archive", {"archive_note": "重复投诉，纳入预防分析", "outcome": "partly_upheld",
                                   "prevention_analysis": "yes", "repeat_complaint": True})
    assert case.ready() == [] and case.finished()


def test_unsatisfied_complainant_gets_one_renegotiation_and_a_fresh_feedback_deadline(closing_case):
    case = closing_case()
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", UNSATISFIED)
    due = expect(case, ("Task_Renegotiate", "handler"))
    assert due["Task_Renegotiate"] == working_days(case, 2) == datetime(2026, 3, 5, tzinfo=SHANGHAI)
    case.pass_time(timedelta(days=1))
    case.complete("Task_Renegotiate", RENEGOTIATION)
    due = expect(case, ("Task_Feedback", "handler"))
    # Tuesday 09:00 now: Wednesday and Thursday count.
    assert due["Task_Feedback"] == working_days(case, 2) == datetime(2026, 3, 6, tzinfo=SHANGHAI)
    case.complete("Task_Feedback", FEEDBACK)
    expect(case, ("Task_ReturnVisit", "intake"))
    case.complete("Task_ReturnVisit", SATISFIED)
    archive(case)


def unsatisfied_twice(case):
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", UNSATISFIED)
    case.complete("Task_Renegotiate", RENEGOTIATION)
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", UNSATISFIED)


def test_complainant_still_unsatisfied_after_the_renegotiation_is_reinvestigated_not_archived(closing_case):
    case = closing_case()
    unsatisfied_twice(case)
    due = expect(case, ("Task_Reinvestigate", "office_director"))
    # 重新进行调查和处理 (seed 000): the office director has 5 working days (organisation default).
    assert due["Task_Reinvestigate"] == working_days(case, 5) == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    case.complete("Task_Reinvestigate", REINVESTIGATED)
    due = expect(case, ("Task_Feedback", "handler"))
    assert due["Task_Feedback"] == working_days(case, 2)
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", SATISFIED)
    archive(case)


def test_every_further_unsatisfied_answer_goes_back_to_the_office_director_until_the_result_is_maintained(
        closing_case):
    case = closing_case()
    unsatisfied_twice(case)
    case.complete("Task_Reinvestigate", REINVESTIGATED)
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", UNSATISFIED)
    expect(case, ("Task_Reinvestigate", "office_director"))
    case.complete("Task_Reinvestigate", MAINTAINED)
    archive(case)


def test_a_renegotiation_the_handler_leaves_undone_goes_to_the_office_director(closing_case):
    case = closing_case()
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", UNSATISFIED)
    due = expect(case, ("Task_Renegotiate", "handler"))["Task_Renegotiate"]
    case.pass_time(due - case.now + SECOND)
    due = expect(case, ("Task_Reinvestigate", "office_director"))
    # Missed at Thursday 00:00:01: Friday, Monday, Tuesday, Wednesday and Thursday count.
    assert due["Task_Reinvestigate"] == datetime(2026, 3, 13, tzinfo=SHANGHAI)
    case.complete("Task_Reinvestigate", REINVESTIGATED)
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", SATISFIED)
    archive(case)


def test_missed_reinvestigation_goes_to_the_general_manager(closing_case):
    case = closing_case()
    unsatisfied_twice(case)
    due = expect(case, ("Task_Reinvestigate", "office_director"))["Task_Reinvestigate"]
    case.pass_time(due - case.now + SECOND)
    due = expect(case, ("Task_ReinvestigateGM", "general_manager"))
    # Tuesday 10 March 00:00:01: Wednesday and Thursday count.
    assert due["Task_ReinvestigateGM"] == datetime(2026, 3, 13, tzinfo=SHANGHAI)
    case.complete("Task_ReinvestigateGM", MAINTAINED)
    archive(case)


def test_feedback_missed_for_2_working_days_goes_to_office_director(closing_case):
    case = closing_case()
    due = expect(case, ("Task_Feedback", "handler"))["Task_Feedback"]
    case.pass_time(due - case.now - SECOND)
    expect(case, ("Task_Feedback", "handler"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_FeedbackEscalated", "office_director"))
    # Missed at Thursday 00:00:01: the office director has one working day, Friday.
    assert due["Task_FeedbackEscalated"] == working_days(case, 1) == datetime(2026, 3, 7, tzinfo=SHANGHAI)
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
    assert due["Task_ReturnVisitEscalated"] == working_days(case, 1) == datetime(2026, 3, 26, tzinfo=SHANGHAI)
    # The escalated visit decides satisfaction like the regular one: unsatisfied → one more round.
    case.complete("Task_ReturnVisitEscalated", UNSATISFIED)
    expect(case, ("Task_Renegotiate", "handler"))
    case.complete("Task_Renegotiate", RENEGOTIATION)
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", SATISFIED)
    archive(case)


def test_missed_escalated_feedback_goes_to_the_general_manager(closing_case):
    case = closing_case()
    case.pass_time(working_days(case, 2) - case.now + SECOND)
    expect(case, ("Task_FeedbackEscalated", "office_director"))
    case.pass_time(working_days(case, 1) - case.now + SECOND)
    due = expect(case, ("Task_FeedbackGM", "general_manager"))
    # Saturday 7 March 00:00:01: Monday counts.
    assert due["Task_FeedbackGM"] == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    case.pass_time(timedelta(days=3))
    expect(case, ("Task_FeedbackGM", "general_manager"))  # top of the ladder: the miss is recorded, the task stays
    case.complete("Task_FeedbackGM", FEEDBACK)
    expect(case, ("Task_ReturnVisit", "intake"))


def test_missed_escalated_return_visit_goes_to_the_general_manager(closing_case):
    case = closing_case()
    case.complete("Task_Feedback", FEEDBACK)
    case.pass_time(working_days(case, 15) - case.now + SECOND)
    case.pass_time(working_days(case, 1) - case.now + SECOND)
    due = expect(case, ("Task_ReturnVisitGM", "general_manager"))
    assert due["Task_ReturnVisitGM"] == working_days(case, 1)
    case.complete("Task_ReturnVisitGM", SATISFIED)
    archive(case)


@pytest.mark.parametrize("outcome", ["upheld", "partly_upheld", "not_upheld", "withdrawn"])
def test_archive_records_the_outcome(outcome):
    assert validate_submission(form("cl_archive"), {"outcome": outcome})["outcome"] == outcome


def test_archive_without_an_outcome_is_refused():
    with pytest.raises(FormInvalid) as refused:
        validate_submission(form("cl_archive"), {"archive_note": "归档"})
    assert set(refused.value.errors) == {"outcome"}
