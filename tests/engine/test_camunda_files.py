"""Files from Camunda Modeler open as they are: linked forms, candidate groups, plain and manual tasks."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.errors import DeployRejected, FormInvalid
from engine.people import users
from engine.plans import versions as plans
from tests.conftest import run
from tests.samples import one_task_plan, write_plan
from tests.support import Desk, secret_hash


def modeler_plan(*, task_attrs: str = 'camunda:formKey="mini_note"', task_in_lane: bool = True,
                 start_attrs: str = "", pass_through: bool = False) -> str:
    """start → [plain task → manual task] → user task → end, as Camunda Modeler writes it."""
    first = "Task_Plain" if pass_through else "Task_Handle"
    steps = """
    <bpmn:task id="Task_Plain" name="Phone the complainant"><bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_P1</bpmn:outgoing></bpmn:task>
    <bpmn:manualTask id="Task_Manual" name="File the paper copy"><bpmn:incoming>Flow_P1</bpmn:incoming>
      <bpmn:outgoing>Flow_P2</bpmn:outgoing></bpmn:manualTask>
    <bpmn:sequenceFlow id="Flow_P1" sourceRef="Task_Plain" targetRef="Task_Manual"/>
    <bpmn:sequenceFlow id="Flow_P2" sourceRef="Task_Manual" targetRef="Task_Handle"/>""" if pass_through else ""
    lane_ref = "<bpmn:flowNodeRef>Task_Handle</bpmn:flowNodeRef>" if task_in_lane else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_M" targetNamespace="http://planflow.test">
  <bpmn:process id="modeler" name="From the modeler" isExecutable="true">
    <bpmn:laneSet id="LaneSet_M"><bpmn:lane id="Lane_M" name="handler">
      <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>{lane_ref}</bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1" {start_attrs}><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="{first}"/>{steps}
    <bpmn:userTask id="Task_Handle" name="Handle" {task_attrs}>
      <bpmn:incoming>{"Flow_P2" if pass_through else "Flow_1"}</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_Handle" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>"""


def deployed_desk(session_factory, tmp_path, now, xml: str) -> Desk:
    return Desk.open(session_factory, now, [write_plan(tmp_path / "plan", xml, name="modeler.bpmn")])


def test_plain_and_manual_tasks_pass_straight_through_with_a_deploy_warning(session_factory, tmp_path, now):
    folder = write_plan(tmp_path, modeler_plan(pass_through=True), name="modeler.bpmn")
    [result] = run(session_factory, plans.deploy, plans.Bundle.from_paths([folder]), "owner", now)
    assert result.created
    warnings = {w.element_id: w.message for w in result.warnings}
    assert set(warnings) == {"Task_Plain", "Task_Manual"}
    assert "passes straight through it, as in Camunda" in warnings["Task_Plain"]
    desk = Desk(session_factory, now)
    desk.do(users.add_user, "handler1", ["handler"], None, password_hash=secret_hash())
    number = desk.start("modeler", {}, "handler1")
    assert [t.element_id for t in desk.open_tasks(number)] == ["Task_Handle"], "a plain task must not block"
    assert desk.complete(number, "Task_Handle", {"note": "done"}).case_completed


@pytest.mark.parametrize("attrs", [
    'camunda:formKey="camunda-forms:deployment:mini_note.form"',
    'camunda:formKey="camunda-forms:app:forms/mini_note.form"',
    'camunda:formRef="mini_note" camunda:formRefBinding="latest"',
])
def test_a_linked_form_resolves_to_the_form_file_of_its_name(session_factory, tmp_path, now, attrs):
    desk = deployed_desk(session_factory, tmp_path, now, modeler_plan(task_attrs=attrs))
    number = desk.start("modeler", {}, "handler1")
    task = desk.task(number, "Task_Handle")
    assert task.form_key == "mini_note"
    with pytest.raises(FormInvalid):
        desk.complete(number, "Task_Handle", {})
    assert desk.complete(number, "Task_Handle", {"note": "checked"}).case_completed


def test_a_start_form_named_by_form_ref_is_the_registration_form(session_factory, tmp_path, now):
    desk = deployed_desk(session_factory, tmp_path, now,
                         modeler_plan(start_attrs='camunda:formRef="mini_note" camunda:formRefBinding="deployment"'))
    with pytest.raises(FormInvalid):
        desk.start("modeler", {}, "handler1")
    assert desk.start("modeler", {"note": "registered"}, "handler1")


def test_a_user_task_outside_lanes_goes_to_its_candidate_group_role(session_factory, tmp_path, now):
    xml = modeler_plan(task_attrs='camunda:formKey="mini_note" camunda:candidateGroups="dept_head"',
                       task_in_lane=False)
    desk = deployed_desk(session_factory, tmp_path, now, xml)
    number = desk.start("modeler", {}, "handler1")
    assert desk.task(number, "Task_Handle").role == "dept_head"


def test_the_lane_decides_over_candidate_groups_with_a_warning(session_factory, tmp_path, now):
    xml = modeler_plan(task_attrs='camunda:formKey="mini_note" camunda:candidateGroups="dept_head"')
    folder = write_plan(tmp_path, xml, name="modeler.bpmn")
    [result] = run(session_factory, plans.deploy, plans.Bundle.from_paths([folder]), "owner", now)
    assert [(w.element_id, "lane decides" in w.message) for w in result.warnings] == [("Task_Handle", True)]


def test_the_command_line_shows_deploy_warnings(tmp_path):
    folder = write_plan(tmp_path / "plan", modeler_plan(pass_through=True), name="modeler.bpmn")
    env = {"PLANFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    result = runner.invoke(main, ["deploy", str(folder)], env=env, catch_exceptions=False)
    assert result.exit_code == 0 and "modeler: version 1 deployed" in result.stdout
    assert "warning: modeler.bpmn:Task_Plain: a plain task does nothing" in result.stderr
    assert "warning: modeler.bpmn:Task_Manual: a manual task is not tracked" in result.stderr
    write_plan(folder, modeler_plan(pass_through=True).replace('name="Handle"', 'name="Handle it"'),
               name="modeler.bpmn")
    result = runner.invoke(main, ["deploy", str(folder), "--json"], env=env, catch_exceptions=False)
    [deployed] = json.loads(result.stdout)
    assert deployed["version"] == 2
    assert [w["element_id"] for w in deployed["warnings"]] == ["Task_Plain", "Task_Manual"]


SPIFF = 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'


@pytest.mark.parametrize("extra,element_id,expected", [
    ('<bpmn:scriptTask id="Script_Listened" scriptFormat="python"><bpmn:extensionElements>'
     '<camunda:executionListener class="org.example.Audit" event="start"/></bpmn:extensionElements>'
     '<bpmn:script>seen = True</bpmn:script></bpmn:scriptTask>', "Script_Listened",
     "camunda:executionListener is ignored"),
    (f'<bpmn:scriptTask id="Script_Pre" scriptFormat="python" {SPIFF}><bpmn:extensionElements>'
     '<spiffworkflow:preScript>ready = True</spiffworkflow:preScript></bpmn:extensionElements>'
     '<bpmn:script>seen = True</bpmn:script></bpmn:scriptTask>', "Script_Pre",
     "the SpiffWorkflow extension 'preScript' is ignored: plans are read in the Camunda 7 dialect; put the script"),
    ('<bpmn:userTask id="Task_Assigned" camunda:formKey="mini_note" camunda:assignee="wang"/>', "Task_Assigned",
     "camunda:assignee is ignored"),
])
def test_what_camunda_or_spiffworkflow_would_run_but_plans_ignore_deploys_with_a_warning(
        session_factory, tmp_path, now, extra, element_id, expected):
    xml = one_task_plan(timer=None, extra=extra)
    if "Task_Assigned" in extra:  # a user task needs a lane
        xml = xml.replace("<bpmn:flowNodeRef>Task_Verify</bpmn:flowNodeRef>",
                          "<bpmn:flowNodeRef>Task_Verify</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Assigned"
                          "</bpmn:flowNodeRef>")
    [result] = run(session_factory, plans.deploy, plans.Bundle.from_paths([write_plan(tmp_path, xml)]), "owner", now)
    assert [(w.element_id, expected in w.message) for w in result.warnings] == [(element_id, True)], result.warnings


def test_an_embedded_camunda_html_form_is_refused_saying_plans_use_form_js(session_factory, tmp_path, now):
    xml = modeler_plan(task_attrs='camunda:formKey="embedded:app:forms/inspect-form.html"')
    with pytest.raises(DeployRejected) as info:
        run(session_factory, plans.deploy, plans.Bundle.from_paths([write_plan(tmp_path, xml, name="modeler.bpmn")]),
            "owner", now)
    assert "form 'embedded:app:forms/inspect-form.html' of user task 'Handle' is a Camunda embedded or external " \
           "form; plans use form-js forms" in str(info.value)


def test_a_task_in_a_sub_lane_goes_to_the_sub_lanes_role(session_factory, tmp_path, now):
    """Camunda Modeler nests lanes: the office's lane holds one lane per role; the innermost lane is the role."""
    xml = modeler_plan().replace(
        '<bpmn:lane id="Lane_M" name="handler">\n      <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>'
        '<bpmn:flowNodeRef>Task_Handle</bpmn:flowNodeRef></bpmn:lane>',
        '<bpmn:lane id="Lane_Office" name="Complaints office"><bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>'
        '<bpmn:flowNodeRef>Task_Handle</bpmn:flowNodeRef><bpmn:childLaneSet id="LaneSet_Office">'
        '<bpmn:lane id="Lane_Intake" name="handler"><bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef></bpmn:lane>'
        '<bpmn:lane id="Lane_Head" name="dept_head"><bpmn:flowNodeRef>Task_Handle</bpmn:flowNodeRef></bpmn:lane>'
        '</bpmn:childLaneSet></bpmn:lane>')
    assert "Lane_Office" in xml
    desk = deployed_desk(session_factory, tmp_path, now, xml)
    number = desk.start("modeler", {}, "handler1")
    assert desk.task(number, "Task_Handle").role == "dept_head"
