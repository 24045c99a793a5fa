"""Event subprocesses as BPMN means them, where SpiffWorkflow 3.2 falls short.

SpiffWorkflow 3.2 parses every `triggeredByEvent` subprocess as a plain call activity
and ignores `isInterrupting`: a timer-started event subprocess runs as one more branch
of the case, so (a) an interrupting one leaves the main flow running, and (b) once the
main flow has ended the case still waits for the timer and then runs the event
subprocess. BPMN says: an interrupting start cancels everything else in its scope, and
a scope whose own flow has ended is complete — event subprocesses that have not started
are withdrawn. The parser pieces here mark event subprocesses and interrupting starts;
`after_step` and `close_finished_scopes` apply the two rules while the engine runs.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.parser.event_parsers import (
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TIMER_EVENT_XPATH,
)
from SpiffWorkflow.bpmn.parser.task_parsers import SubprocessParser
from SpiffWorkflow.bpmn.serializer.default.task_spec import EventConverter
from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.bpmn.specs.defaults import EventSubprocess, StartEvent
from SpiffWorkflow.camunda.parser.event_parsers import CamundaStartEventParser
from SpiffWorkflow.camunda.parser.task_spec import SubWorkflowParser
from SpiffWorkflow.util.task import TaskState

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


class ScopedStartEvent(StartEvent):
    """A start event that knows whether it interrupts its scope (only meaningful in an event subprocess)."""

    def __init__(self, wf_spec, bpmn_id, event_definition, interrupting=True, **kwargs):
        super().__init__(wf_spec, bpmn_id, event_definition, **kwargs)
        self.interrupting = interrupting


class ScopedStartEventConverter(EventConverter):
    def to_dict(self, spec):
        dct = super().to_dict(spec)
        dct["interrupting"] = spec.interrupting
        return dct


class ScopedStartEventParser(CamundaStartEventParser):
    """Start events with `isInterrupting`, and the error and escalation starts SpiffWorkflow's parser skips
    (which would make an error event subprocess start with the case)."""

    def create_task(self):
        task = self._create_task(self.get_event_definition(
            [MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH, CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH,
             ESCALATION_EVENT_XPATH]))
        self.spec.start.connect(task)
        task.interrupting = (self.node.get("isInterrupting") or "true").lower() != "false"
        return task


class EventSubprocessParser(SubWorkflowParser):
    """A subprocess with `triggeredByEvent="true"` is an event subprocess (SpiffWorkflow looks for the attribute
    in the wrong namespace and makes it a call activity)."""

    def create_task(self):
        triggered = (self.node.get("triggeredByEvent") or "").lower() == "true"
        spec_class = EventSubprocess if triggered else self.spec_class
        return spec_class(self.spec, self.bpmn_id, subworkflow_spec=SubprocessParser.get_subprocess_spec(self),
                          **self.bpmn_attributes)


CONVERTERS = {ScopedStartEvent: ScopedStartEventConverter}


def _scope_task(workflow):
    """The task in the parent workflow that runs this (sub)workflow, or None for the case itself."""
    parent_id = getattr(workflow, "parent_task_id", None)
    return workflow.top_workflow.get_task_from_id(parent_id) if parent_id is not None else None


def after_step(task) -> None:
    """Once an interrupting event subprocess has started, cancel everything else in its scope."""
    spec = task.task_spec
    if not isinstance(spec, ScopedStartEvent) or not spec.interrupting or task.state != TaskState.COMPLETED:
        return
    event_subprocess_task = _scope_task(task.workflow)
    if event_subprocess_task is None or not isinstance(event_subprocess_task.task_spec, EventSubprocess):
        return
    scope = event_subprocess_task.workflow
    for other in list(scope.tasks.values()):
        if other is event_subprocess_task or not other.has_state(ACTIVE) or isinstance(other.task_spec, _EndJoin):
            continue
        if event_subprocess_task.is_descendant_of(other):
            continue
        other.cancel()
    _update_end_joins(scope)


def close_finished_scopes(workflow) -> bool:
    """Withdraw event subprocesses that never started from scopes whose own flow has ended.

    Returns whether anything changed, so the caller runs the engine again.
    """
    changed = False
    for scope in [workflow, *workflow.subprocesses.values()]:
        active = [t for t in scope.tasks.values() if t.has_state(ACTIVE) and not isinstance(t.task_spec, _EndJoin)]
        if not active or not all(_is_dormant_event_subprocess(t) for t in active):
            continue
        for task in active:
            task.cancel()
        _update_end_joins(scope)
        changed = True
    return changed


def _is_dormant_event_subprocess(task) -> bool:
    if not isinstance(task.task_spec, EventSubprocess):
        return False
    subprocess = task.workflow.top_workflow.get_subprocess(task)
    if subprocess is None:
        return True
    starts = [t for t in subprocess.tasks.values() if isinstance(t.task_spec, StartEvent)]
    return bool(starts) and all(t.state == TaskState.WAITING for t in starts)


def _update_end_joins(scope) -> None:
    for task in list(scope.tasks.values()):
        if isinstance(task.task_spec, _EndJoin) and task.state == TaskState.WAITING:
            task.task_spec._update(task)
