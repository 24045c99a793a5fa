"""What an engine failure says: the element and SpiffWorkflow's own context, never an object's address."""
from __future__ import annotations

import pytest
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from sqlalchemy import select

from engine.cases import runtime
from engine.cases import use_cases as cases
from engine.cases.engine_errors import engine_error_text
from engine.db import transaction
from engine.models import AuditEvent
from engine.plans.bpmn import parse_plan
from tests.samples import write_plan
from tests.support import Desk


def rule_plan() -> str:
    """start (handler) → business-rule task on `risk_level` → user task → end."""
    return """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_R" targetNamespace="http://planflow.test">
  <bpmn:process id="ruled" name="Ruled" isExecutable="true">
    <bpmn:laneSet id="LaneSet_R"><bpmn:lane id="Lane_R" name="handler">
      <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Handle</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1" camunda:formKey="mini_note"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="Task_Rule" name="Rate risk" camunda:decisionRef="risk_level">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:userTask id="Task_Handle" name="Handle" camunda:formKey="mini_note">
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_Rule"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_Rule" targetRef="Task_Handle"/>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_Handle" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>"""


# Row 1 does not match "calm"; row 2 compares the text with a number, which fails.
RISK_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="risk" name="risk" namespace="x">
  <decision id="risk_level" name="Risk level">
    <decisionTable id="Table_Risk">
      <input id="Input_Note" label="note"><inputExpression id="Expr_Note" typeRef="string">
        <text>note</text></inputExpression></input>
      <output id="Output_Risk" name="risk" typeRef="string"/>
      <rule id="Rule_Angry"><inputEntry id="In_1"><text>"angry"</text></inputEntry>
        <outputEntry id="Out_1"><text>"high"</text></outputEntry></rule>
      <rule id="Rule_Broken"><inputEntry id="In_2"><text>? &gt; 5</text></inputEntry>
        <outputEntry id="Out_2"><text>"low"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def test_a_failing_decision_rule_is_an_incident_that_names_its_row(session_factory, tmp_path, now):
    folder = write_plan(tmp_path, rule_plan(), name="ruled.bpmn")
    (folder / "risk.dmn").write_text(RISK_DMN, encoding="utf-8")
    desk = Desk.open(session_factory, now, [folder])
    number = desk.start("ruled", {"note": "calm"}, "handler1")
    with transaction(session_factory, readonly=True) as session:
        [incident] = cases.incidents(session)
        event = session.execute(select(AuditEvent).where(AuditEvent.kind == "incident")).scalar_one()
    assert incident.number == number
    assert incident.incident.startswith("Task_Rule:"), incident.incident
    assert "row 2" in incident.incident, incident.incident
    assert "object at 0x" not in incident.incident and "object at 0x" not in str(event.payload)


def test_an_engine_error_raised_about_a_spec_reads_as_its_message_not_an_address():
    spec = parse_plan(rule_plan(), "ruled.bpmn", {"risk.dmn": RISK_DMN}).spec.task_specs["Task_Rule"]
    error = WorkflowException(spec, "No input task connected.")  # the argument order SpiffWorkflow uses
    assert "object at 0x" in str(error), "the raw text is what cases must never show"
    assert engine_error_text(error) == "No input task connected. (in a BusinessRuleTask)"


def test_a_decision_rule_failure_keeps_spiffworkflows_row_context():
    workflow = runtime.new_workflow(parse_plan(rule_plan(), "ruled.bpmn", {"risk.dmn": RISK_DMN}))
    workflow.task_tree.data["note"] = "calm"
    with pytest.raises(SpiffWorkflowException) as info:
        workflow.do_engine_steps()
    text = engine_error_text(info.value)
    assert "Rule failed on row 2" in text and "'? > 5'" in text, text
    assert "'>' not supported between instances of 'str' and 'int'" in text, "the error underneath is kept"
