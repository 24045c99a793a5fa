"""Messages from outside a case: a complainant's written reply, a regulator's notice, a hotline callback.

A case waiting at a receive task, a message catch event, a message boundary event, an
event-based gateway or a message-started event subprocess has a subscription row
(`rows.py`): the message name and what a sender may correlate on — the case number
always, plus the case data named by the message's correlation properties. Delivery
finds exactly one waiting case, hands the message to SpiffWorkflow under the case lock
(so a second delivery of the same message finds nothing waiting: exactly once), and
advances the case like any other step. The message's data is available to the plan
as a variable named after the message (`written_reply["accepted"]`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageEventDefinition
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.cases import runtime
from engine.cases.use_cases import flush_case, lock_case, record_incident
from engine.cases.waiting import all_tasks, listening_scopes, message_definitions
from engine.db import transaction
from engine.errors import CaseChanged, CaseEngineError, Conflict, NotFound, PermissionDenied, PlanFlowError
from engine.models import Case, MessageSubscription, SubscriptionStatus
from engine.people.roles import LANE_ROLES
from engine.people.users import get_user
from engine.plans.versions import spec_cache
from engine.records import audit

MAX_MESSAGE_DATA = 100_000   # characters of JSON


class MessageInvalid(PlanFlowError):
    """The message itself is malformed (name, correlation or data)."""


@dataclass
class Delivery:
    case_number: str
    element_id: str
    next_tasks: list
    case_completed: bool


def _check(name, correlation, data) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise MessageInvalid("a message needs a name (text of at most 200 characters)")
    if not isinstance(correlation, dict) or not correlation:
        raise MessageInvalid('a message needs a correlation naming its case, e.g. {"case": "TS-2026-000001"}')
    for key, value in correlation.items():
        if not isinstance(value, (str, int, float, bool)):
            raise MessageInvalid(f"correlation '{key}' must be text, a number or true/false")
    if not isinstance(data, dict):
        raise MessageInvalid("the message data must be a JSON object")
    if len(json.dumps(data, ensure_ascii=False, default=str)) > MAX_MESSAGE_DATA:
        raise MessageInvalid(f"the message data is larger than {MAX_MESSAGE_DATA:,} characters")


def find_subscription(session: Session, name: str, correlation: dict) -> MessageSubscription:
    """The one waiting subscription a message goes to; NotFound or Conflict with the reason otherwise."""
    # A drill's case takes only a message naming it: no real message reaches a drill, no inject a real case.
    waiting = session.execute(select(MessageSubscription).join(Case, Case.id == MessageSubscription.case_id).where(
        MessageSubscription.message_name == name, MessageSubscription.status == SubscriptionStatus.WAITING,
        or_(Case.drill_id.is_(None), Case.number == str(correlation.get("case"))))
        .order_by(MessageSubscription.id)).scalars().all()
    if not waiting:
        raise NotFound(f"no case is waiting for a message '{name}'")
    matching = [s for s in waiting if all(s.correlation.get(k) == v for k, v in correlation.items())]
    if not matching:
        keys = sorted({k for s in waiting for k in s.correlation})
        raise Conflict(f"no case waiting for '{name}' matches {json.dumps(correlation, ensure_ascii=False)} "
                       f"(it can be correlated on: {', '.join(keys)})")
    if len({s.case_id for s in matching}) > 1:
        raise Conflict(f"{len({s.case_id for s in matching})} cases waiting for '{name}' match "
                       f"{json.dumps(correlation, ensure_ascii=False)}; name the case")
    return matching[0]


def deliver_message(session: Session, name: str, correlation: dict, data: dict, actor: str,
                    now: datetime) -> Delivery:
    """Deliver a message to the one case waiting for it, and advance that case."""
    _check(name, correlation, data)
    user = get_user(session, actor)
    if not user.role_keys & LANE_ROLES:
        raise PermissionDenied(f"user '{actor}' holds no role that works cases, so may not send messages to them")
    subscription = find_subscription(session, name, correlation)
    case = lock_case(session, subscription.case_id)
    session.refresh(subscription)
    if subscription.status != SubscriptionStatus.WAITING:   # someone delivered it while we waited for the lock
        raise Conflict(f"case {case.number} no longer waits for '{name}' (it was delivered or withdrawn)")

    def deliver(workflow):
        audit.record(session, audit.EventKind.MESSAGE_RECEIVED, actor, now, case=case,
                     element_id=subscription.element_id,
                     payload={"message": name, "correlation": correlation, "data": data})
        definition = _definition(workflow, subscription)
        if definition is None:
            raise CaseChanged(f"case {case.number} no longer waits for '{name}'; reload")
        _send(workflow, definition, name, data)

    subscription.delivered_at, subscription.delivered_by = now, actor
    outcome = runtime.advance(session, case, spec_cache.get(case.plan_version), now, actor, deliver)
    flush_case(session, case)
    return Delivery(case.number, subscription.element_id, outcome.new_tasks, outcome.completed)


def submit_message(session_factory, name: str, correlation: dict, data: dict, actor: str,
                   now: datetime) -> Delivery:
    """Deliver a message in its own transaction; if the case cannot advance, keep it as it was with an incident."""
    try:
        with transaction(session_factory) as session:
            return deliver_message(session, name, correlation, data, actor, now)
    except CaseEngineError as exc:
        with transaction(session_factory) as session:
            subscription = find_subscription(session, name, correlation)
            record_incident(session, subscription.case_id, str(exc), actor, now, element_id=subscription.element_id)
        raise


def send_to_workflow(workflow, name: str, data: dict) -> None:
    """Hand a message to whatever in the workflow waits for it (used where there are no rows, e.g. in memory)."""
    for task in all_tasks(workflow):
        if task.state == TaskState.WAITING:
            for definition in message_definitions(task):
                if definition.name == name:
                    return _send(workflow, definition, name, data)
    for _scope, _start, definition in listening_scopes(workflow):
        if definition.name == name:
            return _send(workflow, definition, name, data)
    raise NotFound(f"the case is not waiting for a message '{name}'")


def _send(workflow, definition, name: str, data: dict) -> None:
    # SpiffWorkflow matches the event on the waiting element's own definition object; the data
    # lands in the case as a variable named after the message.
    payload = ({"payload": data, "result_var": name}
               if isinstance(definition, CamundaMessageEventDefinition) else {name: data})
    try:
        workflow.send_event(BpmnEvent(definition, payload=payload))
    except WorkflowException:
        raise CaseChanged(f"the case no longer waits for '{name}'; reload") from None


def _definition(workflow, subscription: MessageSubscription):
    """The message definition object the subscribed element uses, or None if it no longer waits."""
    task = workflow.get_task_from_id(UUID(subscription.spiff_task_id))
    if task is not None and task.state == TaskState.WAITING:
        for definition in message_definitions(task):
            if definition.name == subscription.message_name:
                return definition
    for scope, _start, definition in listening_scopes(workflow):
        if str(scope.task_tree.id) == subscription.spiff_task_id and definition.name == subscription.message_name:
            return definition
    return None
