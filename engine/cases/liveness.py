"""The liveness invariant: every case moves, waits on something visible, or is an incident.

After every advance a case is exactly one of:
  - completed: the engine says so and nothing in it is still ready, waiting or started;
  - waiting on something a person, the worker or a sender can see: an open user task,
    a timer with a due time, or a message subscription;
  - an incident, with a message naming the element.
`problems` finds what breaks the first two; the runtime turns it into an incident in
the same step, so a case can never sit silently `running`. `planflow doctor` checks the
stored cases against the same rule, rows included.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.cases.waiting import (
    all_tasks,
    is_timer,
    listening_scopes,
    message_definitions,
    timer_due,
    unsupported_definitions,
)
from engine.models import (
    Case,
    CaseStatus,
    MessageSubscription,
    SubscriptionStatus,
    Task,
    TaskStatus,
    Timer,
    TimerStatus,
)

UNFINISHED = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def _name(task) -> str:
    spec = task.task_spec
    return getattr(spec, "bpmn_id", None) or spec.name


def problems(workflow) -> list[str]:
    """What stops the workflow from being completed or visibly waiting; empty when it is live."""
    tasks = all_tasks(workflow)
    unfinished = [t for t in tasks if t.has_state(UNFINISHED)]
    if workflow.is_completed():
        left = sorted({_name(t) for t in unfinished})
        return [f"the engine ended the case while {', '.join(left)} had not finished "
                "(a loop ran too many rounds?)"] if left else []
    found, visible = [], 0
    for task in unfinished:
        if task.state == TaskState.READY:
            if isinstance(task.task_spec, UserTaskMixin):
                visible += 1
            elif task.task_spec.manual:
                found.append(f"{_name(task)}: this step waits for someone to do it, but only user tasks "
                             "(with a lane and a form) reach people")
            else:
                found.append(f"{_name(task)}: the engine stopped with this step ready to run")
        elif task.state == TaskState.WAITING and isinstance(task.task_spec, CatchingEvent):
            unsupported = unsupported_definitions(task)
            if unsupported:
                found.append(f"{_name(task)}: waits for a {' / '.join(unsupported)} event, which PlanFlow "
                             "cannot deliver")
            if is_timer(task):
                if timer_due(task) is None:
                    found.append(f"{_name(task)}: a timer without a due time")
                else:
                    visible += 1
            if message_definitions(task):
                visible += 1
    visible += len(listening_scopes(workflow))
    if not found and not visible:
        waiting = sorted({_name(t) for t in unfinished if not isinstance(t.task_spec, _EndJoin)})
        found.append("nothing can move the case: no open task, no timer and no awaited message"
                     + (f" (stopped at {', '.join(waiting)})" if waiting else ""))
    return found


def stored_problems(session: Session, case: Case, workflow) -> list[str]:
    """`problems`, plus rows that disagree: a running case must have a row for what it waits on."""
    found = problems(workflow)
    if case.status == CaseStatus.COMPLETED:
        if not workflow.is_completed():
            found.append("marked completed but the engine has not finished")
        return found
    if workflow.is_completed():
        return found + ["the engine has finished but the case is still marked running"]
    rows = sum(session.execute(select(func.count()).select_from(model).where(model.case_id == case.id, condition))
               .scalar_one() for model, condition in ((Task, Task.status == TaskStatus.OPEN),
                                                      (Timer, Timer.status == TimerStatus.WAITING),
                                                      (MessageSubscription,
                                                       MessageSubscription.status == SubscriptionStatus.WAITING)))
    if not rows and not found:
        found.append("running, but no open task, waiting timer or message subscription row")
    return found
