"""How PlanFlow reads files from Camunda Modeler: form names, candidate groups, plain tasks.

Camunda Modeler writes a linked form as `camunda-forms:deployment:NAME.form` (or
`camunda-forms:app:…`, or `camunda:formRef="NAME"`); the form is `NAME` here. A user
task outside any lane whose `camunda:candidateGroups` names one role goes to that role.
A plain `bpmn:task` or `bpmn:manualTask` passes straight through, as it does in Camunda;
SpiffWorkflow would otherwise hold it READY as manual work that no one is asked to do.
"""
from __future__ import annotations

import re

from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import CallActivity, NoneTask, ReceiveTask
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEventDefinitionParser
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser, UserTaskParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.user_task import UserTask

from engine.cases import scopes
from engine.people.roles import LANE_ROLES

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_LINKED_FORM = re.compile(r"^camunda-forms:(?:deployment|app):(?:.*/)?([^/]+?)(?:\.form)?$")


def form_name(key: str | None) -> str | None:
    """The form a Camunda form key or form reference names: `camunda-forms:deployment:x.form` → `x`."""
    if not key:
        return key
    key = key.strip()
    linked = _LINKED_FORM.match(key)
    return linked.group(1) if linked else key


def form_reference(node) -> str | None:
    """The form an element names, by `camunda:formKey` or `camunda:formRef`."""
    return form_name(node.get(f"{{{CAMUNDA_NS}}}formKey") or node.get(f"{{{CAMUNDA_NS}}}formRef"))


def candidate_groups(node) -> list[str]:
    """The groups of `camunda:candidateGroups`, in order."""
    value = node.get(f"{{{CAMUNDA_NS}}}candidateGroups") or ""
    return [group.strip() for group in value.split(",") if group.strip()]


def candidate_role(node) -> str | None:
    """The role a user task outside any lane goes to: its only candidate group, when that is a role."""
    groups = candidate_groups(node)
    return groups[0] if len(groups) == 1 and groups[0] in LANE_ROLES else None


class PassThroughTask(NoneTask):
    """A plain or manual task: nothing to do, so the engine completes it on its way."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class PlanUserTaskParser(UserTaskParser):
    """A user task with its linked form's name, and its candidate group as lane when it has none."""

    def __init__(self, process_parser, spec_class, node, nsmap=None, lane=None):
        super().__init__(process_parser, spec_class, node, nsmap, lane)
        if not self.lane:
            self.lane = candidate_role(node)

    def get_form(self):
        form = super().get_form()
        form.key = form_reference(self.node)
        return form


class MessageReceiveTaskParser(CamundaEventDefinitionParser, ReceiveTaskParser):
    """A receive task's message read as Camunda messages are everywhere else (one kind of message per plan)."""


class PlanParser(CamundaParser):
    """CamundaParser with PlanFlow's reading of Camunda Modeler files."""

    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (PlanUserTaskParser, UserTask),
        full_tag("task"): (CamundaTaskParser, PassThroughTask),
        full_tag("manualTask"): (CamundaTaskParser, PassThroughTask),
        full_tag("startEvent"): (scopes.ScopedStartEventParser, scopes.ScopedStartEvent),
        full_tag("subProcess"): (scopes.EventSubprocessParser, CallActivity),
        full_tag("receiveTask"): (MessageReceiveTaskParser, ReceiveTask),
    }


# The serializer configuration for workflows parsed by PlanParser (CAMUNDA_CONFIG plus our spec classes).
SERIALIZER_CONFIG = {**CAMUNDA_CONFIG, PassThroughTask: BpmnTaskSpecConverter, **scopes.CONVERTERS}
