"""What a case's waiting tasks wait for: a due time, a message, or other tasks.

SpiffWorkflow keeps what an event waits for on the task: a timer's due time in
`internal_data['event_value']`, a message by its definition. An event-based gateway
is itself the waiting task, carrying the definitions of every event behind it.
"""
from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.util.task import TaskState


def _definitions(task) -> list:
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition] if definition is not None else []


def is_timer(task) -> bool:
    """Whether the task waits (or may wait) for a timer, alone or behind an event-based gateway."""
    return any(isinstance(d, TimerEventDefinition) for d in _definitions(task))


def message_definitions(task) -> list[MessageEventDefinition]:
    """The messages a catching task waits for (several behind an event-based gateway)."""
    if not isinstance(task.task_spec, CatchingEvent):
        return []
    return [d for d in _definitions(task) if isinstance(d, MessageEventDefinition)]


def unsupported_definitions(task) -> list[str]:
    """Event kinds a waiting catch event uses that nothing in PlanFlow can deliver (e.g. signals)."""
    if not isinstance(task.task_spec, CatchingEvent):
        return []
    names = []
    for definition in _definitions(task):
        kind = type(definition).__name__
        if kind in ("SignalEventDefinition", "ConditionalEventDefinition"):
            names.append(kind.replace("EventDefinition", "").lower())
    return names


def timer_due(task) -> datetime | None:
    """The due time SpiffWorkflow fixed when the timer started waiting (never recomputed here)."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):  # cycle timer: the next occurrence
        value = value.get("next") if value.get("cycles") != 0 else None
    if not value:
        return None
    return TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None


def timer_value_text(task) -> str | None:
    """The timer's due time as the ISO text a deadline function returned (cycles: the next occurrence)."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):
        value = value.get("next")
    return value if isinstance(value, str) else None


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
    timers = [s for s in parent.children if s is not user_task and is_timer(s)
              and s.state == TaskState.WAITING and timer_due(s) is not None]
    return min(timers, key=timer_due, default=None)


def deadline_of(user_task) -> datetime | None:
    """The earliest waiting boundary-timer due time on a user task."""
    timer = deadline_timer(user_task)
    return timer_due(timer) if timer is not None else None


def all_tasks(workflow) -> list:
    """Every task of the case, subprocesses included, read from the task maps (not the tree walk).

    SpiffWorkflow's tree iteration stops about 1,000 levels down; the maps hold every task.
    """
    tasks = list(workflow.tasks.values())
    for subprocess in workflow.subprocesses.values():
        tasks.extend(subprocess.tasks.values())
    return tasks


def listening_scopes(workflow) -> list[tuple[object, object, MessageEventDefinition]]:
    """(scope workflow, start event spec, message) for each message-started event subprocess that can start now.

    Such an event subprocess has no task until its message arrives: the running case is
    what listens (SpiffWorkflow starts event subprocesses by message at the top level only).
    """
    found = []
    for scope in [workflow]:
        if scope.is_completed():
            continue
        for name in getattr(scope.spec.start, "trigger_specs", []):
            sub_spec = workflow.subprocess_specs.get(name)
            for start in getattr(sub_spec, "bpmn_start_events", []) if sub_spec else []:
                definition = getattr(start, "event_definition", None)
                if isinstance(definition, MessageEventDefinition):
                    found.append((scope, start, definition))
    return found
