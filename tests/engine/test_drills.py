"""Drills: general_complaint rehearsed on a simulated clock, and the after-action report checked against the trail."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.calendar.working_days import WorkingCalendar
from engine.cases import use_cases as cases
from engine.drills import actions, clock, lifecycle, report
from engine.errors import Conflict, PlanFlowError
from engine.models import (
    AuditEvent,
    Case,
    Drill,
    DrillStatus,
    Notification,
    Task,
    Timer,
)
from tests.conftest import SHANGHAI

CALENDAR = WorkingCalendar()
SCENARIO = {"complainant": "演练用户", "contact": "13900000000", "channel": "phone", "category": "service",
            "content": "演练：快递延误"}
PARTICIPANTS = {"intake": "intake1", "handler": "handler1", "office_director": "office_director1"}
# Thursday 5 March 2026, 10:00 in Shanghai: the answer's 3 working days reach across the weekend.
SIM_START = datetime(2026, 3, 5, 10, 0, tzinfo=SHANGHAI)
SECOND = timedelta(seconds=1)


def open_task(desk, number, element_id) -> Task:
    return desk.task(number, element_id)


def drill_case(desk, drill_id) -> Case:
    with desk.session_factory() as session:
        return session.execute(select(Case).where(Case.drill_id == drill_id)).scalar_one()


def events(desk, number) -> list[AuditEvent]:
    with desk.session_factory() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.case_number == number)
                                    .order_by(AuditEvent.seq)).scalars())


def test_scale_reads_simulated_equals_real():
    assert clock.parse_scale("P1D=PT2M") == 720
    assert clock.parse_scale("PT1H=PT1S") == 3600
    for bad in ("P1D", "P1D=P0D", "1 day = 2 minutes", "P1M=PT1S"):
        with pytest.raises(PlanFlowError):
            clock.parse_scale(bad)


def test_a_timer_mapped_to_real_time_is_due_when_the_engine_reads_the_clock_there():
    drill = Drill(status=DrillStatus.RUNNING, rate=720.0, sim_anchor=SIM_START.astimezone(UTC),
                  real_anchor=datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    for seconds in (1, 59, 3600, 86_400 * 3 + 7, 1_000_003):
        due = drill.sim_anchor + timedelta(seconds=seconds, microseconds=seconds % 997)
        real = clock.real_at(drill, due)
        assert clock.sim_now(drill, real) >= due
        assert clock.sim_now(drill, real - timedelta(milliseconds=2)) < due


def test_general_complaint_drill_runs_three_working_days_in_seconds_and_reports_from_the_trail(desk):
    real0 = desk.now
    drill = desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, PARTICIPANTS, "office_director1",
                    real0, scale="P1D=PT1S", sim_start=SIM_START, title="季度演练",
                    scheduled=[{"at": "PT30H", "title": "媒体开始报道", "data": {"media_attention": True}}])
    case = drill_case(desk, drill.id)
    assert case.number.startswith(f"DR-{real0.year}-") and len(case.number) == len("DR-2026-0001")
    first = open_task(desk, case.number, "Task_FirstContact")
    assert first.assignee == "intake1"                       # straight to the participant playing the role
    with desk.session_factory() as session:                  # each participant was told, and no webhook
        told = session.execute(select(Notification.recipient, Notification.channel).where(
            Notification.event == "drill_started")).all()
        assert {r for r, _ in told} == set(PARTICIPANTS.values()) and "webhook" not in {c for _, c in told}
    assert first.due_at == SIM_START + timedelta(hours=24)   # a simulated deadline
    with desk.session_factory() as session:
        timer = session.execute(select(Timer).where(Timer.case_id == case.id)).scalar_one()
        assert timer.due_at == SIM_START + timedelta(hours=24)
        assert timer.fire_at == real0 + SECOND + timedelta(microseconds=1)   # one simulated day = one real second

    # Half a real second later (twelve simulated hours), intake makes first contact: met.
    desk.now = real0 + SECOND / 2
    desk.complete(case.number, "Task_FirstContact", {"contact_note": "已联系", "grade": "general"},
                  as_user="intake1")
    answer = open_task(desk, case.number, "Task_VerifyNegotiate")
    assert answer.assignee == "handler1"
    deadline = CALENDAR.add_working_days(SIM_START, 3).due
    assert answer.due_at == deadline and deadline.date() == datetime(2026, 3, 10).date()   # Fri, Mon, Tue
    assert answer.created_at == SIM_START + timedelta(hours=12)

    # The worker's sweep 1.5 real seconds in (Friday 22:00 simulated) delivers the inject due at +30 h.
    desk.now = real0 + SECOND * 1.25
    desk.pass_time(timedelta(0))
    assert not [e for e in events(desk, case.number) if e.kind == "drill_inject_received"]
    desk.now = real0 + SECOND * 1.5
    assert desk.pass_time(timedelta(0)).fired == 0
    injected = [e for e in events(desk, case.number) if e.kind == "drill_inject_received"]
    assert len(injected) == 1 and injected[0].occurred_at == SIM_START + timedelta(hours=36)
    assert injected[0].payload["data"] == {"media_attention": True}

    # The handler never answers. Just before the deadline in simulated time nothing fires ...
    almost = clock.real_at(desk.do(lifecycle.get_drill, drill.id), deadline) - timedelta(milliseconds=5)
    assert desk.pass_time(almost - desk.now).fired == 0
    # ... and six real seconds in (Wednesday 11 March simulated), the escalation fires in simulated time.
    assert desk.pass_time(real0 + SECOND * 6 - desk.now).fired == 1
    escalated = [e for e in events(desk, case.number) if e.kind == "escalated"]
    assert len(escalated) == 1
    assert escalated[0].occurred_at == SIM_START + timedelta(days=6)
    assert escalated[0].payload["drill"] == {"id": drill.id, "real_at": (real0 + SECOND * 6).astimezone(UTC).isoformat()}
    office = open_task(desk, case.number, "Task_AnswerEscalatedOffice")
    assert office.assignee == "office_director1" and office.escalated_from == "Task_VerifyNegotiate"

    desk.now = real0 + SECOND * 6.5
    desk.complete(case.number, "Task_AnswerEscalatedOffice",
                  {"findings": "属实", "resolution": "道歉", "compensation_amount": 0}, as_user="office_director1")
    desk.do(lifecycle.observe, drill.id, "处理专员未在时限内答复", "office_director1", desk.now)
    desk.now = real0 + SECOND * 7
    ended = desk.do(lifecycle.end_drill, drill.id, "office_director1", desk.now)
    assert ended.status == DrillStatus.ENDED
    assert desk.open_tasks(case.number) == []                 # nothing of the drill is left in any inbox

    kept = ended.report
    trail = events(desk, case.number)
    by_kind = lambda kind: [e for e in trail if e.kind == kind]
    assert kept["figures"]["escalations"] == len(by_kind("escalated")) == 1
    assert kept["figures"]["timers_fired"] == len(by_kind("timer_fired"))
    assert kept["figures"]["injects"] == 1 and kept["figures"]["observations"] == 1
    steps = {s["element_id"]: s for s in kept["steps"]}
    assert steps["Task_FirstContact"]["outcome"] == "met"
    assert steps["Task_FirstContact"]["response_sim_hours"] == 12.0
    assert steps["Task_FirstContact"]["response_real_seconds"] == 0.5
    assert steps["Task_VerifyNegotiate"]["outcome"] == "escalated"
    assert steps["Task_VerifyNegotiate"]["due_at"] == deadline.astimezone(UTC).isoformat()
    assert steps["Task_AnswerEscalatedOffice"]["outcome"] == "met"
    done = {e.payload["task_id"]: e for e in by_kind("task_completed")}
    for step in kept["steps"]:
        if step["done_sim"]:
            event = done[step["task_id"]]
            assert step["done_sim"] == event.occurred_at.isoformat()
            assert step["done_real"] == event.payload["drill"]["real_at"]
            assert step["done_by"] == event.actor
    assert kept["roles"]["intake"]["met"] == 1 and kept["roles"]["handler"]["escalated"] == 1
    assert [p["element_id"] for p in kept["path"]][:3] == ["Task_FirstContact", "Timer_Answer3d",
                                                            "Task_AnswerEscalatedOffice"]
    assert kept["observations"][0]["text"] == "处理专员未在时限内答复"
    assert kept["time"]["real_seconds"] == 7.0
    assert "Task_VerifyNegotiate" in report.report_csv(kept)

    # Every event of the drill case is marked as drill, and the chain verifies.
    assert all(e.payload.get("drill", {}).get("id") == drill.id for e in trail)
    with desk.session_factory() as session:
        assert cases.__name__ and __import__("engine.records.audit", fromlist=["x"]).verify_chain(
            session, case.id).ok

    # An ended drill's case cannot change any more.
    with pytest.raises(Conflict):
        desk.do(lifecycle.pause_drill, drill.id, "office_director1", desk.now)


def test_a_stepped_drill_fires_each_deadline_at_its_own_simulated_time(desk):
    drill = desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {"intake": "intake1"},
                    "process_owner1", desk.now, sim_start=SIM_START)
    case = drill_case(desk, drill.id)
    with desk.session_factory() as session:
        assert session.execute(select(Timer.fire_at).where(Timer.case_id == case.id)).scalar_one().year == 9999
    desk.now += timedelta(minutes=1)
    assert desk.pass_time(timedelta(0)).fired == 0          # a stepped clock does not move by itself
    # One step of three simulated days: first contact escalates at +24 h, the office director's turn at +48 h,
    # the general manager's at +72 h; each escalation starts from the deadline that caused it.
    desk.do(lifecycle.step_drill, drill.id, "process_owner1", desk.now, by=timedelta(days=3, minutes=1))
    desk.assert_live(case.number)
    trail = events(desk, case.number)
    fired = [(e.element_id, e.occurred_at.replace(microsecond=0)) for e in trail if e.kind == "timer_fired"]
    assert fired == [("Timer_FirstContact24h", SIM_START + timedelta(hours=24)),
                     ("Timer_FirstContactOffice24h", SIM_START + timedelta(hours=48)),
                     ("Timer_FirstContactGMOverdue", SIM_START + timedelta(hours=72))]
    assert open_task(desk, case.number, "Task_FirstContactGM").due_at.replace(microsecond=0) == \
        SIM_START + timedelta(hours=72)
    with pytest.raises(PlanFlowError):
        desk.do(lifecycle.step_drill, drill.id, "process_owner1", desk.now, to=SIM_START)


def test_only_controllers_start_drills_and_participants_must_hold_their_role(desk):
    with pytest.raises(PlanFlowError):
        desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {}, "handler1", desk.now)
    with pytest.raises(PlanFlowError, match="does not hold role"):
        desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {"handler": "intake1"}, "process_owner1",
                desk.now)
    with pytest.raises(PlanFlowError, match="scale"):
        desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {}, "process_owner1", desk.now,
                scale="fast")
    with desk.session_factory() as session:
        assert session.execute(select(Drill)).first() is None


def test_improvement_actions_go_to_their_owner_until_done(desk):
    drill = desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {}, "process_owner1", desk.now)
    item = desk.do(actions.add_action, drill.id, "修订答复时限提醒", "handler1", desk.now.date() + timedelta(days=14),
                   "process_owner1", desk.now)
    assert [a.id for a in desk.do(actions.open_actions, "handler1")] == [item.id]
    desk.do(actions.complete_action, item.id, "handler1", "已修订", desk.now)
    assert desk.do(actions.open_actions, "handler1") == []


@pytest.fixture
def construct_desk(session_factory, db_url, now, tmp_path_factory):
    from tests.conftest import open_desk
    from tests.engine.test_constructs import CONSTRUCTS
    return open_desk(session_factory, db_url, now, tmp_path_factory, paths=[CONSTRUCTS])


def test_a_message_inject_reaches_only_its_drill_case_and_no_real_message_reaches_a_drill(construct_desk):
    from engine.cases import messages
    from engine.drills import injects
    from engine.errors import NotFound

    desk = construct_desk
    drill = desk.do(lifecycle.start_drill, "ct_receive_task", {}, {"handler": "handler1"}, "office_director1",
                    desk.now)
    drill_number = drill_case(desk, drill.id).number
    # With only the drill's case waiting, a message that does not name it finds no case at all.
    with pytest.raises(NotFound):
        desk.do(messages.deliver_message, "written_reply", {"case": "TS-2026-000001"}, {"text": "x"}, "handler1",
                desk.now)
    real = desk.start("ct_receive_task", {}, as_user="handler1")
    desk.do(lambda session: injects.send(session, lifecycle.get_drill(session, drill.id),
                                         {"title": "投诉人书面回复", "message": "written_reply", "data": {"text": "同意"}},
                                         "office_director1", desk.now))
    assert [t.element_id for t in desk.open_tasks(drill_number)] == ["Task_Review"]
    assert desk.open_tasks(real) == []          # the real case still waits for its own reply
    received = [e for e in events(desk, drill_number) if e.kind == "message_received"]
    assert len(received) == 1 and received[0].payload["drill"]["id"] == drill.id
    desk.send(real, "written_reply", {"text": "真实回复"}, as_user="handler1")
    assert [t.element_id for t in desk.open_tasks(real)] == ["Task_Review"]


def test_the_plans_drill_schedule_marks_an_overdue_drill(desk):
    from engine.drills import live

    desk.do(lifecycle.set_interval, "general_complaint", 6, "process_owner1", desk.now)
    found = desk.do(live.schedules, ["general_complaint", "bank_onsite_complaint"], desk.now)
    assert found["general_complaint"].overdue and found["general_complaint"].last_drilled is None
    assert not found["bank_onsite_complaint"].overdue and found["bank_onsite_complaint"].interval_months is None
    drill = desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {}, "process_owner1", desk.now)
    desk.do(lifecycle.end_drill, drill.id, "process_owner1", desk.now + timedelta(minutes=5))
    found = desk.do(live.schedules, ["general_complaint"], desk.now + timedelta(days=30))
    assert not found["general_complaint"].overdue
    assert found["general_complaint"].next_due == desk.now.astimezone(UTC).replace(month=9)
    assert desk.do(live.schedules, ["general_complaint"], desk.now + timedelta(days=200))["general_complaint"].overdue


def test_a_drill_timer_fired_by_the_worker_stays_out_of_the_workers_lateness_figures(desk, monkeypatch):
    from engine.calendar.clock import utcnow
    from engine.cases import timers
    from engine.ops import heartbeat

    monkeypatch.setenv("PLANFLOW_WORKER_NAME", "worker-drill")
    monkeypatch.setattr(heartbeat, "_figures", None)
    # Started two real hours ago at one simulated day an hour: the first contact's deadline passed a day ago.
    drill = desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {}, "process_owner1",
                    utcnow() - timedelta(hours=2), scale="P1D=PT1H")
    timers.run_worker(desk.session_factory, 0, once=True)
    number = drill_case(desk, drill.id).number
    assert [e.element_id for e in events(desk, number) if e.kind == "timer_fired"][:1] == ["Timer_FirstContact24h"]
    with desk.session_factory() as session:
        from engine.models import WorkerHeartbeat
        row = session.execute(select(WorkerHeartbeat).where(WorkerHeartbeat.name == "worker-drill")).scalar_one()
        assert row.stats["lateness_seconds"]["count"] == 0
