"""The BPMN constructs real diagrams use, each run straight through and reloaded before every step.

`straight`: one SpiffWorkflow object in memory, never saved. `restored`: every step goes
through the database with every parsed plan forgotten first, as in a freshly started
process — and after every step the liveness invariant is checked on the stored case
(completed, visibly waiting, or an incident). Both must behave the same.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.cases import messages, runtime
from engine.cases import use_cases as cases
from engine.db import transaction
from engine.errors import CaseEngineError, Conflict, NotFound
from engine.models import AuditEvent, MessageSubscription, PlanVersion, SubscriptionStatus
from engine.plans.versions import spec_cache
from tests.conftest import open_desk
from tests.support import InMemoryWalk, PersistedWalk

CONSTRUCTS = Path(__file__).parent / "constructs"
HOUR = timedelta(hours=1, minutes=1)


@pytest.fixture
def construct_desk(session_factory, db_url, now, tmp_path_factory):
    return open_desk(session_factory, db_url, now, tmp_path_factory, paths=[CONSTRUCTS])


@pytest.fixture(params=["straight", "restored"])
def start(request, db_url):
    """`start(plan, data)` runs a construct in memory or through the database."""
    if request.param == "straight" and not db_url.startswith("sqlite"):
        pytest.skip("a straight run never touches the database: it runs once, on SQLite")
    construct_desk = request.getfixturevalue("construct_desk")
    def begin(plan_key: str, data: dict | None = None):
        if request.param == "restored":
            return PersistedWalk(construct_desk, plan_key, data or {})
        with transaction(construct_desk.session_factory, readonly=True) as session:
            version = session.execute(select(PlanVersion).where(PlanVersion.plan_key == plan_key)).scalar_one()
            plan = spec_cache.get(version)
        return InMemoryWalk(plan, data or {}, construct_desk.now)
    return begin


def open_elements(case) -> list[str]:
    return sorted(element for element, _role, _due in case.ready())


def test_parallel_gateway_waits_for_both_branches(start):
    case = start("ct_parallel")
    assert open_elements(case) == ["Task_A", "Task_B"]
    case.complete("Task_A", {})
    assert open_elements(case) == ["Task_B"]
    case.complete("Task_B", {})
    assert open_elements(case) == ["Task_C"]
    case.complete("Task_C", {})
    assert case.finished()


@pytest.mark.parametrize("routes, expected", [({"route_a": "yes", "route_b": "yes"}, ["Task_A", "Task_B"]),
                                              ({"route_a": "yes", "route_b": "no"}, ["Task_A"]),
                                              ({"route_a": "no", "route_b": "no"}, ["Task_C"])])
def test_inclusive_gateway_takes_every_true_branch_and_joins_them(start, routes, expected):
    case = start("ct_inclusive", routes)
    assert open_elements(case) == expected
    for element in expected:
        case.complete(element, {})
    assert open_elements(case) == ["Task_Done"]
    case.complete("Task_Done", {})
    assert case.finished()


def test_parallel_multi_instance_gives_one_review_per_department_from_the_data(start):
    case = start("ct_multi_parallel", {"departments": ["客服部", "物流部", "财务部"]})
    assert open_elements(case) == ["Task_Review"] * 3
    for left in (2, 1):
        case.complete("Task_Review", {"note": "已核实"})
        assert open_elements(case) == ["Task_Review"] * left
    case.complete("Task_Review", {"note": "已核实"})
    assert open_elements(case) == ["Task_After"]
    case.complete("Task_After", {})
    assert case.finished()


def test_sequential_multi_instance_gives_one_review_after_another(start):
    case = start("ct_multi_sequential", {"departments": ["客服部", "物流部"]})
    assert open_elements(case) == ["Task_Review"]
    case.complete("Task_Review", {})
    assert open_elements(case) == ["Task_Review"]
    case.complete("Task_Review", {})
    assert open_elements(case) == ["Task_After"]


def test_interrupting_timer_event_subprocess_cancels_the_main_flow(start):
    case = start("ct_event_sub_timer")
    assert open_elements(case) == ["Task_Main"]
    case.pass_time(HOUR)
    assert open_elements(case) == ["Task_Handle"]
    case.complete("Task_Handle", {})
    assert case.finished()


def test_non_interrupting_timer_event_subprocess_runs_beside_the_main_flow(start):
    case = start("ct_event_sub_timer_nonint")
    case.pass_time(HOUR)
    assert open_elements(case) == ["Task_Handle", "Task_Main"]
    case.complete("Task_Handle", {})
    case.complete("Task_Main", {})
    assert case.finished()


def test_an_event_subprocess_that_never_started_does_not_keep_a_finished_case_open(start):
    case = start("ct_event_sub_timer_nonint")
    case.complete("Task_Main", {})
    assert case.finished(), "the case ends with its main flow; the timer's event subprocess is withdrawn"
    case.pass_time(HOUR)
    assert open_elements(case) == []


def test_message_event_subprocess_starts_when_its_message_arrives(start):
    case = start("ct_event_sub_message")
    case.send("regulator_notice", {"notice": "请于3日内报送"})
    assert open_elements(case) == ["Task_Handle", "Task_Main"]
    case.complete("Task_Handle", {})
    case.complete("Task_Main", {})
    assert case.finished()


def test_a_listening_message_event_subprocess_ends_with_its_case(start):
    case = start("ct_event_sub_message")
    case.complete("Task_Main", {})
    assert case.finished()


@pytest.mark.parametrize("outcome, expected", [("error", ["Task_Handle"]), ("ok", [])])
def test_error_event_subprocess_catches_an_error_end_event(start, outcome, expected):
    case = start("ct_event_sub_error")
    assert open_elements(case) == ["Task_Main"], "an error event subprocess waits for its error"
    case.complete("Task_Main", {"outcome": outcome})
    assert open_elements(case) == expected
    if expected:
        case.complete("Task_Handle", {})
    assert case.finished()


def test_boundary_timers_remind_without_interrupting_then_escalate(start):
    case = start("ct_boundary_timers")
    case.pass_time(HOUR)
    assert open_elements(case) == ["Task_A", "Task_Reminder"]
    case.complete("Task_Reminder", {})
    case.pass_time(HOUR)
    assert open_elements(case) == ["Task_Escalated"]
    case.complete("Task_Escalated", {})
    assert case.finished()


def test_event_based_gateway_takes_the_timer_branch_when_no_message_comes(start):
    case = start("ct_event_gateway")
    assert open_elements(case) == []
    case.pass_time(timedelta(hours=1))
    assert open_elements(case) == []
    case.pass_time(HOUR)
    assert open_elements(case) == ["Task_Chase"]


def test_event_based_gateway_takes_the_message_branch_and_keeps_its_data(start):
    case = start("ct_event_gateway")
    case.send("written_reply", {"text": "同意调解方案"})
    assert open_elements(case) == ["Task_Review"]
    assert case.data()["written_reply"] == {"text": "同意调解方案"}
    case.pass_time(3 * HOUR)
    assert open_elements(case) == ["Task_Review"], "the timer branch was withdrawn"
    case.complete("Task_Review", {})
    assert case.finished()


def test_timer_cycle_reminds_three_times_then_stops(start):
    case = start("ct_timer_cycle")
    for reminders in (1, 2, 3, 3, 3):
        case.pass_time(HOUR)
        assert open_elements(case) == ["Task_A"] + ["Task_Reminder"] * reminders
    case.complete("Task_A", {})
    for _ in range(3):
        case.complete("Task_Reminder", {})
    assert case.finished()


def test_escalation_boundary_event_notifies_without_interrupting(start):
    case = start("ct_error_escalation")
    case.complete("Task_Investigate", {"outcome": "escalate"})
    assert open_elements(case) == ["Task_Close", "Task_Notified"]
    case.complete("Task_Notified", {})
    case.complete("Task_Close", {})
    assert case.finished()


def test_error_boundary_event_leaves_the_failed_subprocess(start):
    case = start("ct_error_escalation")
    case.complete("Task_Investigate", {"outcome": "error"})
    assert open_elements(case) == ["Task_AfterError"]
    case.complete("Task_AfterError", {})
    assert case.finished()


def test_call_activity_passes_data_in_and_out(start):
    case = start("ct_call_activity", {"amount": 2})
    assert open_elements(case) == ["Task_Called"]
    case.complete("Task_Called", {"note": "done"})
    assert open_elements(case) == ["Task_After"]
    assert case.data()["doubled"] == 4 and case.data()["note"] == "done"


def test_standard_loop_repeats_while_its_condition_holds(start):
    case = start("ct_standard_loop")
    case.complete("Task_Round", {"more": "yes"})
    assert open_elements(case) == ["Task_Round"]
    case.complete("Task_Round", {"more": "no"})
    assert open_elements(case) == ["Task_After"]


@pytest.mark.parametrize("plan_key", ["ct_receive_task", "ct_message_catch"])
def test_receive_task_and_message_catch_wait_for_their_message(start, plan_key):
    case = start(plan_key)
    assert open_elements(case) == [] and not case.finished()
    case.send("written_reply", {"text": "书面回复"})
    assert open_elements(case) == ["Task_Review"]
    assert case.data()["written_reply"] == {"text": "书面回复"}


def test_message_boundary_event_interrupts_its_task(start):
    case = start("ct_message_boundary")
    case.send("complaint_withdrawn", {"reason": "已和解"})
    assert open_elements(case) == ["Task_ConfirmWithdrawal"]
    case.complete("Task_ConfirmWithdrawal", {})
    assert case.finished()


# --- what cannot run becomes an incident, never a hang or a silent completion ----------------------


def _incident(desk, number: str):
    with transaction(desk.session_factory, readonly=True) as session:
        case = cases.get_case(session, number)
        kinds = [e.kind for e in session.execute(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                                 .order_by(AuditEvent.seq)).scalars()]
        return case.status.value, case.incident, kinds


def test_a_loop_without_a_waiting_step_is_an_incident_not_a_completed_case(construct_desk, monkeypatch):
    # The step count must stop it, not the clock: a busy machine may be slower than 1,000 steps in 10 s.
    monkeypatch.setattr(runtime, "BUDGET", runtime.StepBudget(seconds=300))
    number = construct_desk.start("ct_runaway_loop", {"n": 0}, "handler1")
    status, incident, kinds = _incident(construct_desk, number)
    assert status == "running" and "case_completed" not in kinds
    assert incident.split(":")[0] in ("Gw_Again", "Script_Step") and "loop" in incident


def test_an_unexpected_engine_error_is_an_incident_naming_its_element(construct_desk):
    number = construct_desk.start("ct_mi_missing", {}, "handler1")
    status, incident, kinds = _incident(construct_desk, number)
    assert incident.startswith("Task_Review: TypeError") and " object at 0x" not in incident
    assert kinds == ["case_started", "incident"], "the complaint is kept as registered"


def test_retry_runs_an_incident_case_again_and_refuses_a_healthy_one(construct_desk):
    number = construct_desk.start("ct_mi_missing", {}, "handler1")
    with pytest.raises(CaseEngineError, match="Task_Review: TypeError"):
        construct_desk.do(cases.retry_case, number, "process_owner1", construct_desk.now)
    healthy = construct_desk.start("ct_parallel", {}, "handler1")
    with pytest.raises(Conflict, match="no incident"):
        construct_desk.do(cases.retry_case, healthy, "process_owner1", construct_desk.now)


def test_a_message_is_delivered_exactly_once_and_refused_clearly_otherwise(construct_desk):
    waiting = construct_desk.start("ct_receive_task", {}, "handler1")
    other = construct_desk.start("ct_receive_task", {}, "handler1")
    with pytest.raises(NotFound, match="no case is waiting for a message 'unknown'"):
        construct_desk.send(waiting, "unknown", {})
    with pytest.raises(Conflict, match="matches"):
        construct_desk.do(messages.deliver_message, "written_reply", {"case": "TS-1999-000001"}, {}, "intake1",
                          construct_desk.now)
    with pytest.raises(messages.MessageInvalid, match="correlation"):
        construct_desk.do(messages.deliver_message, "written_reply", {}, {}, "intake1", construct_desk.now)
    delivery = construct_desk.send(waiting, "written_reply", {"text": "ok"})
    assert delivery.case_number == waiting and [t.element_id for t in delivery.next_tasks] == ["Task_Review"]
    with pytest.raises(Conflict):
        construct_desk.send(waiting, "written_reply", {"text": "again"})
    with transaction(construct_desk.session_factory, readonly=True) as session:
        rows = session.execute(select(MessageSubscription).order_by(MessageSubscription.id)).scalars().all()
        received = session.execute(select(AuditEvent).where(AuditEvent.kind == "message_received")).scalars().all()
    assert [r.status for r in rows] == [SubscriptionStatus.DELIVERED, SubscriptionStatus.WAITING]
    assert len(received) == 1 and received[0].payload["data"] == {"text": "ok"}
    assert other != waiting


def test_an_open_task_keeps_its_missed_deadline_after_a_non_interrupting_timer_records_the_miss(construct_desk):
    number = construct_desk.start("ct_deadline_recorded", {}, "handler1")
    [task] = construct_desk.open_tasks(number)
    assert task.due_at == construct_desk.now + timedelta(hours=2)
    construct_desk.pass_time(2 * HOUR)
    [still_open] = construct_desk.open_tasks(number)
    assert still_open.due_at == task.due_at, "the inbox must keep showing it as overdue"


def test_a_case_stores_its_specs_only_once_the_engine_has_rewired_them(construct_desk):
    """Specs are most of a stored state: kept only when they differ from the plan version's."""
    number = construct_desk.start("ct_event_sub_message", {}, "handler1")

    def stored_state():
        with transaction(construct_desk.session_factory, readonly=True) as session:
            return cases.get_case(session, number).workflow_state

    assert "spec" not in stored_state()
    construct_desk.send(number, "regulator_notice", {})   # SpiffWorkflow connects the event subprocess now
    assert "spec" in stored_state()
    construct_desk.complete(number, "Task_Handle", {})
    construct_desk.complete(number, "Task_Main", {})
