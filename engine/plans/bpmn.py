"""Turn BPMN and DMN text into SpiffWorkflow specs, safely and in our dialect.

Our dialect is Camunda 7 (camunda:formKey, camunda:decisionRef), parsed with
SpiffWorkflow's CamundaParser as engine/plans/dialect.py adjusts it. Two things are adjusted after parsing:
  - timer values written bare (`PT24H`, `2026-12-01T09:00:00+08:00`, `R3/PT1H`), as
    every BPMN modeler writes them, become string literals; SpiffWorkflow would
    otherwise evaluate them as Python and fail only when the timer is reached;
  - XML is read with entities, DTDs and network access disabled, so an uploaded
    file cannot expand a billion laughs or read local files.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from engine.calendar.deadlines import uses_calendar
from engine.errors import N_, Problem
from engine.plans.dialect import PlanParser, form_reference

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"

_ISO_DURATION = re.compile(r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+W)?(\d+(\.\d+)?D)?"
                           r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")
_ISO_CYCLE = re.compile(r"^R\d*/\S+$")


class XmlRejected(ValueError):
    """The text is not acceptable XML (malformed, or uses DTDs/entities): a code, an English template
    (marked for the web layer's catalogue) and its parameters."""

    def __init__(self, code: str, template: str, **params):
        self.code, self.template, self.params = code, template, params
        super().__init__(template % params)

    def problem(self, file: str | None = None) -> Problem:
        return Problem(str(self), file=file, code=self.code, template=self.template, params=self.params)


def read_xml(text: str | bytes, filename: str) -> etree._Element:
    """Parse XML with every external and entity feature off; raise XmlRejected with a clear reason."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    refused = XmlRejected("xml.doctype", N_("%(file)s: DOCTYPE and entity declarations are not allowed in plan "
                                            "files"), file=filename)
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise refused
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=False)
    try:
        root = etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise XmlRejected("xml.malformed", N_("%(file)s: malformed XML: %(error)s"), file=filename,
                          error=str(exc)) from None
    # What the parser saw, whatever the encoding (a UTF-16 file hides the bytes looked for above).
    if root.getroottree().docinfo.doctype or root.getroottree().docinfo.internalDTD is not None:
        raise refused
    return root


def is_bare_timer_value(expression: str) -> bool:
    """True for an unquoted ISO 8601 duration, date-time or cycle."""
    value = expression.strip()
    if _ISO_DURATION.match(value) or _ISO_CYCLE.match(value):
        return True
    try:
        datetime.fromisoformat(value)
        return "T" in value or "-" in value
    except ValueError:
        return False


def quote_bare_timer_values(specs) -> None:
    """Rewrite bare ISO timer values as string literals, in place.

    A duration timer whose value calls a calendar function (`working_days(3)`) becomes a
    date timer: the function already returns the due date-time, not a duration. Timers
    behind an event-based gateway live in the gateway's list of event definitions.
    """
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if isinstance(definition, MultipleEventDefinition):
                definition.event_definitions = [_quoted(d) for d in definition.event_definitions]
            elif definition is not None:
                task_spec.event_definition = _quoted(definition)


def _quoted(definition):
    if not isinstance(definition, TimerEventDefinition) or not definition.expression:
        return definition
    if is_bare_timer_value(definition.expression):
        definition.expression = repr(definition.expression.strip())
    elif isinstance(definition, DurationTimerEventDefinition) and uses_calendar(definition.expression):
        return TimeDateEventDefinition(definition.name, definition.expression, description=definition.description)
    return definition


class _StrictDecisionEngine(DMNEngine):
    """A decision table where no matching rule is an error, never an empty result."""

    def result(self, task):
        if not self.decide(task):
            table = self.decision_table
            inputs = ", ".join(f"{i.expression}={_short(task, i.expression)}" for i in table.inputs)
            raise WorkflowTaskException(
                f"decision table '{table.name or table.id}' has no rule matching {inputs}", task=task)
        return super().result(task)


def _short(task, expression: str) -> str:
    try:
        return repr(task.workflow.script_engine.evaluate(task, expression))[:60]
    except Exception:  # noqa: BLE001 — only for the message
        return "?"


def make_decisions_strict(specs) -> None:
    """Business-rule tasks refuse to pass silently when their decision table has no matching rule."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            engine = getattr(task_spec, "dmnEngine", None)
            if engine is not None and not isinstance(engine, _StrictDecisionEngine):
                task_spec.dmnEngine = _StrictDecisionEngine(engine.decision_table)


@dataclass
class ParsedPlan:
    """The specs of one BPMN file's main process, ready to instantiate."""

    process_id: str
    name: str
    spec: object
    subprocess_specs: dict
    start_form_key: str | None
    root: etree._Element = field(repr=False)
    forms: dict[str, dict] = field(default_factory=dict, repr=False)


def main_process_id(root: etree._Element, filename: str) -> str:
    """The executable process a file defines: the one named like the file, or the only one."""
    processes = root.findall(f"{{{BPMN_NS}}}process")
    executable = [p for p in processes if p.get("isExecutable", "true") != "false"] or processes
    if not executable:
        raise XmlRejected("xml.no_process", N_("%(file)s: no bpmn:process element"), file=filename)
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    for process in executable:
        if process.get("id") == stem:
            return stem
    if len(executable) > 1:
        raise XmlRejected("xml.several_processes", N_("%(file)s: several executable processes and none is named "
                                                      "'%(name)s'"), file=filename, name=stem)
    return executable[0].get("id")


def start_form_key(root: etree._Element, process_id: str) -> str | None:
    process = root.find(f"{{{BPMN_NS}}}process[@id='{process_id}']")
    if process is None:
        return None
    for start in process.findall(f"{{{BPMN_NS}}}startEvent"):
        key = form_reference(start)
        if key:
            return key
    return None


_parsed: OrderedDict[str, ParsedPlan] = OrderedDict()
_parsed_lock = threading.Lock()
_PARSED_KEEP = 64


def forget_parsed_plans() -> None:
    """Drop every cached parse, as a fresh process would start (tests that reload between steps use it)."""
    with _parsed_lock:
        _parsed.clear()


def parse_plan(bpmn_xml: str, filename: str, decisions: dict[str, str] | None = None,
               called: dict[str, str] | None = None) -> ParsedPlan:
    """Parse one BPMN document, with the DMN documents and called BPMN documents it uses, into specs.

    Raises XmlRejected or SpiffWorkflow's ValidationException; the caller reports them.
    Parsing is the slow part of a deploy; identical input reuses the specs of an earlier
    parse (specs are never changed after parsing), each caller getting its own ParsedPlan.
    """
    key = hashlib.sha256(json.dumps([bpmn_xml, filename, decisions or {}, called or {}], sort_keys=True)
                         .encode("utf-8")).hexdigest()
    with _parsed_lock:
        cached = _parsed.get(key)
    if cached is None:
        cached = _parse_plan(bpmn_xml, filename, decisions, called)
        with _parsed_lock:
            _parsed[key] = cached
            while len(_parsed) > _PARSED_KEEP:
                _parsed.popitem(last=False)
    return dataclasses.replace(cached, forms={})


def _parse_plan(bpmn_xml: str, filename: str, decisions: dict[str, str] | None,
                called: dict[str, str] | None) -> ParsedPlan:
    root = read_xml(bpmn_xml, filename)
    process_id = main_process_id(root, filename)
    parser = PlanParser()
    for dmn_name, dmn_xml in (decisions or {}).items():
        parser.add_dmn_xml(read_xml(dmn_xml, dmn_name), filename=dmn_name)
    for called_name, called_xml in (called or {}).items():
        parser.add_bpmn_xml(read_xml(called_xml, called_name), filename=called_name)
    parser.add_bpmn_xml(root, filename=filename)
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    quote_bare_timer_values([spec, *subprocess_specs.values()])
    make_decisions_strict([spec, *subprocess_specs.values()])
    process = root.find(f"{{{BPMN_NS}}}process[@id='{process_id}']")
    return ParsedPlan(process_id, process.get("name") or process_id, spec, subprocess_specs,
                      start_form_key(root, process_id), root)


def decision_ids(dmn_xml: str, filename: str) -> list[str]:
    """The ids of the decisions a DMN document defines."""
    root = read_xml(dmn_xml, filename)
    return [node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.tag.endswith("}decision")]
