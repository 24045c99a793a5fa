"""Load and save a case's workflow, run it, and keep the task and timer rows in step.

The serialized workflow is the source of truth; the `tasks` and `timers` rows are
derived from it in the same transaction (`sync`), so the inbox and the worker read
indexed rows and never load a workflow just to list or find something.
The spec is kept out of the stored state: it belongs to the plan version.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.version import __version__ as LIBRARY_VERSION
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, calendar_store, deadlines, sandbox
from engine.clock import engine_time
from engine.bpmn import ParsedPlan
from engine.errors import CaseEngineError
from engine.models import NO_DEADLINE, Case, CaseStatus, Task, TaskStatus, Timer, TimerStatus


class _PinnedSpecWorkflowConverter(BpmnWorkflowConverter):
    """Serializes a workflow without its spec; restores it onto the cached spec of its plan version."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, plan: ParsedPlan = None):
        dct = dict(dct, spec=None, subprocess_specs=None)
        workflow = self.target_class(plan.spec, plan.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_registry = BpmnWorkflowSerializer.configure({**CAMUNDA_CONFIG, BpmnWorkflow: _PinnedSpecWorkflowConverter})
_serializer = BpmnWorkflowSerializer(_registry)
_script_engine = PythonScriptEngine(environment=sandbox.SandboxEnvironment(deadlines.EXPRESSION_FUNCTIONS))


@contextmanager
def running(session: Session, now: datetime):
    """Run SpiffWorkflow at `now`, counting deadlines on the organisation's current calendar."""
    with engine_time(now), deadlines.using_calendar(calendar_store.current(session)):
        yield


def new_workflow(plan: ParsedPlan) -> BpmnWorkflow:
    return BpmnWorkflow(plan.spec, plan.subprocess_specs, script_engine=_script_engine)


def dump(workflow: BpmnWorkflow) -> dict:
    return _serializer.to_dict(workflow)


def load(case: Case, plan: ParsedPlan) -> BpmnWorkflow:
    """The case's workflow, refusing state written by a newer serializer (reading it would lose data)."""
    if _version_key(case.serializer_version) > _version_key(SERIALIZER_VERSION):
        raise CaseEngineError(f"case {case.number} was saved by serializer {case.serializer_version} "
                              f"(SpiffWorkflow {case.library_version}); this installation has "
                              f"{SERIALIZER_VERSION} and must not read it — upgrade PlanFlow")
    return restore(case.workflow_state, plan)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def restore(state: dict, plan: ParsedPlan) -> BpmnWorkflow:
    workflow = _serializer.from_dict(state, plan=plan)
    workflow.script_engine = _script_engine
    return workflow


def save(case: Case, workflow: BpmnWorkflow) -> None:
    deadlines.keep_provisional(workflow.data)
    case.workflow_state = dump(workflow)
    case.serializer_version = SERIALIZER_VERSION
    case.library_version = LIBRARY_VERSION


def run_engine(workflow: BpmnWorkflow, action=None) -> None:
    """Apply `action` (if any) then advance the workflow; engine failures become CaseEngineError."""
    try:
        if action is not None:
            action()
        workflow.do_engine_steps()
    except sandbox.SandboxError as exc:
        raise CaseEngineError(f"an expression was stopped: {exc}") from exc
    except SpiffWorkflowException as exc:
        raise CaseEngineError(_describe_engine_error(exc)) from exc


def _describe_engine_error(exc: SpiffWorkflowException) -> str:
    task = getattr(exc, "task", None) or getattr(exc, "sender", None)
    spec = getattr(task, "task_spec", None)
    element = getattr(spec, "bpmn_id", None) or getattr(exc, "task_id", None)
    cause = exc.__cause__ or exc.__context__
    detail = str(exc.args[0]) if exc.args else str(exc)
    if cause is not None and str(cause) not in detail:
        detail = f"{detail}: {cause}"
    return f"{element}: {detail}" if element else detail


def ready_user_tasks(workflow: BpmnWorkflow) -> list:
    return [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)]


def find_spiff_task(workflow: BpmnWorkflow, spiff_task_id: str):
    return workflow.get_task_from_id(UUID(spiff_task_id))


def _is_timer(task) -> bool:
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


def timer_due(task) -> datetime | None:
    """The due time SpiffWorkflow fixed when the timer started waiting (never recomputed here)."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):  # cycle timer: the next occurrence
        value = value.get("next") if value.get("cycles") != 0 else None
    if not value:
        return None
    return TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None


def attached_task(timer_task):
    """The activity a boundary timer is attached to (its sibling under the boundary split), or None."""
    parent = timer_task.parent
    if parent is None or not parent.task_spec.name.endswith(".BoundaryEventSplit"):
        return None
    for sibling in parent.children:
        if not isinstance(sibling.task_spec, CatchingEvent):
            return sibling
    return None


def deadline_timer(user_task):
    """The waiting boundary timer that falls due first on a user task, or None."""
    parent = user_task.parent
    if parent is None:
        return None
    timers = [s for s in parent.children if s is not user_task and _is_timer(s)
              and s.state == TaskState.WAITING and timer_due(s) is not None]
    return min(timers, key=timer_due, default=None)


def deadline_of(user_task) -> datetime | None:
    """The earliest waiting boundary-timer due time on a user task."""
    timer = deadline_timer(user_task)
    return timer_due(timer) if timer is not None else None


@dataclass
class SyncOutcome:
    """What changed in the rows: new tasks, fired timers, escalations."""

    new_tasks: list[Task] = field(default_factory=list)
    fired_timers: list[Timer] = field(default_factory=list)
    cancelled_tasks: list[Task] = field(default_factory=list)
    completed: bool = False


def sync(session: Session, case: Case, workflow: BpmnWorkflow, now: datetime, actor: str) -> SyncOutcome:
    """Bring the case's task and timer rows and status in line with the workflow; audit each change."""
    outcome = SyncOutcome()
    waiting_timers = _sync_timers(session, case, workflow, now, actor, outcome)
    _sync_tasks(session, case, workflow, now, actor, outcome, waiting_timers)
    _audit_escalations(session, case, now, actor, outcome)
    _sync_summary(case, workflow)
    if workflow.is_completed() and case.status != CaseStatus.COMPLETED:
        case.status = CaseStatus.COMPLETED
        case.completed_at = now
        outcome.completed = True
        audit.record(session, audit.EventKind.CASE_COMPLETED, actor, now, case=case)
    return outcome


def _sync_timers(session, case, workflow, now, actor, outcome) -> dict[str, Timer]:
    """Index waiting timers; mark the ones gone as fired or cancelled. Returns waiting rows by spiff id."""
    existing = {t.spiff_task_id: t for t in session.execute(
        select(Timer).where(Timer.case_id == case.id, Timer.status == TimerStatus.WAITING)).scalars()}
    waiting = {}
    for task in workflow.get_tasks(state=TaskState.WAITING):
        due = timer_due(task) if _is_timer(task) else None
        if due is not None:
            waiting[str(task.id)] = (task, due)
    rows = {}
    for spiff_id, (task, due) in waiting.items():
        row = existing.get(spiff_id)
        years = deadlines.provisional_years(task.internal_data.get("event_value"), workflow.data)
        if row is None:
            host = attached_task(task)
            row = Timer(case_id=case.id, spiff_task_id=spiff_id, element_id=task.task_spec.bpmn_id,
                        attached_to=host.task_spec.bpmn_id if host else None, due_at=due, fire_at=due,
                        started_at=now, provisional_years=list(years or ()), status=TimerStatus.WAITING)
            session.add(row)
            if years:
                _audit_provisional(session, case, row, now, actor)
        else:
            if row.due_at != due:  # moved: a cycle timer's next occurrence, or a recomputed deadline
                row.due_at, row.fire_at = due, due
            if years is not None:
                row.provisional_years = list(years)
        rows[spiff_id] = row
    for spiff_id, row in existing.items():
        if spiff_id in waiting:
            continue
        task = workflow.get_task_from_id(UUID(spiff_id))
        # SpiffWorkflow resets `event_fired` once the event completes; completion is the firing.
        fired = task is not None and task.state == TaskState.COMPLETED
        row.status = TimerStatus.FIRED if fired else TimerStatus.CANCELLED
        if fired:
            row.fired_at = now
            outcome.fired_timers.append(row)
            audit.record(session, audit.EventKind.TIMER_FIRED, actor, now, case=case, element_id=row.element_id,
                         payload={"due_at": row.due_at.isoformat(), "attached_to": row.attached_to})
    return rows


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
    open_rows = {t.spiff_task_id: t for t in session.execute(
        select(Task).where(Task.case_id == case.id, Task.status == TaskStatus.OPEN)).scalars()}
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
            row.due_at, row.due_sort, row.due_provisional = due, due or NO_DEADLINE, provisional
            _refresh_definition(row, spec)
            continue
        if not isinstance(spec, UserTaskMixin):
            raise CaseEngineError(f"{spec.bpmn_id}: only user tasks may wait for people")
        row = Task(case=case, spiff_task_id=spiff_id, element_id=spec.bpmn_id,
                   name=spec.bpmn_name or spec.bpmn_id, name_en=english_name(spec), role=spec.lane or "",
                   form_key=getattr(getattr(spec, "form", None), "key", None), status=TaskStatus.OPEN,
                   created_at=now, due_at=due, due_sort=due or NO_DEADLINE, due_provisional=provisional)
        session.add(row)
        outcome.new_tasks.append(row)
    session.flush()
    for row in outcome.new_tasks:
        audit.record(session, audit.EventKind.TASK_READY, actor, now, case=case, element_id=row.element_id,
                     payload={"task_id": row.id, "name": row.name, "role": row.role,
                              "due_at": row.due_at.isoformat() if row.due_at else None,
                              "due_provisional": row.due_provisional})


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
