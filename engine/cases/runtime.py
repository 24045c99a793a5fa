"""Run a case's workflow: the one facade over SpiffWorkflow that the use cases call.

Every use case that moves a case does it through `advance` (or `begin` for a new case):
load the workflow, apply what the use case does to it, run the engine to rest within a
step budget, save, re-sync the task, timer and subscription rows, and check the
liveness invariant. Anything the engine raises — whatever its class — and any case
left neither completed nor visibly waiting becomes a CaseEngineError naming the
element, which the caller records as an incident.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine import sandbox
from engine.calendar import deadlines
from engine.calendar import store as calendar_store
from engine.calendar.clock import engine_time
from engine.cases import liveness, persistence, pruning, rows, scopes
from engine.cases.engine_errors import engine_error_text, without_addresses
from engine.drills import clock as drill_clock
from engine.cases.rows import SyncOutcome, english_name, ready_user_tasks, sync  # noqa: F401 — the facade's names
from engine.cases.waiting import all_tasks, attached_task, deadline_of, deadline_timer, timer_due  # noqa: F401
from engine.errors import CaseEngineError, PlanFlowError
from engine.models import Case
from engine.notifications import events as notifications
from engine.plans.bpmn import ParsedPlan
from engine.plans.versions import spec_cache

_script_engine = PythonScriptEngine(environment=sandbox.SandboxEnvironment(deadlines.EXPRESSION_FUNCTIONS))


@dataclass(frozen=True)
class StepBudget:
    """How much engine work one advance may do before it is stopped as a runaway."""

    steps: int = 1_000
    # On SQLite a step holds the database write lock: this bounds how long other writers wait.
    seconds: float = 10.0
    depth: int = 900   # SpiffWorkflow stops seeing tasks about 1,000 levels down its task tree

    @classmethod
    def from_env(cls) -> "StepBudget":
        return cls(steps=int(os.environ.get("PLANFLOW_MAX_ENGINE_STEPS", cls.steps)),
                   seconds=float(os.environ.get("PLANFLOW_MAX_ADVANCE_SECONDS", cls.seconds)))


BUDGET = StepBudget.from_env()


@contextmanager
def running(session: Session, now: datetime):
    """Run SpiffWorkflow at `now`, counting deadlines on the organisation's current calendar."""
    with engine_time(now), deadlines.using_calendar(lambda: calendar_store.current(session)):
        yield


def new_workflow(plan: ParsedPlan) -> BpmnWorkflow:
    return persistence.new_workflow(plan, _script_engine)


def load(case: Case, plan: ParsedPlan, reuse: bool = False) -> BpmnWorkflow:
    return persistence.load(case, plan, _script_engine, reuse=reuse)


def restore(state: dict, plan: ParsedPlan) -> BpmnWorkflow:
    return persistence.restore(state, plan, _script_engine)


dump = persistence.dump


def save(case: Case, workflow: BpmnWorkflow) -> None:
    deadlines.keep_provisional(workflow.data)
    persistence.save(case, workflow, spec_cache.get(case.plan_version))


class _Runaway(Exception):
    pass


class _Steps:
    """Counts the engine's steps in one advance and stops it when the budget is spent."""

    def __init__(self, budget: StepBudget):
        self.budget = budget
        self.count = 0
        self.started = time.monotonic()
        self.current = None

    def before(self, task) -> None:
        self.current = task
        self.count += 1
        if self.count > self.budget.steps:
            raise _Runaway(f"the case ran more than {self.budget.steps:,} engine steps without waiting for a person, "
                           "a timer or a message (a loop without a waiting step, or a plan that calls itself?)")
        if time.monotonic() - self.started > self.budget.seconds:
            raise _Runaway(f"the case ran longer than {self.budget.seconds:g} s in one step")
        if self.count % 50 == 0 and task.depth > self.budget.depth:
            raise _Runaway(f"the case's history is nested {task.depth} levels deep: a loop has run too many rounds "
                           "(use a standard loop, or let the loop wait for a person or a timer)")


def run_engine(workflow: BpmnWorkflow, action: Callable[[], object] | None = None,
               budget: StepBudget | None = None) -> None:
    """Apply `action` (if any), then run the engine to rest; every engine failure becomes CaseEngineError."""
    steps = _Steps(budget or BUDGET)
    setattr(workflow, rows.STEP_STARTED, time.time())
    try:
        if action is not None:
            action()
        while True:
            workflow.do_engine_steps(will_complete_task=steps.before, did_complete_task=scopes.after_step)
            if not scopes.close_finished_scopes(workflow) and not _finish_spent_cycles(workflow):
                break
        _refuse_uncaught_errors(workflow)
    except PlanFlowError as exc:
        if isinstance(exc, CaseEngineError) or steps.current is None:
            raise
        raise CaseEngineError(f"{_element(steps.current)}: {exc}") from exc
    except _Runaway as exc:
        raise CaseEngineError(f"{_element(steps.current)}: {exc}") from None
    except sandbox.SandboxError as exc:
        raise CaseEngineError(f"{_element(steps.current)}: an expression was stopped: {exc}") from exc
    except SpiffWorkflowException as exc:
        raise CaseEngineError(_describe_engine_error(exc, steps.current)) from exc
    except Exception as exc:  # noqa: BLE001 — whatever the engine raises is an incident, never a traceback
        task = _failing_task(exc.__traceback__) or steps.current
        raise CaseEngineError(f"{_element(task)}: {type(exc).__name__}: {without_addresses(str(exc))}") from exc


def _finish_spent_cycles(workflow: BpmnWorkflow) -> bool:
    """Let a cycle timer that has fired its last repetition complete now.

    SpiffWorkflow only notices at the next timer refresh, and with no due time left
    nothing would ever refresh it: the case would wait on a timer that cannot fire.
    """
    spent = [t for t in all_tasks(workflow) if t.state == TaskState.WAITING and t.internal_data.get("event_fired")
             and isinstance(t.internal_data.get("event_value"), dict) and t.internal_data["event_value"].get("cycles") == 0]
    for task in spent:
        task.task_spec._update(task)
    return bool(spent)


def _refuse_uncaught_errors(workflow: BpmnWorkflow) -> None:
    """An error end or throw event that nothing in the case catches would end its path silently."""
    for event in workflow.bpmn_events:
        definition = event.event_definition
        if isinstance(definition, ErrorEventDefinition):
            code = getattr(definition, "code", None) or definition.name
            raise CaseEngineError(f"error '{code}' was thrown and nothing in the plan catches it "
                                  "(add an error boundary event or an error event subprocess)")


def _failing_task(traceback):
    """The innermost SpiffWorkflow task on the stack where an unexpected error was raised."""
    found = None
    while traceback is not None:
        for name in ("my_task", "task", "self"):
            candidate = traceback.tb_frame.f_locals.get(name)
            if isinstance(candidate, SpiffTask) and getattr(candidate.task_spec, "bpmn_id", None):
                found = candidate
                break
        traceback = traceback.tb_next
    return found


def _element(task) -> str:
    if task is None:
        return "the case"
    spec = task.task_spec
    return getattr(spec, "bpmn_id", None) or spec.name


def _describe_engine_error(exc: SpiffWorkflowException, current=None) -> str:
    task = getattr(exc, "task", None) or getattr(exc, "sender", None) or current
    element = getattr(getattr(task, "task_spec", None), "bpmn_id", None) or getattr(exc, "task_id", None)
    detail = engine_error_text(exc)
    return f"{element}: {detail}" if element else detail


def settle(session: Session, case: Case, workflow: BpmnWorkflow, now: datetime, actor: str) -> SyncOutcome:
    """Save the workflow, re-sync its rows, and refuse a case that is neither done nor visibly waiting."""
    _refuse_stall(workflow)
    save(case, workflow)
    return _sync_rows(session, case, workflow, now, actor)


def _refuse_stall(workflow: BpmnWorkflow) -> None:
    found = liveness.problems(workflow)
    if found:
        raise CaseEngineError("; ".join(found))


def _sync_rows(session: Session, case: Case, workflow: BpmnWorkflow, now: datetime, actor: str) -> SyncOutcome:
    """Re-sync the saved workflow's rows and queue its notifications.

    Finished history is pruned after the rows are synced (they may name this step's tasks);
    when something was pruned the state is saved again.
    """
    outcome = sync(session, case, workflow, now, actor)
    notifications.on_step(session, case, outcome, now, actor)  # outbox rows in this step's transaction
    if pruning.prune(workflow):
        save(case, workflow)
    return outcome


def begin(session: Session, case: Case, workflow: BpmnWorkflow, data: dict, now: datetime, actor: str,
          record_start: Callable[[], object]) -> SyncOutcome:
    """Run a new case's workflow from its start with the registration data, and settle it (its first step).

    The case row is inserted once, with the state its first step came to rest in;
    `record_start` then records the start (it needs the row's id), before any event of the step.
    """
    start_tasks = workflow.get_tasks(state=TaskState.READY)
    session.add(case)
    with running(session, now), session.no_autoflush:
        run_engine(workflow, lambda: [task.data.update(data) for task in start_tasks])
        _refuse_stall(workflow)
        save(case, workflow)
        session.flush()
        record_start()
        return _sync_rows(session, case, workflow, now, actor)


def advance(session: Session, case: Case, plan: ParsedPlan, now: datetime, actor: str,
            action: Callable[[BpmnWorkflow], object] | None = None) -> SyncOutcome:
    """Load the case, apply `action(workflow)`, run it to rest, save and re-sync — the one path that moves a case."""
    now = drill_clock.case_now(session, case, now)  # a drill case runs on its drill's simulated clock
    session.flush()
    # Rows are written once, at the end: no query inside the step flushes half-made changes.
    with session.no_autoflush:
        workflow = load(case, plan, reuse=True)
        with running(session, now):
            run_engine(workflow, (lambda: action(workflow)) if action is not None else None)
            return settle(session, case, workflow, now, actor)


def find_spiff_task(workflow: BpmnWorkflow, spiff_task_id: str):
    return workflow.get_task_from_id(UUID(spiff_task_id))


__all__ = ["BUDGET", "StepBudget", "SyncOutcome", "TaskState", "advance", "begin", "attached_task", "deadline_of",
           "deadline_timer", "dump", "english_name", "find_spiff_task", "load", "new_workflow", "ready_user_tasks",
           "restore", "run_engine", "running", "save", "settle", "sync", "timer_due"]
