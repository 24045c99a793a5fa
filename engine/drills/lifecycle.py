"""Start, pause, resume, step and end a drill; evaluators' observations; the plan's drill interval.

A drill's case is a real case row on the real engine, marked with `drill_id` and numbered
DR-YEAR-NNNN; it is started here (never by `start_case`, so it can never take a real case
number or touch a real case) at the drill's simulated start time.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.calendar.clock import as_utc
from engine.cases import runtime, timers
from engine.cases.use_cases import flush_case, lock_case, next_number, with_received_at
from engine.drills import clock, injects
from engine.errors import Conflict, NotFound, PermissionDenied, PlanFlowError
from engine.forms.validation import validate_submission
from engine.models import (
    Case,
    CaseStatus,
    Drill,
    DrillInject,
    DrillObservation,
    DrillStatus,
    PlanDrillSchedule,
    Timer,
    TimerStatus,
)
from engine.notifications import events as notifications
from engine.people.roles import LANE_ROLES
from engine.people.users import get_user
from engine.plans import drafts
from engine.plans.versions import current_version, spec_cache
from engine.records import audit

CONTROLLER_ROLES = frozenset({"process_owner", "office_director"})
NUMBER_PREFIX = "DR"
MAX_STEP_ROUNDS = 500


class DrillKind:
    """Audit event kinds of a drill (on the global chain; a drill case's own events carry a `drill` mark)."""

    STARTED = "drill_started"
    PAUSED = "drill_paused"
    RESUMED = "drill_resumed"
    STEPPED = "drill_clock_stepped"
    INJECT = "drill_inject"
    OBSERVATION = "drill_observation"
    ENDED = "drill_ended"
    ACTION_ADDED = "drill_action_added"
    ACTION_DONE = "drill_action_done"
    INTERVAL_SET = "drill_interval_set"


def require_controller(session: Session, username: str):
    user = get_user(session, username)
    if not user.role_keys & CONTROLLER_ROLES:
        raise PermissionDenied(f"only {', '.join(sorted(CONTROLLER_ROLES))} may run drills")
    return user


def get_drill(session: Session, drill_id: int) -> Drill:
    drill = session.get(Drill, drill_id)
    if drill is None:
        raise NotFound(f"no drill {drill_id}")
    return drill


def drill_cases(session: Session, drill_id: int) -> list[Case]:
    return list(session.execute(select(Case).where(Case.drill_id == drill_id).order_by(Case.id)).scalars())


def record(session: Session, drill: Drill, kind: str, actor: str, now: datetime, payload: dict | None = None):
    """A drill-level audit event, marked with the drill and its simulated time."""
    mark = {"id": drill.id, "real_at": as_utc(now).isoformat(), "sim_at": clock.sim_now(drill, now).isoformat()}
    return audit.record(session, kind, actor, now, payload={**(payload or {}), "drill": mark})


def _check_participants(session: Session, participants: dict, lanes: set[str]) -> dict:
    checked = {}
    for role, username in (participants or {}).items():
        if role not in LANE_ROLES:
            raise PlanFlowError(f"participant role '{role}' is not a role that works cases")
        if role not in lanes:
            raise PlanFlowError(f"the plan has no lane '{role}' (its lanes: {', '.join(sorted(lanes))})")
        user = get_user(session, username)
        if not user.has_role(role):
            raise PlanFlowError(f"participant '{username}' does not hold role '{role}'")
        checked[role] = username
    return checked


def plan_lanes(plan) -> set[str]:
    """Every lane of the plan, its subprocesses and called plans included."""
    specs = [plan.spec, *plan.subprocess_specs.values()]
    return {task.lane for spec in specs for task in spec.task_specs.values() if getattr(task, "lane", None)}


def start_drill(session: Session, plan_key: str, scenario: dict, participants: dict, username: str,
                now: datetime, scale: str | None = None, sim_start: datetime | None = None, title: str = "",
                scheduled: list[dict] | None = None, draft: int | None = None) -> Drill:
    """Start a drill of the plan's current version, or of its draft revision `draft` (not deployed by it).

    The drill's case is registered at `sim_start` with the scenario data.
    """
    require_controller(session, username)
    now = as_utc(now)
    if draft is None:
        version = current_version(session, plan_key)
    else:
        version = drafts.drill_version(session, plan_key, draft, username, now)
    plan = spec_cache.get(version)
    participants = _check_participants(session, participants, plan_lanes(plan))
    rate = clock.parse_scale(scale) if scale else 0.0
    sim_start = as_utc(sim_start) if sim_start is not None else now
    if not isinstance(scenario, dict):
        raise PlanFlowError("the scenario data must be a JSON object")
    data = validate_submission(plan.forms[plan.start_form_key], scenario) if plan.start_form_key else dict(scenario)
    drill = Drill(plan_version_id=version.id, plan_key=plan_key, title=title.strip()[:200], status=DrillStatus.RUNNING,
                  scale=scale.strip() if scale else None, rate=rate, sim_anchor=sim_start, real_anchor=now,
                  scenario=data, participants=participants, started_by=username, started_at=now,
                  sim_started_at=sim_start, draft_revision=draft)
    session.add(drill)
    session.flush()
    record(session, drill, DrillKind.STARTED, username, now,
           {"plan": plan_key, "version": version.version, "draft": draft, "scale": drill.scale, "rate": rate,
            "sim_start": sim_start.isoformat(), "participants": participants})
    _start_case(session, drill, plan, version, data, username, now)
    for item in scheduled or ():
        injects.schedule(session, drill, item, username, now)
    notifications.on_drill_started(session, drill, drill_cases(session, drill.id), now)
    return drill


def _start_case(session: Session, drill: Drill, plan, version, data: dict, username: str, now: datetime) -> Case:
    case = Case(number=next_number(session, NUMBER_PREFIX, now, digits=4), plan_version=version,
                status=CaseStatus.RUNNING, started_by=username, drill_id=drill.id)
    sim = clock.case_now(session, case, now)
    data = with_received_at(data, sim)
    case.started_at = sim
    workflow = runtime.new_workflow(plan)
    try:
        runtime.begin(session, case, workflow, data, sim, username, lambda: audit.record(
            session, audit.EventKind.CASE_STARTED, username, sim, case=case, element_id=plan.process_id,
            payload={"plan": drill.plan_key, "version": version.version, "data": data}))
    except PlanFlowError as exc:
        raise PlanFlowError(f"the plan stops on its first steps, so it cannot be drilled: {exc}") from None
    return case


def open_drill(session: Session, drill_id: int, username: str) -> Drill:
    require_controller(session, username)
    drill = session.execute(select(Drill).where(Drill.id == drill_id).with_for_update()).scalar_one_or_none()
    if drill is None:
        raise NotFound(f"no drill {drill_id}")
    if drill.status == DrillStatus.ENDED:
        raise Conflict(f"drill {drill_id} has ended")
    return drill


def pause_drill(session: Session, drill_id: int, username: str, now: datetime) -> Drill:
    """Stop the simulated clock (people may still work; no deadline passes until it resumes)."""
    drill = open_drill(session, drill_id, username)
    if drill.status == DrillStatus.PAUSED:
        return drill
    clock.reanchor(drill, now)
    drill.status = DrillStatus.PAUSED
    clock.remap(session, drill)
    record(session, drill, DrillKind.PAUSED, username, now)
    return drill


def resume_drill(session: Session, drill_id: int, username: str, now: datetime) -> Drill:
    drill = open_drill(session, drill_id, username)
    if drill.status == DrillStatus.RUNNING:
        return drill
    drill.real_anchor = as_utc(now)
    drill.status = DrillStatus.RUNNING
    clock.remap(session, drill)
    record(session, drill, DrillKind.RESUMED, username, now)
    return drill


def next_due(session: Session, drill: Drill) -> datetime | None:
    """The simulated time of the drill's next waiting deadline or inject."""
    timer = session.execute(select(func.min(Timer.due_at)).join(Case, Case.id == Timer.case_id).where(
        Case.drill_id == drill.id, Timer.status == TimerStatus.WAITING)).scalar_one()
    inject = session.execute(select(func.min(DrillInject.sim_at)).where(
        DrillInject.drill_id == drill.id, DrillInject.status == "waiting")).scalar_one()
    found = [t for t in (timer, inject) if t is not None]
    return min(found) if found else None


def step_drill(session: Session, drill_id: int, username: str, now: datetime, to: datetime | None = None,
               by: timedelta | None = None) -> Drill:
    """Move the simulated clock forward (to a time, by a duration, or to the next deadline or inject).

    Whatever falls due on the way fires at its own simulated time, in order: an escalation
    the first timer starts is itself due a simulated day later, not at the end of the step.
    """
    drill = open_drill(session, drill_id, username)
    now = as_utc(now)
    clock.reanchor(drill, now)
    start = drill.sim_anchor
    if by is not None:
        if by <= timedelta(0):
            raise PlanFlowError("a step must move the clock forward")
        target = start + by
    elif to is not None:
        target = as_utc(to)
        if target < start:
            raise PlanFlowError(f"the drill's clock already reads {start.isoformat()}; it never goes back")
    else:
        target = next_due(session, drill)
        if target is None:
            raise Conflict("nothing in the drill is waiting for the clock (no deadline, no inject)")
        target = max(target, start)
    fired = _run_until(session, drill, target, now)
    record(session, drill, DrillKind.STEPPED, username, now,
           {"from": start.isoformat(), "to": target.isoformat(), "fired": fired})
    return drill


def _run_until(session: Session, drill: Drill, target: datetime, now: datetime) -> int:
    """Advance the clock to `target`, stopping at each due time on the way to fire what is due there."""
    fired = 0
    for _ in range(MAX_STEP_ROUNDS):
        due = next_due(session, drill)
        if due is None or due > target:
            break
        # SpiffWorkflow fires a timer once its due time has passed, not at it: the first microsecond after.
        drill.sim_anchor = max(drill.sim_anchor, due + clock.MICROSECOND)
        clock.remap(session, drill)
        session.flush()
        count = fire_due(session, drill, now)
        if not count:
            raise Conflict(f"drill {drill.id}: something due at {due.isoformat()} did not fire; the step stopped "
                           "there (see `planflow incidents`)")
        fired += count
    drill.sim_anchor = max(drill.sim_anchor, target)
    clock.remap(session, drill)
    return fired


def fire_due(session: Session, drill: Drill, now: datetime) -> int:
    """Fire the drill's injects and timers due at its clock's reading; return how many fired."""
    count = injects.deliver_due(session, drill, now)
    case_ids = session.execute(select(Timer.case_id).join(Case, Case.id == Timer.case_id).where(
        Case.drill_id == drill.id, Timer.status == TimerStatus.WAITING, Timer.fire_at <= now)
        .group_by(Timer.case_id)).scalars().all()
    for case_id in case_ids:
        case = lock_case(session, case_id)
        outcome = runtime.advance(session, case, spec_cache.get(case.plan_version), now, timers.WORKER,
                                  lambda workflow: workflow.refresh_timers())
        case.incident = None
        flush_case(session, case)
        count += len(outcome.fired_timers)
    return count


def end_drill(session: Session, drill_id: int, username: str, now: datetime) -> Drill:
    """End the drill: its cases stop (open tasks leave the inboxes), its clock stops, the report is kept."""
    from engine.drills import report  # the report reads everything this module writes

    drill = open_drill(session, drill_id, username)
    now = as_utc(now)
    clock.reanchor(drill, now)
    drill.status = DrillStatus.PAUSED   # the clock stands still while the cases are stopped
    for case in drill_cases(session, drill.id):
        if case.status == CaseStatus.RUNNING:
            case = lock_case(session, case.id)
            runtime.advance(session, case, spec_cache.get(case.plan_version), now, username,
                            lambda workflow: workflow.cancel())
            case.incident = None
            flush_case(session, case)
    record(session, drill, DrillKind.ENDED, username, now)
    drill.status = DrillStatus.ENDED
    drill.ended_at, drill.sim_ended_at = now, drill.sim_anchor
    for inject in session.execute(select(DrillInject).where(DrillInject.drill_id == drill.id,
                                                           DrillInject.status == "waiting")).scalars():
        inject.status = "cancelled"
    session.flush()
    drill.report = report.after_action_report(session, drill)
    return drill


def observe(session: Session, drill_id: int, text: str, username: str, now: datetime) -> DrillObservation:
    """An evaluator's observation, kept with the real and simulated time (audited)."""
    drill = get_drill(session, drill_id)
    user = get_user(session, username)
    if not (user.role_keys & CONTROLLER_ROLES or username in (drill.participants or {}).values()):
        raise PermissionDenied("only the drill's controllers and participants may record observations")
    if drill.status == DrillStatus.ENDED:
        raise Conflict(f"drill {drill_id} has ended")
    text = (text or "").strip()
    if not text:
        raise PlanFlowError("an observation needs some text")
    observation = DrillObservation(drill_id=drill.id, author=username, text=text[:4000], real_at=as_utc(now),
                                   sim_at=clock.sim_now(drill, now))
    session.add(observation)
    record(session, drill, DrillKind.OBSERVATION, username, now, {"text": observation.text})
    return observation


def set_interval(session: Session, plan_key: str, months: int | None, username: str, now: datetime) -> None:
    """How often the plan must be drilled (None: no schedule)."""
    require_controller(session, username)
    current_version(session, plan_key)
    row = session.get(PlanDrillSchedule, plan_key)
    if months is None:
        if row is not None:
            session.delete(row)
    else:
        if not 1 <= months <= 60:
            raise PlanFlowError("a drill interval is between 1 and 60 months")
        if row is None:
            row = PlanDrillSchedule(plan_key=plan_key, interval_months=months, set_by=username, set_at=now)
            session.add(row)
        row.interval_months, row.set_by, row.set_at = months, username, now
    audit.record(session, DrillKind.INTERVAL_SET, username, now, payload={"plan": plan_key, "months": months})
