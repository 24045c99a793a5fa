"""BPMN that PlanFlow cannot run, found in the XML before parsing, each finding with its element and a hint.

A case must always move, wait on something visible, or stop with an incident; an element
that would leave it waiting silently (a service task with nobody to call, a signal no one
sends, a Camunda expression the Python sandbox cannot read) is refused at deploy instead.
Elements Camunda ignores or passes through (plain tasks, listeners) deploy with a warning.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from engine.errors import Problem
from engine.people.roles import LANE_ROLES
from engine.plans.bpmn import BPMN_NS, CAMUNDA_NS
from engine.plans.dialect import candidate_groups, candidate_role

EXPRESSIONS_HINT = "expressions are Python; timers are ISO 8601, e.g. `PT24H`, `R/PT1H`"
NO_SERVICES_HINT = "plans cannot call external services; use a script task or a user task"
NO_SENDING_HINT = ("a case does not send messages; use a user task for the person who sends it, "
                   "or a script task")
MESSAGE_START_HINT = ("cases start by registration or the API; use a message start event inside an "
                      "event subprocess")

# Event definitions SpiffWorkflow 3.2 does not run correctly, with what to draw instead.
UNSUPPORTED_EVENTS = {
    "signalEventDefinition": "signal events are not supported; to wait for something from outside use a "
                             "message event, inside a case use an escalation or error event",
    "conditionalEventDefinition": "conditional events are not supported: nothing re-checks the condition while "
                                  "the case waits; use an exclusive gateway, a timer or a message event",
    "compensateEventDefinition": "compensation events are not supported; draw the undoing steps as tasks on "
                                 "an error path",
    "linkEventDefinition": "link events are not supported; connect the sequence flows directly",
    "cancelEventDefinition": "cancel events are not supported; use an error end event and an error boundary "
                             "event",
}

UNSUPPORTED_ELEMENTS = {
    "serviceTask": f"a service task cannot run: {NO_SERVICES_HINT}",
    "sendTask": f"a send task cannot run: {NO_SENDING_HINT}",
    "complexGateway": "a complex gateway is not supported; use an inclusive or exclusive gateway",
    "adHocSubProcess": "an ad-hoc subprocess is not supported; use a parallel or inclusive gateway",
    "transaction": "a transaction is not supported (there is nothing to roll back); use an embedded subprocess "
                   "with an error end event",
}

PASS_THROUGH = {
    "task": "a plain task does nothing: the case passes straight through it, as in Camunda; make it a user "
            "task if someone must act",
    "manualTask": "a manual task is not tracked: the case passes straight through it, as in Camunda; make it a "
                  "user task if the case should wait for someone",
}

IGNORED_CAMUNDA = {
    "executionListener": "camunda:executionListener is ignored: plans run no listener code",
    "taskListener": "camunda:taskListener is ignored: plans run no listener code",
    "assignee": "camunda:assignee is ignored: a task goes to everyone holding its lane's role",
    "candidateUsers": "camunda:candidateUsers is ignored: a task goes to everyone holding its lane's role",
}

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
JUEL = re.compile(r"[$#]\{")
# Quartz cron as Camunda reads it: 6 or 7 fields of digits, *, ?, /, -, commas, L, W, # and names.
_CRON = re.compile(r"^[\w*?/,#-]+(\s+[\w*?/,#-]+){4,6}$")
_PYTHON = {"python", "py", "python3"}
_EVENT_TAGS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_CATCHING_MESSAGE = {"intermediateCatchEvent", "boundaryEvent", "startEvent"}


@dataclass
class Findings:
    """What the XML shows before parsing: problems refuse the deploy, warnings are shown with it."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def local(node) -> str:
    return node.tag.rsplit("}", 1)[-1] if isinstance(node.tag, str) else ""


def _bpmn(node) -> bool:
    return isinstance(node.tag, str) and node.tag.startswith(f"{{{BPMN_NS}}}")


def _owner_id(node) -> str | None:
    """The id of the nearest element (this one or an ancestor) that has one."""
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def find_unsupported(root, filename: str) -> Findings:
    """Every element of the document that cannot run here (problems) or is passed over (warnings)."""
    found = Findings()
    in_lane = {ref.text.strip() for ref in root.iter(f"{{{BPMN_NS}}}flowNodeRef") if ref.text}
    defined = {kind: {node.get("id"): node for node in root.iter(f"{{{BPMN_NS}}}{kind}")}
               for kind in ("message", "error", "escalation")}

    def problem(message: str, node) -> None:
        found.problems.append(Problem(message, _owner_id(node), filename))

    def warning(message: str, node) -> None:
        found.warnings.append(Problem(message, _owner_id(node), filename))

    for node in root.iter():
        if not _bpmn(node):
            _extension(node, warning)
            continue
        _references(node, defined, problem)
        tag = local(node)
        if tag in UNSUPPORTED_ELEMENTS:
            problem(UNSUPPORTED_ELEMENTS[tag], node)
        elif tag in PASS_THROUGH:
            warning(PASS_THROUGH[tag], node)
        elif tag in UNSUPPORTED_EVENTS:
            problem(UNSUPPORTED_EVENTS[tag], node)
        elif tag in _EVENT_TAGS:
            _event(node, tag, problem)
        elif tag == "receiveTask" and not node.get("messageRef"):
            problem("a receive task needs the message it waits for (messageRef)", node)
        elif tag == "businessRuleTask" and not node.get(f"{{{CAMUNDA_NS}}}decisionRef"):
            problem("a business-rule task needs a decision: set camunda:decisionRef to the id of a decision "
                    "in a .dmn file", node)
        elif tag == "userTask":
            _user_task(node, node.get("id") in in_lane, problem, warning)
        elif tag == "scriptTask":
            _script(node, problem)
        elif tag in ("conditionExpression", "loopCardinality", "completionCondition",
                     "loopCondition"):
            _expression(node, problem)
        elif tag in ("timeDuration", "timeDate", "timeCycle"):
            _timer(node, tag, problem)
        elif tag == "multiInstanceLoopCharacteristics":
            _multi_instance(node, problem)
        elif tag == "eventBasedGateway":
            _event_gateway(node, problem)
    return found


def _event(node, tag: str, problem) -> None:
    definitions = [child for child in node if _bpmn(child) and local(child).endswith("EventDefinition")]
    if len(definitions) > 1:
        problem("an event with several triggers is not supported; use an event-based gateway, or one boundary "
                "event per trigger", node)
        return
    kind = local(definitions[0]) if definitions else None
    if kind != "messageEventDefinition":
        return
    if tag in ("intermediateThrowEvent", "endEvent"):
        problem(f"a message throw event cannot run: {NO_SENDING_HINT}", node)
    elif tag == "startEvent" and not _in_event_subprocess(node):
        problem(f"a message start event here cannot start anything: {MESSAGE_START_HINT}", node)
    elif tag in _CATCHING_MESSAGE and not definitions[0].get("messageRef"):
        problem("a message event needs the message it waits for (messageRef)", node)


def _references(node, defined: dict, problem) -> None:
    """A message, error or escalation named by an element must be defined in the file (and a message named)."""
    for kind in ("message", "error", "escalation"):
        ref = node.get(f"{kind}Ref")
        if not ref:
            continue
        target = defined[kind].get(ref)
        if target is None:
            problem(f"{kind} '{ref}' is not defined in this file: add a bpmn:{kind} with that id, or choose one in "
                    "the modeler's properties panel", node)
        elif kind == "message" and not (target.get("name") or "").strip():
            problem(f"message '{ref}' has no name: a message is delivered by its name", node)
        elif kind == "message" and JUEL.search(target.get("name")):
            problem(f"message name `{target.get('name')}` is a Camunda expression: a message is delivered by a "
                    "fixed name; put what varies in the correlation", node)


def _in_event_subprocess(node) -> bool:
    parent = node.getparent()
    return local(parent) == "subProcess" and parent.get("triggeredByEvent") == "true"


def _event_gateway(gateway, problem) -> None:
    """An event-based gateway waits for whichever of its next events comes first: they must be events to wait for."""
    scope = gateway.getparent()
    for flow in scope.iterchildren(f"{{{BPMN_NS}}}sequenceFlow"):
        if flow.get("sourceRef") != gateway.get("id"):
            continue
        target = _child_by_id(scope, flow.get("targetRef"))
        kinds = {local(child) for child in target} if target is not None else set()
        waits = target is not None and (local(target) == "receiveTask" or (
            local(target) == "intermediateCatchEvent" and kinds & {"messageEventDefinition", "timerEventDefinition"}))
        if not waits:
            what = f"a {local(target)}" if target is not None else "not an element of this process"
            problem(f"an event-based gateway must lead to message or timer catch events or receive tasks; "
                    f"'{flow.get('targetRef')}' is {what}", gateway)


def _child_by_id(scope, element_id: str | None):
    return next((child for child in scope if child.get("id") == element_id), None) if element_id else None


def _multi_instance(node, problem) -> None:
    collection = node.get(f"{{{CAMUNDA_NS}}}collection") or ""
    if JUEL.search(collection):
        problem(f"collection `{collection}` is a Camunda expression: {EXPRESSIONS_HINT}", node)
    elif not collection and not any(local(child) == "loopCardinality" for child in node):
        problem("a multi-instance activity needs camunda:collection (the name of a list in the case data, e.g. "
                "`departments`) or a loop cardinality (e.g. `3`)", node)


def _user_task(node, in_lane: bool, problem, warning) -> None:
    for name in ("assignee", "candidateUsers"):
        if node.get(f"{{{CAMUNDA_NS}}}{name}"):
            warning(IGNORED_CAMUNDA[name], node)
    groups = candidate_groups(node)
    if not groups:
        return
    if in_lane:
        warning(f"camunda:candidateGroups '{', '.join(groups)}' is ignored: the task's lane decides its role", node)
    elif candidate_role(node) is None:
        problem(f"user task '{node.get('name') or node.get('id')}' is outside any lane and camunda:candidateGroups "
                f"'{', '.join(groups)}' is not one known role; put it in a lane named after a role, or name one "
                f"role ({', '.join(sorted(LANE_ROLES))})", node)


def _script(node, problem) -> None:
    script_format = (node.get("scriptFormat") or "python").strip()
    if script_format.lower() not in _PYTHON:
        problem(f"script format '{script_format}' cannot run: scripts are Python", node)
    if node.get(f"{{{CAMUNDA_NS}}}resource"):
        problem("a script kept in another file cannot run: write the Python script in the diagram", node)


def _expression(node, problem) -> None:
    text = (node.text or "").strip()
    language = node.get("language")
    if language and language.strip().lower() not in _PYTHON:
        problem(f"expression language '{language}' cannot run: {EXPRESSIONS_HINT}", node)
    elif JUEL.search(text):
        inner = text[2:-1].strip() if JUEL.match(text) and text.endswith("}") else None
        suggestion = f" (write `{inner}`)" if inner else ""
        problem(f"`{text}` is a Camunda expression: {EXPRESSIONS_HINT}{suggestion}", node)


def _timer(node, tag: str, problem) -> None:
    text = (node.text or "").strip()
    naive = _naive_datetime(text.strip("'\"")) if tag == "timeDate" else None
    if JUEL.search(text):
        problem(f"timer value `{text}` is a Camunda expression: {EXPRESSIONS_HINT}", node)
    elif tag == "timeCycle" and _CRON.match(text):
        problem(f"timer cycle `{text}` is a cron expression: {EXPRESSIONS_HINT}", node)
    elif naive is not None:
        problem(f"date-time `{text}` has no UTC offset, so it would be read in the server's own time zone; add one, "
                f"e.g. `{naive.isoformat()}+08:00`", node)


def _naive_datetime(text: str) -> datetime | None:
    """The date-time a literal timer date names when it has no UTC offset, else None."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is None and ("-" in text or "T" in text) else None


def _extension(node, warning) -> None:
    if not isinstance(node.tag, str):
        return
    name = local(node)
    if node.tag.startswith(f"{{{CAMUNDA_NS}}}") and name in ("executionListener", "taskListener"):
        warning(IGNORED_CAMUNDA[name], node)
    elif node.tag.startswith(f"{{{SPIFF_NS}}}") and not node.getparent().tag.startswith(f"{{{SPIFF_NS}}}"):
        warning(f"the SpiffWorkflow extension '{name}' is ignored: plans are read in the Camunda 7 dialect"
                + ("; put the script in a script task" if name in ("preScript", "postScript") else ""), node)
