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

from engine.errors import N_, Problem
from engine.people.roles import LANE_ROLES
from engine.plans.bpmn import BPMN_NS, CAMUNDA_NS
from engine.plans.dialect import candidate_groups, candidate_role

# Each message is one whole English template, marked for the web layer's catalogue (which says it in
# the user's language); a finding's code is its table's prefix and the element's tag.
# Event definitions SpiffWorkflow 3.2 does not run correctly, with what to draw instead.
UNSUPPORTED_EVENTS = {
    "signalEventDefinition": N_("signal events are not supported; to wait for something from outside use a "
                                "message event, inside a case use an escalation or error event"),
    "conditionalEventDefinition": N_("conditional events are not supported: nothing re-checks the condition while "
                                     "the case waits; use an exclusive gateway, a timer or a message event"),
    "compensateEventDefinition": N_("compensation events are not supported; draw the undoing steps as tasks on "
                                    "an error path"),
    "linkEventDefinition": N_("link events are not supported; connect the sequence flows directly"),
    "cancelEventDefinition": N_("cancel events are not supported; use an error end event and an error boundary "
                                "event"),
}

UNSUPPORTED_ELEMENTS = {
    "serviceTask": N_("a service task cannot run: plans cannot call external services; use a script task or a "
                      "user task"),
    "sendTask": N_("a send task cannot run: a case does not send messages; use a user task for the person who "
                   "sends it, or a script task"),
    "complexGateway": N_("a complex gateway is not supported; use an inclusive or exclusive gateway"),
    "adHocSubProcess": N_("an ad-hoc subprocess is not supported; use a parallel or inclusive gateway"),
    "transaction": N_("a transaction is not supported (there is nothing to roll back); use an embedded subprocess "
                      "with an error end event"),
}

PASS_THROUGH = {
    "task": N_("a plain task does nothing: the case passes straight through it, as in Camunda; make it a user "
               "task if someone must act"),
    "manualTask": N_("a manual task is not tracked: the case passes straight through it, as in Camunda; make it "
                     "a user task if the case should wait for someone"),
}

IGNORED_CAMUNDA = {
    "executionListener": N_("camunda:executionListener is ignored: plans run no listener code"),
    "taskListener": N_("camunda:taskListener is ignored: plans run no listener code"),
    "assignee": N_("camunda:assignee is ignored: a task goes to everyone holding its lane's role"),
    "candidateUsers": N_("camunda:candidateUsers is ignored: a task goes to everyone holding its lane's role"),
}

# A message, error or escalation an element names that the file does not define.
UNDEFINED_REFERENCE = {
    "message": N_("message '%(ref)s' is not defined in this file: add a bpmn:message with that id, or choose one "
                  "in the modeler's properties panel"),
    "error": N_("error '%(ref)s' is not defined in this file: add a bpmn:error with that id, or choose one in "
                "the modeler's properties panel"),
    "escalation": N_("escalation '%(ref)s' is not defined in this file: add a bpmn:escalation with that id, or "
                     "choose one in the modeler's properties panel"),
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

    def problem(code: str, template: str, node, **params) -> None:
        found.problems.append(Problem.of(code, template, _owner_id(node), filename, **params))

    def warning(code: str, template: str, node, **params) -> None:
        found.warnings.append(Problem.of(code, template, _owner_id(node), filename, **params))

    for node in root.iter():
        if not _bpmn(node):
            _extension(node, warning)
            continue
        _references(node, defined, problem)
        tag = local(node)
        if tag in UNSUPPORTED_ELEMENTS:
            problem(f"unsupported.{tag}", UNSUPPORTED_ELEMENTS[tag], node)
        elif tag in PASS_THROUGH:
            warning(f"pass_through.{tag}", PASS_THROUGH[tag], node)
        elif tag in UNSUPPORTED_EVENTS:
            problem(f"unsupported.{tag}", UNSUPPORTED_EVENTS[tag], node)
        elif tag in _EVENT_TAGS:
            _event(node, tag, problem)
        elif tag == "receiveTask" and not node.get("messageRef"):
            problem("receive_task.no_message", N_("a receive task needs the message it waits for (messageRef)"), node)
        elif tag == "businessRuleTask" and not node.get(f"{{{CAMUNDA_NS}}}decisionRef"):
            problem("business_rule_task.no_decision",
                    N_("a business-rule task needs a decision: set camunda:decisionRef to the id of a decision "
                       "in a .dmn file"), node)
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
        problem("event.several_triggers",
                N_("an event with several triggers is not supported; use an event-based gateway, or one boundary "
                   "event per trigger"), node)
        return
    kind = local(definitions[0]) if definitions else None
    if kind != "messageEventDefinition":
        return
    if tag in ("intermediateThrowEvent", "endEvent"):
        problem("event.message_throw",
                N_("a message throw event cannot run: a case does not send messages; use a user task for the "
                   "person who sends it, or a script task"), node)
    elif tag == "startEvent" and not _in_event_subprocess(node):
        problem("event.message_start",
                N_("a message start event here cannot start anything: cases start by registration or the API; "
                   "use a message start event inside an event subprocess"), node)
    elif tag in _CATCHING_MESSAGE and not definitions[0].get("messageRef"):
        problem("event.no_message", N_("a message event needs the message it waits for (messageRef)"), node)


def _references(node, defined: dict, problem) -> None:
    """A message, error or escalation named by an element must be defined in the file (and a message named)."""
    for kind in ("message", "error", "escalation"):
        ref = node.get(f"{kind}Ref")
        if not ref:
            continue
        target = defined[kind].get(ref)
        if target is None:
            problem(f"reference.undefined_{kind}", UNDEFINED_REFERENCE[kind], node, ref=ref)
        elif kind == "message" and not (target.get("name") or "").strip():
            problem("message.no_name", N_("message '%(ref)s' has no name: a message is delivered by its name"), node,
                    ref=ref)
        elif kind == "message" and JUEL.search(target.get("name")):
            problem("message.expression_name",
                    N_("message name `%(name)s` is a Camunda expression: a message is delivered by a fixed name; "
                       "put what varies in the correlation"), node, name=target.get("name"))


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
        if target is None:
            problem("event_gateway.target_missing",
                    N_("an event-based gateway must lead to message or timer catch events or receive tasks; "
                       "'%(target)s' is not an element of this process"), gateway, target=flow.get("targetRef"))
        elif not waits:
            problem("event_gateway.target_not_waiting",
                    N_("an event-based gateway must lead to message or timer catch events or receive tasks; "
                       "'%(target)s' is a %(tag)s"), gateway, target=flow.get("targetRef"), tag=local(target))


def _child_by_id(scope, element_id: str | None):
    return next((child for child in scope if child.get("id") == element_id), None) if element_id else None


def _multi_instance(node, problem) -> None:
    collection = node.get(f"{{{CAMUNDA_NS}}}collection") or ""
    if JUEL.search(collection):
        problem("multi_instance.expression_collection",
                N_("collection `%(collection)s` is a Camunda expression: expressions are Python; timers are "
                   "ISO 8601, e.g. `PT24H`, `R/PT1H`"), node, collection=collection)
    elif not collection and not any(local(child) == "loopCardinality" for child in node):
        problem("multi_instance.no_collection",
                N_("a multi-instance activity needs camunda:collection (the name of a list in the case data, e.g. "
                   "`departments`) or a loop cardinality (e.g. `3`)"), node)


def _user_task(node, in_lane: bool, problem, warning) -> None:
    for name in ("assignee", "candidateUsers"):
        if node.get(f"{{{CAMUNDA_NS}}}{name}"):
            warning(f"ignored.{name}", IGNORED_CAMUNDA[name], node)
    groups = candidate_groups(node)
    if not groups:
        return
    if in_lane:
        warning("ignored.candidateGroups",
                N_("camunda:candidateGroups '%(groups)s' is ignored: the task's lane decides its role"), node,
                groups=", ".join(groups))
    elif candidate_role(node) is None:
        problem("user_task.no_role",
                N_("user task '%(task)s' is outside any lane and camunda:candidateGroups '%(groups)s' is not one "
                   "known role; put it in a lane named after a role, or name one role (%(roles)s)"), node,
                task=node.get("name") or node.get("id"), groups=", ".join(groups), roles=", ".join(sorted(LANE_ROLES)))


def _script(node, problem) -> None:
    script_format = (node.get("scriptFormat") or "python").strip()
    if script_format.lower() not in _PYTHON:
        problem("script.format", N_("script format '%(format)s' cannot run: scripts are Python"), node,
                format=script_format)
    if node.get(f"{{{CAMUNDA_NS}}}resource"):
        problem("script.resource", N_("a script kept in another file cannot run: write the Python script in the "
                                      "diagram"), node)


def _expression(node, problem) -> None:
    text = (node.text or "").strip()
    language = node.get("language")
    if language and language.strip().lower() not in _PYTHON:
        problem("expression.language",
                N_("expression language '%(language)s' cannot run: expressions are Python; timers are ISO 8601, "
                   "e.g. `PT24H`, `R/PT1H`"), node, language=language)
    elif JUEL.search(text):
        inner = text[2:-1].strip() if JUEL.match(text) and text.endswith("}") else None
        if inner:
            problem("expression.camunda",
                    N_("`%(text)s` is a Camunda expression: expressions are Python; timers are ISO 8601, e.g. "
                       "`PT24H`, `R/PT1H` (write `%(python)s`)"), node, text=text, python=inner)
        else:
            problem("expression.camunda",
                    N_("`%(text)s` is a Camunda expression: expressions are Python; timers are ISO 8601, e.g. "
                       "`PT24H`, `R/PT1H`"), node, text=text)


def _timer(node, tag: str, problem) -> None:
    text = (node.text or "").strip()
    naive = _naive_datetime(text.strip("'\"")) if tag == "timeDate" else None
    if JUEL.search(text):
        problem("timer.camunda_expression",
                N_("timer value `%(text)s` is a Camunda expression: expressions are Python; timers are ISO 8601, "
                   "e.g. `PT24H`, `R/PT1H`"), node, text=text)
    elif tag == "timeCycle" and _CRON.match(text):
        problem("timer.cron", N_("timer cycle `%(text)s` is a cron expression: expressions are Python; timers are "
                                 "ISO 8601, e.g. `PT24H`, `R/PT1H`"), node, text=text)
    elif naive is not None:
        problem("timer.no_offset",
                N_("date-time `%(text)s` has no UTC offset, so it would be read in the server's own time zone; add "
                   "one, e.g. `%(example)s`"), node, text=text, example=f"{naive.isoformat()}+08:00")


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
        warning(f"ignored.{name}", IGNORED_CAMUNDA[name], node)
    elif node.tag.startswith(f"{{{SPIFF_NS}}}") and not node.getparent().tag.startswith(f"{{{SPIFF_NS}}}"):
        if name in ("preScript", "postScript"):
            warning("ignored.spiff_script", N_("the SpiffWorkflow extension '%(name)s' is ignored: plans are read in "
                                               "the Camunda 7 dialect; put the script in a script task"), node, name=name)
        else:
            warning("ignored.spiff", N_("the SpiffWorkflow extension '%(name)s' is ignored: plans are read in the "
                                        "Camunda 7 dialect"), node, name=name)
