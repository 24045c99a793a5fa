"""complaint_work_emergency: an emergency in the complaint work itself, its four response levels and working groups.

Each scenario runs in memory and persisted with a reload before every step. The case is
reported on Monday 2 March 2026 at 09:00 (the `now` fixture).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from engine.errors import FormInvalid
from engine.forms import validation as forms
from tests.conftest import SHANGHAI
from tests.processes.conftest import expect, working_days
from tests.support import ROOT

SECOND = timedelta(seconds=1)
REPORTED = {"event_type": "surge", "reporter": "信息员王某", "contact": "010-62345678",
            "event_summary": "一小时内收到同一事项投诉举报两百余件", "complaint_count": 230}
ASSESSED = {"nature": "同一事项集中投诉", "impact_scope": "全市范围，网络已有转发", "proposed_level": "2"}
INFO = {"info_summary": "按区域、诉求归类", "report_to_leadership": "每两小时报告一次"}
COORDINATED = {"departments": "业务部、信访办", "handling_result": "逐件答复，设立专线"}
PUBLISHED = {"channel": "官方网站、微信公众号", "statement": "已受理，正在调查处理"}
LOGISTICS = {"staff": "抽调十名接线员", "funds": 5000}
URGED = {"supervision_note": "限今日内发布"}
EVALUATED = {"evaluation": "响应及时", "lessons": "专线开通偏晚", "plan_revision": "yes"}
GROUPS = {"Task_CollectInfo": ("intake", INFO), "Task_Coordinate": ("office_director", COORDINATED),
          "Task_Publish": ("pr", PUBLISHED), "Task_Logistics": ("general_manager", LOGISTICS)}


@pytest.fixture
def walk(walk):
    """Start a complaint_work_emergency case with the report above (or with `changes`)."""
    return lambda **changes: walk("complaint_work_emergency", {**REPORTED, **changes})


def start_level(case, level):
    case.complete("Task_Assess", ASSESSED)
    case.complete("Task_DecideLevel", {"response_level": level, "decision_note": "启动响应，各组按职责处置"})


def evaluate_and_close(case):
    due = expect(case, ("Task_Evaluate", "leadership"))
    assert due["Task_Evaluate"] == working_days(case, 5)
    case.complete("Task_Evaluate", EVALUATED)
    assert case.ready() == [] and case.finished()


def test_event_is_judged_within_2_hours_of_receipt_and_the_level_started_within_the_hour(walk):
    case = walk()
    due = expect(case, ("Task_Assess", "intake"))
    assert due["Task_Assess"] == datetime(2026, 3, 2, 11, 0, tzinfo=SHANGHAI)
    case.pass_time(timedelta(minutes=30))
    case.complete("Task_Assess", ASSESSED)
    due = expect(case, ("Task_DecideLevel", "leadership"))
    assert due["Task_DecideLevel"] == datetime(2026, 3, 2, 10, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize("level, groups, due_at", [
    ("1", ["Task_CollectInfo", "Task_Coordinate", "Task_Publish", "Task_Logistics"],
     datetime(2026, 3, 2, 21, 0, tzinfo=SHANGHAI)),
    ("2", ["Task_CollectInfo", "Task_Coordinate", "Task_Publish", "Task_Logistics"],
     datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)),
    ("3", ["Task_CollectInfo", "Task_Coordinate", "Task_Publish"], datetime(2026, 3, 6, tzinfo=SHANGHAI)),
    ("4", ["Task_CollectInfo", "Task_Coordinate"], datetime(2026, 3, 10, tzinfo=SHANGHAI)),
])
def test_each_response_level_starts_its_working_groups_with_the_level_s_deadline(walk, level, groups, due_at):
    case = walk()
    start_level(case, level)
    due = expect(case, *[(task, GROUPS[task][0]) for task in groups])
    # Level 1: 12 hours, level 2: 24 hours, level 3: 3 working days, level 4: 5 working days (organisation defaults).
    assert set(due.values()) == {due_at}
    for task in groups:
        case.complete(task, GROUPS[task][1])
    evaluate_and_close(case)


def test_judgement_not_made_within_2_hours_leaves_the_level_to_the_leadership_group(walk):
    case = walk()
    case.pass_time(timedelta(hours=2) - SECOND)
    expect(case, ("Task_Assess", "intake"))
    case.pass_time(2 * SECOND)
    expect(case, ("Task_DecideLevel", "leadership"))


def test_level_not_started_within_the_hour_is_recorded_and_stays_with_the_leadership_group(walk):
    case = walk()
    case.complete("Task_Assess", ASSESSED)
    case.pass_time(timedelta(hours=1, seconds=1))
    expect(case, ("Task_DecideLevel", "leadership"))
    case.complete("Task_DecideLevel", {"response_level": "4", "decision_note": "四级响应"})
    expect(case, ("Task_CollectInfo", "intake"), ("Task_Coordinate", "office_director"))


def test_handling_not_done_by_the_level_s_deadline_is_taken_over_by_the_leadership_group(walk):
    case = walk()
    start_level(case, "1")
    for task in ("Task_CollectInfo", "Task_Publish", "Task_Logistics"):
        case.complete(task, GROUPS[task][1])
    case.pass_time(datetime(2026, 3, 2, 21, 0, tzinfo=SHANGHAI) - case.now + SECOND)
    due = expect(case, ("Task_CoordinateEscalated", "leadership"))
    # Escalated on Monday evening: Tuesday 3 March counts (organisation default).
    assert due["Task_CoordinateEscalated"] == working_days(case, 1) == datetime(2026, 3, 4, tzinfo=SHANGHAI)
    case.pass_time(due["Task_CoordinateEscalated"] - case.now + SECOND)
    expect(case, ("Task_CoordinateEscalated", "leadership"))  # the top of the ladder: the miss is recorded
    case.complete("Task_CoordinateEscalated", COORDINATED)
    evaluate_and_close(case)


def test_a_group_missing_its_deadline_is_urged_by_the_leadership_group_and_keeps_its_task(walk):
    case = walk()
    start_level(case, "3")
    case.complete("Task_CollectInfo", INFO)
    case.complete("Task_Coordinate", COORDINATED)
    case.pass_time(datetime(2026, 3, 6, tzinfo=SHANGHAI) - case.now + SECOND)
    due = expect(case, ("Task_Publish", "pr"), ("Task_Urge", "leadership"))
    assert due["Task_Urge"] == working_days(case, 1)
    case.complete("Task_Urge", URGED)
    case.complete("Task_Publish", PUBLISHED)
    evaluate_and_close(case)


def test_the_count_of_complaints_is_asked_only_for_a_surge_and_the_contact_is_checked():
    schema = json.loads((ROOT / "forms" / "cw_register.form").read_text(encoding="utf-8"))
    sensitive = {**REPORTED, "event_type": "sensitive"}
    assert "complaint_count" not in forms.validate_submission(schema, sensitive)
    assert forms.validate_submission(schema, REPORTED)["complaint_count"] == 230
    with pytest.raises(FormInvalid) as refused:
        forms.validate_submission(schema, {**REPORTED, "contact": "62345678"})
    assert set(refused.value.errors) == {"contact"}
