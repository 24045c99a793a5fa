"""Keep a case's task, timer and message-subscription rows in line with its workflow.

The serialized workflow is the source of truth; the rows are derived from it in the same
transaction, so the inbox, the timer worker and message delivery read indexed rows and
never load a workflow just to list or find something.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.calendar import deadlines
from engine.cases.waiting import (
    all_tasks,
    attached_task,
    deadline_timer,
    is_timer,
    listening_scopes,
    message_definitions,
    timer_due,
    timer_value_text,
)
from engine.drills import clock as drill_clock
from engine.drills.participants import drill_assignee
from engine.errors import CaseEngineError
from engine.models import (
    NO_DEADLINE,
    Case,
    CaseStatus,
    MessageSubscription,
    SubscriptionStatus,
    Task,
    TaskStatus,
    Timer,
    TimerStatus,
)
from engine.records import audit


@dataclass
class SyncOutcome:
    """What changed in the rows: new tasks, fired timers, escalations."""

    new_tasks: list[Task] = field(default_factory=list)
    fired_timers: list[Timer] = field(default_factory=list)
    cancelled_tasks: list[Task] = field(default_factory=list)
    completed: bool = False


# The step path's queries, built once: building a statement costs about as much as running it.
_WAITING_TIMERS = select(Timer).where(Timer.case_id == bindparam("case_id"), Timer.status == TimerStatus.WAITING)
_OPEN_TASKS = select(Task).where(Task.case_id == bindparam("case_id"), Task.status == TaskStatus.OPEN)
_WAITING_SUBSCRIPTIONS = select(MessageSubscription).where(MessageSubscription.case_id == bindparam("case_id"),
                                                           MessageSubscription.status == SubscriptionStatus.WAITING)

# Set on a workflow by runtime.run_engine: the wall-clock time (as SpiffWorkflow stamps task state changes)
# when its latest run began, so a sync can tell what changed in this step.
STEP_STARTED = "_planflow_step_started"


def ready_user_tasks(workflow: BpmnWorkflow) -> list:
    return [t for t in all_tasks(workflow) if t.state == TaskState.READY and t.task_spec.manual]


def sync(session: Session, case: Case, workflow: BpmnWorkflow, now: datetime, actor: str) -> SyncOutcome:
    """Bring the case's rows and status in line with the workflow; audit each change."""
    outcome = SyncOutcome()
    _sync_summary(case, workflow)   # first, so the case row is written once with the state
    waiting_timers = _sync_timers(session, case, workflow, now, actor, outcome)
    _sync_tasks(session, case, workflow, now, actor, outcome, waiting_timers)
    _sync_subscriptions(session, case, workflow, now)
    _audit_escalations(session, case, now, actor, outcome)
    if workflow.is_completed() and case.status != CaseStatus.COMPLETED:
        case.status = CaseStatus.COMPLETED
        case.completed_at = now
        outcome.completed = True
        audit.record(session, audit.EventKind.CASE_COMPLETED, actor, now, case=case)
    return outcome


def _sync_timers(session, case, workflow, now, actor, outcome) -> dict[str, Timer]:
    """Index waiting timers; mark the ones gone as fired or cancelled. Returns waiting rows by spiff id."""
    existing = {t.spiff_task_id: t for t in session.execute(_WAITING_TIMERS, {"case_id": case.id}).scalars()}
    waiting = {}
    for task in all_tasks(workflow):
        if task.state == TaskState.WAITING and is_timer(task):
            due = timer_due(task)
            if due is not None:
                waiting[str(task.id)] = (task, due)
    rows = {}
    for spiff_id, (task, due) in waiting.items():
        row = existing.get(spiff_id)
        years = deadlines.provisional_years(timer_value_text(task), workflow.data)
        if row is None:
            host = attached_task(task)
            row = Timer(case_id=case.id, spiff_task_id=spiff_id, element_id=task.task_spec.bpmn_id,
                        attached_to=host.task_spec.bpmn_id if host else None, due_at=due,
                        fire_at=drill_clock.real_fire_at(session, case, due),
                        started_at=now, provisional_years=list(years or ()), status=TimerStatus.WAITING)
            session.add(row)
            if years:
                _audit_provisional(session, case, row, now, actor)
        else:
            if row.due_at != due:  # moved: a cycle timer's next occurrence, or a recomputed deadline
                row.due_at, row.fire_at = due, drill_clock.real_fire_at(session, case, due)
            if years is not None:
                row.provisional_years = list(years)
        rows[spiff_id] = row
    for spiff_id, row in existing.items():
        if spiff_id in waiting:
            continue
        task = workflow.get_task_from_id(UUID(spiff_id))
        # SpiffWorkflow resets `event_fired` once the event completes; completion is the firing.
        fired = task is not None and task.state == TaskState.COMPLETED and _timer_branch_taken(task)
        row.status = TimerStatus.FIRED if fired else TimerStatus.CANCELLED
        if fired:
            row.fired_at = now
            outcome.fired_timers.append(row)
            audit.record(session, audit.EventKind.TIMER_FIRED, actor, now, case=case, element_id=row.element_id,
                         payload={"due_at": row.due_at.isoformat(), "attached_to": row.attached_to})
    _record_fired_within_step(session, case, workflow, now, actor, outcome, set(existing))
    return rows


def _record_fired_within_step(session, case, workflow, now, actor, outcome, known: set[str]) -> None:
    """Timers that started and fired in this very step, e.g. a deadline already past when the complaint
    was registered late: they never waited, so no row saw them, but the miss must be on record like any other.

    The task such a timer guards was cancelled before anyone was offered it; it gets a cancelled
    row with its deadline, so the review lists it as escalated.
    """
    started = getattr(workflow, STEP_STARTED, None)
    if started is None:
        return
    candidates = [task for task in all_tasks(workflow)
                  if task.state == TaskState.COMPLETED and task.last_state_change >= started and is_timer(task)
                  and str(task.id) not in known and _timer_branch_taken(task) and timer_due(task) is not None]
    if not candidates:
        return
    recorded = set(session.execute(select(Timer.spiff_task_id).where(Timer.case_id == case.id)).scalars())
    task_rows = set(session.execute(select(Task.spiff_task_id).where(Task.case_id == case.id)).scalars())
    for task in candidates:
        if str(task.id) in recorded:
            continue
        due, host = timer_due(task), attached_task(task)
        row = Timer(case_id=case.id, spiff_task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                    attached_to=host.task_spec.bpmn_id if host else None, due_at=due, fire_at=due, started_at=now,
                    provisional_years=[], status=TimerStatus.FIRED, fired_at=now)
        session.add(row)
        outcome.fired_timers.append(row)
        audit.record(session, audit.EventKind.TIMER_FIRED, actor, now, case=case, element_id=row.element_id,
                     payload={"due_at": due.isoformat(), "attached_to": row.attached_to,
                              "already_due_when_started": True})
        if host is not None and host.state == TaskState.CANCELLED and host.task_spec.manual \
                and str(host.id) not in task_rows:
            missed = _task_row(case, host, TaskStatus.CANCELLED, now, due, provisional=False)
            session.add(missed)
            outcome.cancelled_tasks.append(missed)


def _timer_branch_taken(task) -> bool:
    """For an event-based gateway, whether its timer (not a message) was the event that came."""
    seen = task.internal_data.get("seen_events")
    if not seen:
        return True
    return any(isinstance(getattr(event, "event_definition", None), TimerEventDefinition) for event in seen)


def _audit_provisional(session, case, timer: Timer, now, actor) -> None:
    audit.record(session, audit.EventKind.DEADLINE_PROVISIONAL, actor, now, case=case, element_id=timer.element_id,
                 payload={"due_at": timer.due_at.isoformat(), "attached_to": timer.attached_to,
                          "years_without_calendar_data": timer.provisional_years,
                          "warning": "computed on the weekday rule; it moves when that year's calendar is loaded"})


def _due(spiff_task, waiting_timers: dict[str, Timer]) -> tuple[datetime | None, bool]:
    timer = deadline_timer(spiff_task)
    if timer is None:
        return None, False
    row = waiting_timers.get(str(timer.id))
    return timer_due(timer), bool(row is not None and row.provisional_years)


def _sync_tasks(session, case, workflow, now, actor, outcome, waiting_timers) -> None:
    open_rows = {t.spiff_task_id: t for t in session.execute(_OPEN_TASKS, {"case_id": case.id}).scalars()}
    ready = {str(t.id): t for t in ready_user_tasks(workflow)}
    for spiff_id, row in open_rows.items():
        if spiff_id in ready:
            continue
        spiff_task = workflow.get_task_from_id(UUID(spiff_id))
        if spiff_task is not None and spiff_task.state == TaskState.COMPLETED:
            row.status = TaskStatus.COMPLETED
        else:
            row.status = TaskStatus.CANCELLED
            outcome.cancelled_tasks.append(row)
            audit.record(session, audit.EventKind.TASK_CANCELLED, actor, now, case=case, element_id=row.element_id,
                         payload={"task_id": row.id, "role": row.role, "assignee": row.assignee})
    for spiff_id, spiff_task in ready.items():
        due, provisional = _due(spiff_task, waiting_timers)
        spec = spiff_task.task_spec
        if spiff_id in open_rows:
            row = open_rows[spiff_id]
            if due is not None:
                row.due_at, row.due_sort, row.due_provisional = due, due, provisional
            # else: a non-interrupting timer recorded the miss and stopped waiting; the task keeps its
            # deadline, so the inbox goes on showing it as overdue.
            _refresh_definition(row, spec)
            continue
        if not isinstance(spec, UserTaskMixin):
            raise CaseEngineError(f"{spec.bpmn_id}: this step waits for someone to do it, but only user tasks "
                                  "(with a lane and a form) reach people")
        row = _task_row(case, spiff_task, TaskStatus.OPEN, now, due, provisional,
                        assignee=drill_assignee(session, case, spec.lane))
        session.add(row)
        outcome.new_tasks.append(row)
    session.flush()
    for row in outcome.new_tasks:
        audit.record(session, audit.EventKind.TASK_READY, actor, now, case=case, element_id=row.element_id,
                     payload={"task_id": row.id, "name": row.name, "role": row.role,
                              "due_at": row.due_at.isoformat() if row.due_at else None,
                              "due_provisional": row.due_provisional})


def _task_row(case: Case, spiff_task, status: TaskStatus, now: datetime, due: datetime | None, provisional: bool,
              assignee: str | None = None) -> Task:
    """A task row for a user task of the workflow: its element, name, role and form from the spec."""
    spec = spiff_task.task_spec
    return Task(case=case, spiff_task_id=str(spiff_task.id), element_id=spec.bpmn_id,
                name=spec.bpmn_name or spec.bpmn_id, name_en=english_name(spec), role=spec.lane or "",
                form_key=getattr(getattr(spec, "form", None), "key", None), status=status, assignee=assignee,
                created_at=now, due_at=due, due_sort=due or NO_DEADLINE, due_provisional=provisional)


def _refresh_definition(row: Task, spec) -> None:
    """Keep an open task's element, name, role and form in line with its spec (they change when a case migrates)."""
    row.element_id, row.name, row.name_en = spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, english_name(spec)
    row.form_key = getattr(getattr(spec, "form", None), "key", None)
    if spec.lane and spec.lane != row.role:
        row.role, row.assignee = spec.lane, None  # a claim by the old role's holder no longer stands


def english_name(spec) -> str | None:
    """The English name a modeler put in the element's documentation as `en: …`."""
    for line in (getattr(spec, "documentation", None) or "").splitlines():
        if line.strip().lower().startswith("en:"):
            return line.strip()[3:].strip() or None
    return None


def awaited_messages(case: Case, workflow: BpmnWorkflow) -> dict[tuple[str, str], tuple[str, dict]]:
    """(spiff id, message name) -> (element id, correlation) for every message the case waits for now."""
    awaited = {}
    for task in all_tasks(workflow):
        if task.state != TaskState.WAITING:
            continue
        for definition in message_definitions(task):
            awaited[(str(task.id), definition.name)] = (task.task_spec.bpmn_id,
                                                       _correlation(case, definition, task.data))
    for scope, start, definition in listening_scopes(workflow):
        awaited[(str(scope.task_tree.id), definition.name)] = (start.bpmn_id,
                                                              _correlation(case, definition, scope.data))
    return awaited


def _correlation(case: Case, definition, data: dict) -> dict:
    """The case number, and the case data a message's correlation properties name."""
    correlation = {"case": case.number}
    for prop in getattr(definition, "correlation_properties", None) or []:
        value = data.get(prop.name)
        if isinstance(value, (str, int, float, bool)):
            correlation[prop.name] = value
    return correlation


def _sync_subscriptions(session, case, workflow, now) -> None:
    existing = {(s.spiff_task_id, s.message_name): s for s in session.execute(
        _WAITING_SUBSCRIPTIONS, {"case_id": case.id}).scalars()}
    awaited = awaited_messages(case, workflow)
    for key, (element_id, correlation) in awaited.items():
        row = existing.get(key)
        if row is None:
            session.add(MessageSubscription(case_id=case.id, spiff_task_id=key[0], message_name=key[1],
                                            element_id=element_id, correlation=correlation,
                                            status=SubscriptionStatus.WAITING, created_at=now))
        elif row.correlation != correlation:
            row.correlation = correlation
    for key, row in existing.items():
        if key not in awaited:
            row.status = SubscriptionStatus.DELIVERED if row.delivered_at else SubscriptionStatus.CANCELLED


SUMMARY_KEYS = ("grade", "category", "complainant", "contact")


def _sync_summary(case: Case, workflow: BpmnWorkflow) -> None:
    """Copy the case data the lists filter and show onto the case row."""
    latest: dict = {}
    for task in [workflow.last_task, *ready_user_tasks(workflow)]:
        if task is not None:
            latest.update({k: task.data[k] for k in SUMMARY_KEYS if k in task.data})
    for key, value in latest.items():
        setattr(case, key, None if value is None else str(value)[:200])


def _audit_escalations(session, case, now, actor, outcome) -> None:
    """A fired boundary timer that cancelled its task is an escalation to whoever got the new tasks."""
    cancelled = {row.element_id: row for row in outcome.cancelled_tasks}
    for timer in outcome.fired_timers:
        missed = cancelled.get(timer.attached_to)
        if missed is None:
            continue
        for row in outcome.new_tasks:
            row.escalated_from = missed.element_id
        audit.record(session, audit.EventKind.ESCALATED, actor, now, case=case, element_id=timer.element_id,
                     payload={"missed_task": missed.element_id, "missed_role": missed.role,
                              "due_at": timer.due_at.isoformat(),
                              "to": [{"task_id": r.id, "element_id": r.element_id, "role": r.role}
                                     for r in outcome.new_tasks]})
