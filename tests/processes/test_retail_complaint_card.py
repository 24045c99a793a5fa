"""retail_complaint_card: every route of the complaint record card, straight through and persisted with reloads.

The source (客户投诉处理办法, seed 002 篇七) asks for prompt handling but sets no per-case
deadline, so this plan's own tasks carry none; the deadlines a case meets are the closure's
(feedback within 2 working days, return visit within 15), owned by complaint_closure.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.calendar.working_days import WorkingCalendar
from engine.cases import runtime
from engine.cases import use_cases as cases
from engine.db import transaction
from engine.plans.versions import spec_cache
from tests.conftest import SHANGHAI
from tests.processes.conftest import expect, walk_closure
from tests.support import PersistedWalk

CALENDAR = WorkingCalendar()

REGISTRATION = {"complainant": "李先生", "customer_type": "consumer", "contact": "13900000000",
                "received_via": "store", "store_name": "中山路店", "product": "羊毛衫 L 码 ×3",
                "complaint_content": "收到的商品规格与订单不符", "customer_request": "exchange", "claimed_amount": 300}
STANDS = {"category": "spec_mismatch", "complaint_stands": "yes", "assess_note": "规格与货物清单不符，属实"}
DOES_NOT_STAND = {"category": "customer_cause", "complaint_stands": "no", "assess_note": "客户使用不当所致"}
REFUSAL = {"refusal_reason": "经核实系洗涤方式不当，已说明并致歉", "reply_channel": "onsite"}
SALES = {"discount_amount": 0, "compensation_amount": 0}
CLASSIFY = {"handling_notice": "请行政人事部确定受理部门", "service_opinion": ""}
INVESTIGATION = {"investigation_method": "goods", "scope_confirmed": "yes", "reason_reasonable": "yes",
                 "request_legitimate": "yes", "complaint_purpose": "换货", "cause": "装箱错码",
                 "course": "仓库按旧单装箱", "responsible_person": "仓储二组 王某", "conclusion": "投诉成立",
                 "countermeasures": "装箱前复核规格"}
FEEDBACK = {"feedback_note": "已书面答复客户", "feedback_channel": "phone"}


@pytest.fixture
def walk(walk):
    """Start a retail_complaint_card case (default: a complaint made at a store)."""
    return lambda **changes: walk("retail_complaint_card", {**REGISTRATION, **changes})


def task_data(case, element_id):
    """The case data an open task sees: what the decision table wrote, in either walk."""
    if isinstance(case, PersistedWalk):
        with transaction(case.desk.session_factory, readonly=True) as session:
            row = cases.get_case(session, case.number)
            workflow = runtime.load(row, spec_cache.get(row.plan_version))
    else:
        workflow = case.workflow
    [task] = [t for t in runtime.ready_user_tasks(workflow) if t.task_spec.bpmn_id == element_id]
    return task.data


def no_deadline(due):
    return all(value is None for value in due.values())


def standing_card(case, route):
    """The store finds the complaint stands and fills in the record card with its route."""
    assert no_deadline(expect(case, ("Task_AssessGrounds", "intake")))
    case.complete("Task_AssessGrounds", STANDS)
    assert no_deadline(expect(case, ("Task_RecordCard", "intake")))
    case.complete("Task_RecordCard", {"card_summary": "三件羊毛衫规格与订单不符，要求换货", "card_route": route})


def closure(case):
    """Customer service replies, the store's desk visits back, HR archives (complaint_closure)."""
    walk_closure(case)


def through_investigation(case, penalty_proposed="no"):
    """A quality defect: HR names the department, which investigates; reviewed, read by the GM, answered."""
    standing_card(case, "head_office")
    assert no_deadline(expect(case, ("Task_ServiceClassify", "handler")))
    case.complete("Task_ServiceClassify", {**CLASSIFY, "complaint_type": "quality"})
    assert no_deadline(expect(case, ("Task_AssignDepartment", "office_director")))
    case.complete("Task_AssignDepartment", {"handling_department": "warehouse", "assign_instruction": "现品调查"})
    assert no_deadline(expect(case, ("Task_Investigate", "handler")))
    case.complete("Task_Investigate", INVESTIGATION)
    assert no_deadline(expect(case, ("Task_ReportReview", "dept_head")))
    case.complete("Task_ReportReview", {"report_review_opinion": "报告属实"})
    assert no_deadline(expect(case, ("Task_HROpinion", "office_director")))
    case.complete("Task_HROpinion", {"hr_opinion": "同意换货，追究装箱责任", "responsibility_unit": "仓储二组",
                                     "penalty_proposed": penalty_proposed})
    assert no_deadline(expect(case, ("Task_GMInstruction", "general_manager")))
    case.complete("Task_GMInstruction", {"gm_instruction": "同意"})
    assert no_deadline(expect(case, ("Task_HandlingOpinion", "handler")))
    case.complete("Task_HandlingOpinion", {"handling_opinion": "换货并赠送优惠券", **SALES, "discount_amount": 50})
    assert no_deadline(expect(case, ("Task_OpinionReview", "dept_head")))
    case.complete("Task_OpinionReview", {"opinion_review_note": "同意，交客服答复"})


def penalty_notice(amount, bonus):
    return {"responsible_party_type": "person", "responsible_party": "仓储二组 王某", "sanction": "warning",
            "penalty_amount": amount, "monthly_bonus": bonus, "penalty_basis": "损失金额核算基准"}


def test_complaint_that_does_not_stand_is_refused_politely_and_the_case_ends(walk):
    case = walk()
    due = expect(case, ("Task_AssessGrounds", "intake"))
    assert due["Task_AssessGrounds"] is None
    # The source asks for prompt handling (迅速) but names no period: nothing escalates.
    case.pass_time(timedelta(days=30))
    expect(case, ("Task_AssessGrounds", "intake"))
    case.complete("Task_AssessGrounds", DOES_NOT_STAND)
    due = expect(case, ("Task_PoliteRefusal", "intake"))
    assert due["Task_PoliteRefusal"] is None
    case.complete("Task_PoliteRefusal", REFUSAL)
    assert case.ready() == [] and case.finished()


def test_store_handles_a_standing_complaint_itself_and_customer_service_answers_in_the_closure(walk):
    case = walk()
    standing_card(case, "store")
    assert no_deadline(expect(case, ("Task_StoreHandle", "intake")))
    case.complete("Task_StoreHandle", {"handling_opinion": "当场换货", **SALES})
    due = expect(case, ("Task_Feedback", "handler"))
    # complaint_closure's own deadline: two working days from Monday 09:00 end when Wednesday ends.
    assert due["Task_Feedback"] == CALENDAR.add_working_days(case.now, 2).due == datetime(2026, 3, 5, tzinfo=SHANGHAI)
    closure(case)
    assert case.ready() == [] and case.finished()


def test_store_and_operations_supervisor_settle_it_together(walk):
    case = walk()
    standing_card(case, "supervisor")
    assert no_deadline(expect(case, ("Task_JointHandle", "dept_head")))
    case.complete("Task_JointHandle", {"jointly_resolved": "yes", "handling_opinion": "折价处理",
                                       **SALES, "discount_amount": 120})
    closure(case)
    assert case.finished()


def test_unsettled_joint_handling_goes_to_customer_service_and_a_shipping_problem_follows_the_sales_rules(walk):
    case = walk(customer_type="franchisee")
    standing_card(case, "supervisor")
    case.complete("Task_JointHandle", {"jointly_resolved": "no", "handling_opinion": "门店与营运主管无法处理",
                                       **SALES})
    assert no_deadline(expect(case, ("Task_ServiceClassify", "handler")))
    case.complete("Task_ServiceClassify", {**CLASSIFY, "complaint_type": "shipping"})
    assert no_deadline(expect(case, ("Task_ShippingProcedure", "handler")))
    case.complete("Task_ShippingProcedure", {"handling_opinion": "补发货单", **SALES})
    closure(case)
    assert case.finished()


def test_complaint_made_directly_to_customer_service_goes_to_head_office_and_a_contract_dispute_to_the_leader(walk):
    case = walk(received_via="customer_service", store_name="", customer_type="agent", customer_request="damages")
    standing_card(case, "store")  # the card's route is the store's choice; customer service's cases ignore it
    assert no_deadline(expect(case, ("Task_ServiceClassify", "handler")))
    case.complete("Task_ServiceClassify", {**CLASSIFY, "complaint_type": "contract", "service_opinion": "建议按合同赔偿"})
    assert no_deadline(expect(case, ("Task_LeaderRuling", "general_manager")))
    case.complete("Task_LeaderRuling", {"ruling": "按合同第五条赔偿", **SALES, "compensation_amount": 800})
    closure(case)
    assert case.finished()


def test_quality_defect_is_investigated_by_the_department_hr_names_read_by_gm_and_answered_by_customer_service(walk):
    case = walk()
    through_investigation(case)
    closure(case)
    assert case.ready() == [] and case.finished()


def test_penalty_of_exactly_half_the_monthly_bonus_is_deducted_at_once_and_approved_by_gm_after_archiving(walk):
    case = walk()
    through_investigation(case, penalty_proposed="yes")
    closure(case)
    assert not case.finished()
    assert no_deadline(expect(case, ("Task_PenaltyNotice", "office_director")))
    case.complete("Task_PenaltyNotice", penalty_notice(2000, 4000))
    assert no_deadline(expect(case, ("Task_PenaltyApproval", "general_manager")))
    data = task_data(case, "Task_PenaltyApproval")
    assert (data["penalty_over_cap"], data["penalty_this_month"], data["penalty_carried_over"]) == ("no", 2000, 0)
    case.complete("Task_PenaltyApproval", {"penalty_approved": "yes", "penalty_comment": "同意"})
    assert case.ready() == [] and case.finished()


def test_penalty_above_half_the_monthly_bonus_is_flagged_and_the_rest_deducted_in_monthly_instalments(walk):
    case = walk()
    through_investigation(case, penalty_proposed="yes")
    closure(case)
    case.complete("Task_PenaltyNotice", penalty_notice(2000.01, 4000))
    assert no_deadline(expect(case, ("Task_PenaltyInstalments", "office_director")))
    data = task_data(case, "Task_PenaltyInstalments")
    assert data["penalty_over_cap"] == "yes"
    assert (data["penalty_this_month"], data["penalty_carried_over"]) == (2000, pytest.approx(0.01))
    case.complete("Task_PenaltyInstalments", {"instalment_months": 2, "instalment_plan": "次月扣除余额"})
    expect(case, ("Task_PenaltyApproval", "general_manager"))
    case.complete("Task_PenaltyApproval", {"penalty_approved": "yes", "penalty_comment": ""})
    assert case.finished()
