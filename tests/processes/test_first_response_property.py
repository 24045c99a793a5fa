"""first_response_property: every route of the first-response rule and every deadline, in memory and persisted.

Whoever receives a complaint owns it (首问责任制, seed 000 茂恒; seed 002 篇六): solved on the
spot, or handed to the department that must resolve or answer within 24 hours, or — when
serious — reviewed first by the customer-service manager, who sets the department's deadline.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from engine.errors import FormInvalid
from engine.forms import validation as forms
from tests.conftest import SHANGHAI
from tests.processes.conftest import FEEDBACK, expect, walk_closure
from tests.support import ROOT

H24 = timedelta(hours=24)
SECOND = timedelta(seconds=1)

REGISTRATION = {"complainant": "王先生", "unit_no": "3-2-501", "contact": "13900000000", "channel": "hotline",
                "content": "楼道灯坏了一周无人维修", "first_response": "handover", "handling_department": "工程部"}
HANDLED = {"handled_by_department": "工程部", "handling_result": "已更换灯具并答复业主"}
REVIEW = {"review_note": "组织工程部、客服部检讨", "measures": "全面排查楼道照明", "responsible_person": "工程部李主管",
          "handling_hours": 72, "reply_to_customer": "已向业主致歉并告知处理安排"}
SIGNED = {"signed_by": "工程部经理", "record_note": "已填入《客户报修/投诉/求助记录》"}


@pytest.fixture
def walk(walk):
    """Start a first_response_property case; `first_response` picks the route."""
    return lambda **changes: walk("first_response_property", {**REGISTRATION, **changes})


def close(case):
    """The shared closure: feedback, return visit, archive."""
    walk_closure(case)
    assert case.ready() == [] and case.finished()


def signed_and_closed(case):
    expect(case, ("Task_DeptHeadSign", "dept_head"))
    case.complete("Task_DeptHeadSign", SIGNED)
    close(case)


def test_complaint_solved_on_the_spot_by_its_first_receiver_goes_straight_to_closure(walk):
    case = walk(first_response="on_the_spot", spot_resolution="当场解释物业费构成，业主认可", handling_department="")
    close(case)


def test_handed_over_complaint_is_resolved_by_the_department_within_24h_and_signed_by_its_head(walk):
    case = walk()
    due = expect(case, ("Task_DeptHandle", "handler"))
    assert due["Task_DeptHandle"] == case.now + H24 == datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)
    case.pass_time(H24 - SECOND)
    case.complete("Task_DeptHandle", HANDLED)
    signed_and_closed(case)


def test_department_missing_the_24h_deadline_is_supervised_by_the_customer_service_manager(walk):
    case = walk()
    case.pass_time(H24 - SECOND)
    expect(case, ("Task_DeptHandle", "handler"))
    case.pass_time(2 * SECOND)
    due = expect(case, ("Task_Supervise", "office_director"))
    assert due["Task_Supervise"] == case.now + H24
    case.complete("Task_Supervise", HANDLED)
    signed_and_closed(case)


def test_serious_complaint_is_reviewed_by_the_manager_within_24h_then_handled_by_the_deadline_set(walk):
    case = walk(first_response="serious")
    due = expect(case, ("Task_ManagerReview", "office_director"))
    assert due["Task_ManagerReview"] == case.now + H24
    case.pass_time(timedelta(hours=2))
    case.complete("Task_ManagerReview", REVIEW)
    due = expect(case, ("Task_DeptHandle", "handler"))
    assert due["Task_DeptHandle"] == case.now + timedelta(hours=72)
    case.pass_time(timedelta(hours=72) - SECOND)
    expect(case, ("Task_DeptHandle", "handler"))
    case.pass_time(2 * SECOND)
    expect(case, ("Task_Supervise", "office_director"))
    case.complete("Task_Supervise", HANDLED)
    signed_and_closed(case)


def test_serious_complaint_review_not_answered_within_24h_goes_to_company_leadership(walk):
    case = walk(first_response="serious")
    case.pass_time(H24 - SECOND)
    expect(case, ("Task_ManagerReview", "office_director"))
    case.pass_time(2 * SECOND)
    expect(case, ("Task_LeaderReview", "general_manager"))
    case.complete("Task_LeaderReview", {**REVIEW, "handling_hours": 48})
    due = expect(case, ("Task_DeptHandle", "handler"))
    assert due["Task_DeptHandle"] == case.now + timedelta(hours=48)
    case.complete("Task_DeptHandle", HANDLED)
    signed_and_closed(case)


def test_unsatisfied_owner_gets_one_more_round_before_the_case_is_archived(walk):
    case = walk()
    case.complete("Task_DeptHandle", HANDLED)
    case.complete("Task_DeptHeadSign", SIGNED)
    case.complete("Task_Feedback", FEEDBACK)
    case.complete("Task_ReturnVisit", {"satisfied": "no", "visit_note": "灯还是不够亮"})
    expect(case, ("Task_Renegotiate", "handler"))
    case.complete("Task_Renegotiate", {"renegotiation_note": "加装一盏灯"})
    close(case)



# ---------------------------------------------------------------- deadlines from receipt; escalated steps

LOGGED_LATER = {"received_at": "2026-03-01T20:00:00+08:00"}   # a call on Sunday evening, logged on Monday


def test_handed_over_complaint_is_due_24h_after_receipt_not_after_it_was_logged(walk):
    case = walk(**LOGGED_LATER)
    due = expect(case, ("Task_DeptHandle", "handler"))
    assert due["Task_DeptHandle"] == datetime(2026, 3, 2, 20, 0, tzinfo=SHANGHAI)


def test_serious_complaint_review_is_due_24h_after_receipt(walk):
    case = walk(first_response="serious", **LOGGED_LATER)
    due = expect(case, ("Task_ManagerReview", "office_director"))
    assert due["Task_ManagerReview"] == datetime(2026, 3, 2, 20, 0, tzinfo=SHANGHAI)


def test_manager_missing_the_supervised_handling_passes_it_to_company_leadership(walk):
    case = walk()
    case.pass_time(H24 + SECOND)
    due = expect(case, ("Task_Supervise", "office_director"))["Task_Supervise"]
    case.pass_time(due - case.now + SECOND)
    due = expect(case, ("Task_SuperviseLeader", "general_manager"))
    assert due["Task_SuperviseLeader"] == case.now + H24
    case.pass_time(H24 + SECOND)
    expect(case, ("Task_SuperviseLeader", "general_manager"))  # the top of the ladder: the miss is recorded
    case.complete("Task_SuperviseLeader", HANDLED)
    signed_and_closed(case)


def test_leadership_review_has_24h_of_its_own(walk):
    case = walk(first_response="serious")
    case.pass_time(H24 + SECOND)
    due = expect(case, ("Task_LeaderReview", "general_manager"))
    assert due["Task_LeaderReview"] == case.now + H24


@pytest.mark.parametrize("first_response, handling_department, valid", [
    ("handover", "工程部", True), ("handover", "", False), ("on_the_spot", "", False), ("serious", "", True),
])
def test_the_receiving_department_is_required_when_the_complaint_is_handed_over(first_response, handling_department,
                                                                               valid):
    schema = json.loads((ROOT / "forms" / "fr_register.form").read_text(encoding="utf-8"))
    submission = {**REGISTRATION, "first_response": first_response, "handling_department": handling_department}
    if valid:
        forms.validate_submission(schema, submission)
    else:
        with pytest.raises(FormInvalid) as refused:
            forms.validate_submission(schema, submission)
        expected = {"handling_department"} if first_response == "handover" else {"spot_resolution"}
        assert set(refused.value.errors) == expected
