"""Small hand-written plans for engine tests that should not depend on a real plan's details."""
from __future__ import annotations

import json

# The least a general complaint registers with.
REGISTRATION = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "content": "快递延误"}


NOTE_FORM = {"components": [
    {"id": "c1", "key": "note", "type": "textfield", "label": "Note", "validate": {"required": True}},
]}


def one_task_plan(process_id: str = "mini", *, task_name: str = "Verify", lane: str = "handler",
                  form_key: str | None = "mini_note", timer: str | None = "PT24H",
                  condition: str = 'note != "loop"', escalate_lane: str = "office_director",
                  task_id: str = "Task_Verify", extra: str = "", script: str | None = None) -> str:
    """start → [script] → user task (with optional interrupting timer → escalation task) → gateway → end."""
    from xml.sax.saxutils import escape
    first_target = "Script_Prepare" if script else task_id
    script_xml = f"""
    <bpmn:scriptTask id="Script_Prepare" name="Prepare" scriptFormat="python">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_Script</bpmn:outgoing>
      <bpmn:script>{escape(script)}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="Flow_Script" sourceRef="Script_Prepare" targetRef="{task_id}"/>""" if script else ""
    condition = escape(condition)
    timer = escape(timer) if timer else timer
    form_attr = f' camunda:formKey="{form_key}"' if form_key else ""
    timer_xml = f"""
    <bpmn:boundaryEvent id="Timer_Deadline" attachedToRef="{task_id}">
      <bpmn:outgoing>Flow_Late</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{timer}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Task_Escalated" name="Escalated" camunda:formKey="mini_note">
      <bpmn:incoming>Flow_Late</bpmn:incoming><bpmn:outgoing>Flow_EscDone</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_Late" sourceRef="Timer_Deadline" targetRef="Task_Escalated"/>
    <bpmn:sequenceFlow id="Flow_EscDone" sourceRef="Task_Escalated" targetRef="EndEvent_Done"/>""" if timer else ""
    escalation_lane = f"""<bpmn:lane id="Lane_Esc" name="{escalate_lane}"><bpmn:flowNodeRef>Task_Escalated</bpmn:flowNodeRef></bpmn:lane>""" if timer else ""
    lane_xml = f"""<bpmn:lane id="Lane_Main" name="{lane}"><bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>{task_id}</bpmn:flowNodeRef><bpmn:flowNodeRef>Gateway_Check</bpmn:flowNodeRef>
        {"<bpmn:flowNodeRef>Script_Prepare</bpmn:flowNodeRef>" if script else ""}
        <bpmn:flowNodeRef>EndEvent_Done</bpmn:flowNodeRef></bpmn:lane>""" if lane else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="Definitions_1" targetNamespace="http://planflow.test">
  <bpmn:process id="{process_id}" name="Mini plan" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">{lane_xml}{escalation_lane}</bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="{task_id}" name="{task_name}"{form_attr}>
      <bpmn:incoming>{"Flow_Script" if script else "Flow_1"}</bpmn:incoming><bpmn:incoming>Flow_Again</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="Gateway_Check" default="Flow_Again">
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_Done</bpmn:outgoing><bpmn:outgoing>Flow_Again</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="EndEvent_Done"><bpmn:incoming>Flow_Done</bpmn:incoming><bpmn:incoming>Flow_EscDone</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="{first_target}"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="{task_id}" targetRef="Gateway_Check"/>
    <bpmn:sequenceFlow id="Flow_Done" sourceRef="Gateway_Check" targetRef="EndEvent_Done">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_Again" sourceRef="Gateway_Check" targetRef="{task_id}"/>
    {timer_xml}
    {script_xml}
    {extra}
  </bpmn:process>
</bpmn:definitions>"""


def write_plan(folder, xml: str, name: str = "mini.bpmn", forms: dict | None = None):
    """Write a plan and its forms into `folder`; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(xml, encoding="utf-8")
    for key, schema in (forms if forms is not None else {"mini_note": NOTE_FORM}).items():
        (folder / f"{key}.form").write_text(json.dumps(schema), encoding="utf-8")
    return folder


def called_plan(process_id: str = "closing_steps", task_name: str = "Archive") -> str:
    """A reusable process: one user task for office_director."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_C" targetNamespace="http://planflow.test">
  <bpmn:process id="{process_id}" name="Closing steps" isExecutable="true">
    <bpmn:laneSet id="LaneSet_C"><bpmn:lane id="Lane_C" name="office_director">
      <bpmn:flowNodeRef>StartEvent_C</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Archive</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>EndEvent_C</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_C"><bpmn:outgoing>Flow_C1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Archive" name="{task_name}" camunda:formKey="mini_note">
      <bpmn:incoming>Flow_C1</bpmn:incoming><bpmn:outgoing>Flow_C2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_C"><bpmn:incoming>Flow_C2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_C1" sourceRef="StartEvent_C" targetRef="Task_Archive"/>
    <bpmn:sequenceFlow id="Flow_C2" sourceRef="Task_Archive" targetRef="EndEvent_C"/>
  </bpmn:process>
</bpmn:definitions>"""


def calling_plan(process_id: str = "caller", called: str = "closing_steps") -> str:
    """start → handler task → call activity of `called` → end."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_K" targetNamespace="http://planflow.test">
  <bpmn:process id="{process_id}" name="Caller" isExecutable="true">
    <bpmn:laneSet id="LaneSet_K"><bpmn:lane id="Lane_K" name="handler">
      <bpmn:flowNodeRef>StartEvent_K</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Handle</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Call_Closing</bpmn:flowNodeRef><bpmn:flowNodeRef>EndEvent_K</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_K"><bpmn:outgoing>Flow_K1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Handle" name="Handle" camunda:formKey="mini_note">
      <bpmn:incoming>Flow_K1</bpmn:incoming><bpmn:outgoing>Flow_K2</bpmn:outgoing></bpmn:userTask>
    <bpmn:callActivity id="Call_Closing" name="Closing" calledElement="{called}">
      <bpmn:incoming>Flow_K2</bpmn:incoming><bpmn:outgoing>Flow_K3</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="EndEvent_K"><bpmn:incoming>Flow_K3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_K1" sourceRef="StartEvent_K" targetRef="Task_Handle"/>
    <bpmn:sequenceFlow id="Flow_K2" sourceRef="Task_Handle" targetRef="Call_Closing"/>
    <bpmn:sequenceFlow id="Flow_K3" sourceRef="Call_Closing" targetRef="EndEvent_K"/>
  </bpmn:process>
</bpmn:definitions>"""
