"""Deploy-time checks of a parsed plan: everything that would otherwise fail at run time.

Every check returns Problems naming the element, so a process owner sees the whole
list at once instead of fixing one error per deploy attempt.
"""
from __future__ import annotations

import re

from SpiffWorkflow.bpmn.specs.defaults import ScriptTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask as UserTaskMixin

from engine import sandbox
from engine.calendar.clock import engine_time, utcnow
from engine.calendar.deadlines import EXPRESSION_FUNCTIONS, using_calendar
from engine.calendar.working_days import WorkingCalendar
from engine.errors import Problem
from engine.people.roles import LANE_ROLES
from engine.plans.bpmn import BPMN_NS, ParsedPlan
from engine.plans.unsupported import JUEL, Findings, find_unsupported

# SpiffWorkflow names its internal start task "Start"; an element with that id silently empties the process.
RESERVED_IDS = {"Start", "End", "Root"}
# A bare value that starts like an ISO duration or cycle but did not parse as one (e.g. P3X, PT24).
_LOOKS_LIKE_ISO = re.compile(r"^(P\d|PT\d|R\d*/)")


def lint_document(root, filename: str) -> Findings:
    """Problems and warnings visible in the XML itself, checked before parsing (the parser would fail obscurely)."""
    found = find_unsupported(root, filename)
    seen: set[str] = set()
    for node in root.iter(f"{{{BPMN_NS}}}*"):
        element_id = node.get("id")
        if element_id is None:
            continue
        if element_id in RESERVED_IDS:
            found.problems.append(Problem(f"the id '{element_id}' is reserved by the engine; rename the element",
                                          element_id, filename))
        elif element_id in seen:
            found.problems.append(Problem(f"the id '{element_id}' is used by more than one element; give each its "
                                          "own id", element_id, filename))
        seen.add(element_id)
    found.problems.extend(_dangling(root, filename))
    return found


_GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway"}


def _dangling(root, filename: str) -> list[Problem]:
    """Sequence flows and boundary events that point at nothing in their (sub)process, and dead-end gateways.

    SpiffWorkflow skips such references silently: a branch would vanish and the case stop without a word.
    """
    problems = []
    for scope in [*root.iter(f"{{{BPMN_NS}}}process"), *root.iter(f"{{{BPMN_NS}}}subProcess"),
                  *root.iter(f"{{{BPMN_NS}}}transaction"), *root.iter(f"{{{BPMN_NS}}}adHocSubProcess")]:
        elements = {child.get("id"): child for child in scope if isinstance(child.tag, str) and child.get("id")}
        flows = [child for child in scope.iterchildren(f"{{{BPMN_NS}}}sequenceFlow")]
        for flow in flows:
            for end in ("sourceRef", "targetRef"):
                if flow.get(end) not in elements:
                    problems.append(Problem(f"sequence flow {end[:-3]} '{flow.get(end)}' is not an element of this "
                                            "(sub)process; reconnect the flow", flow.get("id"), filename))
        for boundary in scope.iterchildren(f"{{{BPMN_NS}}}boundaryEvent"):
            if boundary.get("attachedToRef") not in elements:
                problems.append(Problem(f"boundary event is attached to '{boundary.get('attachedToRef')}', which is "
                                        "not an activity of this (sub)process", boundary.get("id"), filename))
        sources = {flow.get("sourceRef") for flow in flows}
        for element_id, node in elements.items():
            if node.tag.rsplit("}", 1)[-1] in _GATEWAYS and element_id not in sources:
                problems.append(Problem("a gateway without an outgoing sequence flow is a dead end; connect it",
                                        element_id, filename))
    return problems


def lint_plan(plan: ParsedPlan, filename: str, forms: dict[str, dict]) -> list[Problem]:
    """All problems of a parsed plan: lanes and roles, forms, timers, conditions, scripts."""
    problems: list[Problem] = []

    def problem(message: str, element_id: str | None = None):
        problems.append(Problem(message, element_id, filename))

    if plan.start_form_key and plan.start_form_key not in forms:
        problem(_missing_form(plan.start_form_key, f"start form '{plan.start_form_key}'"))

    for spec in [plan.spec, *plan.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            element_id = getattr(task_spec, "bpmn_id", None)
            if element_id is None:
                continue
            _lint_task(task_spec, element_id, forms, problem)
    return problems


def _lint_task(task_spec, element_id: str, forms: dict, problem) -> None:
    if isinstance(task_spec, UserTaskMixin):
        _lint_user_task(task_spec, element_id, forms, problem)
    definition = getattr(task_spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        _lint_timer(definition, element_id, problem)
    for condition, _target in getattr(task_spec, "cond_task_specs", []) or []:
        expression = getattr(condition, "args", [None])[0] if condition is not None else None
        if expression and not JUEL.search(expression):  # Camunda expressions are named, with the flow, before parsing
            _check_code(expression, "eval", "condition", element_id, problem)
    if isinstance(task_spec, ScriptTask) and task_spec.script:
        _check_code(task_spec.script, "exec", "script", element_id, problem)


def _lint_user_task(task_spec, element_id: str, forms: dict, problem) -> None:
    name = task_spec.bpmn_name or element_id
    if not task_spec.lane:
        problem(f"user task '{name}' is outside any lane, so no role would receive it", element_id)
    elif task_spec.lane not in LANE_ROLES:
        known = ", ".join(sorted(LANE_ROLES))
        problem(f"lane '{task_spec.lane}' of user task '{name}' is not a known role ({known})", element_id)
    form_key = getattr(getattr(task_spec, "form", None), "key", None)
    if not form_key:
        problem(f"user task '{name}' has no form (set camunda:formKey)", element_id)
    elif form_key not in forms:
        problem(_missing_form(form_key, f"form '{form_key}' of user task '{name}'"), element_id)


def _missing_form(key: str, what: str) -> str:
    if ":" in key or "/" in key:
        return (f"{what} is a Camunda embedded or external form; plans use form-js forms: set camunda:formKey "
                "to a form name (forms/NAME.form) or link a Camunda form (camunda:formRef)")
    return f"{what} not found (expected forms/{key}.form)"


def _lint_timer(definition: TimerEventDefinition, element_id: str, problem) -> None:
    expression = definition.expression
    if _LOOKS_LIKE_ISO.match(expression.strip()):
        problem(f"timer value '{expression.strip()}' is not a valid ISO 8601 {_timer_kind(definition)} "
                "(e.g. PT24H, P3D, 2026-12-01T09:00:00+08:00)", element_id)
        return
    if not _check_code(expression, "eval", "timer value", element_id, problem):
        return
    try:
        # A trial run now, on the package calendar: constant values and calendar calls are fully checked.
        with engine_time(utcnow()), using_calendar(WorkingCalendar()):
            value = sandbox.evaluate(expression, {}, EXPRESSION_FUNCTIONS)
    except sandbox.SandboxError as exc:
        if getattr(exc, "error_type", None) == "NameError":
            return  # reads case data: only checkable when the timer starts waiting
        problem(f"timer value {expression} does not evaluate: {exc}", element_id)
        return
    if not isinstance(value, str):
        problem(f"timer value {expression} gives {type(value).__name__}, not an ISO 8601 text", element_id)
        return
    try:
        if isinstance(definition, CycleTimerEventDefinition):
            TimerEventDefinition.parse_iso_recurring_interval(value)
        elif isinstance(definition, TimeDateEventDefinition):
            TimerEventDefinition.get_datetime(value)
        else:
            TimerEventDefinition.parse_iso_duration(value)
    except Exception:
        problem(f"timer value '{value}' is not a valid ISO 8601 "
                f"{_timer_kind(definition)} (e.g. PT24H, P3D, 2026-12-01T09:00:00+08:00)", element_id)


def _timer_kind(definition) -> str:
    if isinstance(definition, CycleTimerEventDefinition):
        return "cycle"
    if isinstance(definition, TimeDateEventDefinition):
        return "date-time"
    return "duration"


def _check_code(source: str, mode: str, what: str, element_id: str, problem) -> bool:
    try:
        sandbox.check(source, mode)
    except sandbox.SandboxError as exc:
        problem(f"{what} `{source.strip()}` is not accepted: {exc}", element_id)
        return False
    return True
