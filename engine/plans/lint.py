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
from engine.errors import N_, Problem
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
            found.problems.append(Problem.of("id.reserved", N_("the id '%(id)s' is reserved by the engine; rename the "
                                                               "element"), element_id, filename, id=element_id))
        elif element_id in seen:
            found.problems.append(Problem.of("id.duplicate", N_("the id '%(id)s' is used by more than one element; "
                                                                "give each its own id"), element_id, filename,
                                             id=element_id))
        seen.add(element_id)
    found.problems.extend(_dangling(root, filename))
    return found


_GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway"}
_DANGLING_FLOW = {
    "sourceRef": N_("sequence flow source '%(ref)s' is not an element of this (sub)process; reconnect the flow"),
    "targetRef": N_("sequence flow target '%(ref)s' is not an element of this (sub)process; reconnect the flow"),
}


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
            for end, template in _DANGLING_FLOW.items():
                if flow.get(end) not in elements:
                    problems.append(Problem.of(f"sequence_flow.dangling_{end[:-3]}", template, flow.get("id"), filename,
                                               ref=flow.get(end)))
        for boundary in scope.iterchildren(f"{{{BPMN_NS}}}boundaryEvent"):
            if boundary.get("attachedToRef") not in elements:
                problems.append(Problem.of("boundary_event.dangling",
                                           N_("boundary event is attached to '%(ref)s', which is not an activity of "
                                              "this (sub)process"), boundary.get("id"), filename,
                                           ref=boundary.get("attachedToRef")))
        sources = {flow.get("sourceRef") for flow in flows}
        for element_id, node in elements.items():
            if node.tag.rsplit("}", 1)[-1] in _GATEWAYS and element_id not in sources:
                problems.append(Problem.of("gateway.dead_end", N_("a gateway without an outgoing sequence flow is a "
                                                                  "dead end; connect it"), element_id, filename))
    return problems


def lint_plan(plan: ParsedPlan, filename: str, forms: dict[str, dict]) -> list[Problem]:
    """All problems of a parsed plan: lanes and roles, forms, timers, conditions, scripts."""
    problems: list[Problem] = []

    def problem(code: str, template: str, element_id: str | None = None, **params):
        problems.append(Problem.of(code, template, element_id, filename, **params))

    if plan.start_form_key and plan.start_form_key not in forms:
        if _camunda_form(plan.start_form_key):
            problem("start_form.camunda", N_("start form '%(form)s' is a Camunda embedded or external form; plans "
                                             "use form-js forms: set camunda:formKey to a form name (forms/NAME.form) "
                                             "or link a Camunda form (camunda:formRef)"), form=plan.start_form_key)
        else:
            problem("start_form.missing", N_("start form '%(form)s' not found (expected forms/%(form)s.form)"),
                    form=plan.start_form_key)

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
        problem("user_task.no_lane", N_("user task '%(task)s' is outside any lane, so no role would receive it"),
                element_id, task=name)
    elif task_spec.lane not in LANE_ROLES:
        problem("user_task.unknown_role", N_("lane '%(lane)s' of user task '%(task)s' is not a known role (%(roles)s)"),
                element_id, lane=task_spec.lane, task=name, roles=", ".join(sorted(LANE_ROLES)))
    form_key = getattr(getattr(task_spec, "form", None), "key", None)
    if not form_key:
        problem("user_task.no_form", N_("user task '%(task)s' has no form (set camunda:formKey)"), element_id, task=name)
    elif form_key not in forms and _camunda_form(form_key):
        problem("user_task.camunda_form", N_("form '%(form)s' of user task '%(task)s' is a Camunda embedded or "
                                             "external form; plans use form-js forms: set camunda:formKey to a form "
                                             "name (forms/NAME.form) or link a Camunda form (camunda:formRef)"),
                element_id, form=form_key, task=name)
    elif form_key not in forms:
        problem("user_task.form_missing", N_("form '%(form)s' of user task '%(task)s' not found (expected "
                                             "forms/%(form)s.form)"), element_id, form=form_key, task=name)


def _camunda_form(key: str) -> bool:
    return ":" in key or "/" in key


def _lint_timer(definition: TimerEventDefinition, element_id: str, problem) -> None:
    expression = definition.expression
    if _LOOKS_LIKE_ISO.match(expression.strip()):
        _not_iso(definition, expression.strip(), element_id, problem)
        return
    if not _check_code(expression, "eval", "timer", element_id, problem):
        return
    try:
        # A trial run now, on the package calendar: constant values and calendar calls are fully checked.
        with engine_time(utcnow()), using_calendar(WorkingCalendar()):
            value = sandbox.evaluate(expression, {}, EXPRESSION_FUNCTIONS)
    except sandbox.SandboxError as exc:
        if getattr(exc, "error_type", None) == "NameError":
            return  # reads case data: only checkable when the timer starts waiting
        problem("timer.fails", N_("timer value %(expression)s does not evaluate: %(error)s"), element_id,
                expression=expression, error=str(exc))
        return
    if not isinstance(value, str):
        problem("timer.not_text", N_("timer value %(expression)s gives %(type)s, not an ISO 8601 text"), element_id,
                expression=expression, type=type(value).__name__)
        return
    try:
        if isinstance(definition, CycleTimerEventDefinition):
            TimerEventDefinition.parse_iso_recurring_interval(value)
        elif isinstance(definition, TimeDateEventDefinition):
            TimerEventDefinition.get_datetime(value)
        else:
            TimerEventDefinition.parse_iso_duration(value)
    except Exception:
        _not_iso(definition, value, element_id, problem)


def _not_iso(definition, value: str, element_id: str, problem) -> None:
    if isinstance(definition, CycleTimerEventDefinition):
        problem("timer.not_iso_cycle", N_("timer value '%(value)s' is not a valid ISO 8601 cycle (e.g. PT24H, P3D, "
                                          "2026-12-01T09:00:00+08:00)"), element_id, value=value)
    elif isinstance(definition, TimeDateEventDefinition):
        problem("timer.not_iso_date", N_("timer value '%(value)s' is not a valid ISO 8601 date-time (e.g. PT24H, "
                                         "P3D, 2026-12-01T09:00:00+08:00)"), element_id, value=value)
    else:
        problem("timer.not_iso_duration", N_("timer value '%(value)s' is not a valid ISO 8601 duration (e.g. PT24H, "
                                             "P3D, 2026-12-01T09:00:00+08:00)"), element_id, value=value)


# What a sandbox refusal says the code is: a sequence flow's condition, a script task's script, a timer value.
_NOT_ACCEPTED = {
    "condition": N_("condition `%(source)s` is not accepted: %(error)s"),
    "script": N_("script `%(source)s` is not accepted: %(error)s"),
    "timer": N_("timer value `%(source)s` is not accepted: %(error)s"),
}


def _check_code(source: str, mode: str, what: str, element_id: str, problem) -> bool:
    try:
        sandbox.check(source, mode)
    except sandbox.SandboxError as exc:
        problem(f"{what}.not_accepted", _NOT_ACCEPTED[what], element_id, source=source.strip(), error=str(exc))
        return False
    return True
