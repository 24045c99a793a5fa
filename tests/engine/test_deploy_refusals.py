"""Deploy refuses BPMN that could never progress, naming the element and saying what to draw instead."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.errors import DeployRejected
from engine.models import PlanVersion
from engine.plans import versions as plans
from tests.conftest import run
from tests.samples import called_plan, calling_plan, one_task_plan, write_plan

EXPRESSIONS_HINT = "expressions are Python; timers are ISO 8601, e.g. `PT24H`, `R/PT1H`"


def deploy(session_factory, folder, now):
    return run(session_factory, plans.deploy, plans.Bundle.from_paths([folder]), "owner", now)


def refusals(session_factory, folder, now) -> list[str]:
    with pytest.raises(DeployRejected) as info:
        deploy(session_factory, folder, now)
    assert run(session_factory, lambda s: s.execute(select(func.count(PlanVersion.id))).scalar_one()) == 0
    text = [str(p) for p in info.value.problems]
    assert not any("object at 0x" in p or "Traceback" in p for p in text)
    return text


def timer_event(element_id: str, kind: str, value: str) -> str:
    return f"""<bpmn:intermediateCatchEvent id="{element_id}">
      <bpmn:timerEventDefinition><bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>"""


REFUSED = [
    ("service task", '<bpmn:serviceTask id="Task_Call" camunda:class="org.example.Notify"/>', "Task_Call",
     "plans cannot call external services; use a script task or a user task"),
    ("service task with expression", '<bpmn:serviceTask id="Task_Expr" camunda:expression="${mailer.send()}"/>',
     "Task_Expr", "plans cannot call external services"),
    ("send task", '<bpmn:sendTask id="Task_Send"/>', "Task_Send", "a case does not send messages"),
    ("signal catch", '<bpmn:signal id="Sig" name="alarm"/><bpmn:intermediateCatchEvent id="Catch_Signal">'
     '<bpmn:signalEventDefinition signalRef="Sig"/></bpmn:intermediateCatchEvent>', "Catch_Signal",
     "signal events are not supported"),
    ("signal throw", '<bpmn:signal id="Sig" name="alarm"/><bpmn:intermediateThrowEvent id="Throw_Signal">'
     '<bpmn:signalEventDefinition signalRef="Sig"/></bpmn:intermediateThrowEvent>', "Throw_Signal",
     "signal events are not supported"),
    ("signal boundary", '<bpmn:signal id="Sig" name="alarm"/><bpmn:boundaryEvent id="Boundary_Signal" '
     'attachedToRef="Task_Verify"><bpmn:signalEventDefinition signalRef="Sig"/></bpmn:boundaryEvent>',
     "Boundary_Signal", "signal events are not supported"),
    ("signal start in event subprocess", '<bpmn:signal id="Sig" name="alarm"/><bpmn:subProcess id="Sub_Alarm" '
     'triggeredByEvent="true"><bpmn:startEvent id="Start_Signal"><bpmn:signalEventDefinition signalRef="Sig"/>'
     '</bpmn:startEvent></bpmn:subProcess>', "Start_Signal", "signal events are not supported"),
    ("conditional event", '<bpmn:intermediateCatchEvent id="Catch_Cond"><bpmn:conditionalEventDefinition>'
     '<bpmn:condition>ready</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>',
     "Catch_Cond", "conditional events are not supported"),
    ("compensation boundary", '<bpmn:boundaryEvent id="Boundary_Comp" attachedToRef="Task_Verify">'
     '<bpmn:compensateEventDefinition/></bpmn:boundaryEvent>', "Boundary_Comp", "compensation events are not"),
    ("link event", '<bpmn:intermediateThrowEvent id="Throw_Link"><bpmn:linkEventDefinition name="A"/>'
     '</bpmn:intermediateThrowEvent>', "Throw_Link", "connect the sequence flows directly"),
    ("cancel end event", '<bpmn:endEvent id="End_Cancel"><bpmn:cancelEventDefinition/></bpmn:endEvent>',
     "End_Cancel", "cancel events are not supported"),
    ("transaction", '<bpmn:transaction id="Tx_Pay"/>', "Tx_Pay", "a transaction is not supported"),
    ("complex gateway", '<bpmn:complexGateway id="Gateway_Complex"/>', "Gateway_Complex",
     "use an inclusive or exclusive gateway"),
    ("ad-hoc subprocess", '<bpmn:adHocSubProcess id="Sub_AdHoc"/>', "Sub_AdHoc", "ad-hoc subprocess"),
    ("message throw", '<bpmn:message id="Msg" name="reply"/><bpmn:intermediateThrowEvent id="Throw_Msg">'
     '<bpmn:messageEventDefinition messageRef="Msg"/></bpmn:intermediateThrowEvent>', "Throw_Msg",
     "a case does not send messages"),
    ("message end event", '<bpmn:message id="Msg" name="reply"/><bpmn:endEvent id="End_Msg">'
     '<bpmn:messageEventDefinition messageRef="Msg"/></bpmn:endEvent>', "End_Msg", "a case does not send messages"),
    ("top-level message start", '<bpmn:message id="Msg" name="hotline"/><bpmn:startEvent id="Start_Msg">'
     '<bpmn:messageEventDefinition messageRef="Msg"/></bpmn:startEvent>', "Start_Msg",
     "cases start by registration or the API; use a message start event inside an event subprocess"),
    ("receive task without message", '<bpmn:receiveTask id="Task_Receive"/>', "Task_Receive",
     "needs the message it waits for"),
    ("event with two triggers", '<bpmn:message id="Msg" name="reply"/><bpmn:intermediateCatchEvent id="Catch_Two">'
     '<bpmn:messageEventDefinition messageRef="Msg"/><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H'
     '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>', "Catch_Two",
     "several triggers"),
    ("message not defined", '<bpmn:receiveTask id="Task_Wait" messageRef="Msg_Missing"/>', "Task_Wait",
     "message 'Msg_Missing' is not defined in this file"),
    ("message without a name", '<bpmn:message id="Msg_Blank"/><bpmn:intermediateCatchEvent id="Catch_Blank">'
     '<bpmn:messageEventDefinition messageRef="Msg_Blank"/></bpmn:intermediateCatchEvent>', "Catch_Blank",
     "message 'Msg_Blank' has no name"),
    ("message name as expression", '<bpmn:message id="Msg_Expr" name="reply-${caseId}"/><bpmn:receiveTask '
     'id="Task_Reply" messageRef="Msg_Expr"/>', "Task_Reply", "message name `reply-${caseId}` is a Camunda expression"),
    ("error not defined", '<bpmn:endEvent id="End_Error"><bpmn:errorEventDefinition errorRef="Err_Missing"/>'
     '</bpmn:endEvent>', "End_Error", "error 'Err_Missing' is not defined in this file"),
    ("business rule task without decision", '<bpmn:businessRuleTask id="Task_Rule" camunda:class="a.Rule"/>',
     "Task_Rule", "a business-rule task needs a decision: set camunda:decisionRef"),
    ("JUEL timer", timer_event("Timer_Juel", "timeDuration", "${reminderDelay}"), "Timer_Juel", EXPRESSIONS_HINT),
    ("JUEL date", timer_event("Timer_Date", "timeDate", "#{dueDate}"), "Timer_Date", EXPRESSIONS_HINT),
    ("date without offset", timer_event("Timer_Naive", "timeDate", "2026-12-01T09:00:00"), "Timer_Naive",
     "has no UTC offset, so it would be read in the server's own time zone; add one, e.g. "
     "`2026-12-01T09:00:00+08:00`"),
    ("cron cycle", timer_event("Timer_Cron", "timeCycle", "0 0 9 * * ?"), "Timer_Cron",
     f"is a cron expression: {EXPRESSIONS_HINT}"),
    ("JUEL multi-instance collection", '<bpmn:userTask id="Task_Many" camunda:formKey="mini_note">'
     '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${departments}" camunda:elementVariable="d"/>'
     '</bpmn:userTask>', "Task_Many", EXPRESSIONS_HINT),
    ("multi-instance over nothing", '<bpmn:userTask id="Task_Each" camunda:formKey="mini_note">'
     '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>'
     '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>', "Task_Each",
     "a multi-instance activity needs camunda:collection"),
    ("event-based gateway before a user task", '<bpmn:eventBasedGateway id="Gateway_Wait"/><bpmn:sequenceFlow '
     'id="Flow_Wait" sourceRef="Gateway_Wait" targetRef="Task_Verify"/>', "Gateway_Wait",
     "an event-based gateway must lead to message or timer catch events or receive tasks; 'Task_Verify' is a "
     "userTask"),
    ("flow to nowhere", '<bpmn:sequenceFlow id="Flow_Lost" sourceRef="Task_Verify" targetRef="Task_Gone"/>',
     "Flow_Lost", "sequence flow target 'Task_Gone' is not an element of this (sub)process"),
    ("boundary on nothing", '<bpmn:boundaryEvent id="Timer_Lost" attachedToRef="Task_Gone">'
     '<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
     '</bpmn:boundaryEvent>', "Timer_Lost", "attached to 'Task_Gone', which is not an activity"),
    ("dead-end gateway", '<bpmn:parallelGateway id="Gateway_Dead"/>', "Gateway_Dead",
     "a gateway without an outgoing sequence flow is a dead end"),
    ("duplicate id", '<bpmn:scriptTask id="Task_Verify" scriptFormat="python"><bpmn:script>x = 1</bpmn:script>'
     '</bpmn:scriptTask>', "Task_Verify", "the id 'Task_Verify' is used by more than one element"),
    ("JavaScript script", '<bpmn:scriptTask id="Script_Js" scriptFormat="javascript"><bpmn:script>x = 1'
     '</bpmn:script></bpmn:scriptTask>', "Script_Js", "script format 'javascript' cannot run: scripts are Python"),
    ("external script", '<bpmn:scriptTask id="Script_File" scriptFormat="python" camunda:resource="x.py"/>',
     "Script_File", "write the Python script in the diagram"),
    ("candidate groups that are no role", '<bpmn:userTask id="Task_Group" camunda:formKey="mini_note" '
     'camunda:candidateGroups="accounting"/>', "Task_Group", "is not one known role"),
]


@pytest.mark.parametrize("extra,element_id,expected", [case[1:] for case in REFUSED],
                         ids=[case[0] for case in REFUSED])
def test_what_cannot_progress_is_refused_with_its_element_and_a_hint(session_factory, tmp_path, now, extra,
                                                                     element_id, expected):
    problems = refusals(session_factory, write_plan(tmp_path, one_task_plan(timer=None, extra=extra)), now)
    assert any(p.startswith(f"mini.bpmn:{element_id}:") and expected in p for p in problems), problems


def test_a_camunda_condition_is_refused_with_the_python_to_write(session_factory, tmp_path, now):
    xml = one_task_plan(timer=None, condition="${note != 'loop'}")
    problems = refusals(session_factory, write_plan(tmp_path, xml), now)
    [problem] = [p for p in problems if "Flow_Done" in p]
    assert EXPRESSIONS_HINT in problem and "(write `note != 'loop'`)" in problem


def test_every_problem_of_a_file_is_listed_once_even_with_elements_that_cannot_run(session_factory, tmp_path, now):
    extra = '<bpmn:serviceTask id="Task_Call" camunda:class="org.example.Notify"/>'
    xml = one_task_plan(condition="${note != 'loop'}", form_key="missing_form", timer="${delay}", extra=extra)
    problems = refusals(session_factory, write_plan(tmp_path, xml), now)
    assert sorted(p.split(":")[1] for p in problems) == ["Flow_Done", "Task_Call", "Task_Verify", "Timer_Deadline"]
    assert any("Task_Verify" in p and "form 'missing_form'" in p for p in problems), problems


def test_a_call_activity_calling_its_own_process_is_refused_naming_it(session_factory, tmp_path, now):
    folder = write_plan(tmp_path, calling_plan(process_id="caller", called="caller"), name="caller.bpmn")
    problems = refusals(session_factory, folder, now)
    assert any("caller.bpmn:Call_Closing:" in p and "process 'caller' calls itself" in p for p in problems), problems


def test_two_plans_calling_each_other_are_refused_with_both_ids(session_factory, tmp_path, now):
    folder = write_plan(tmp_path, calling_plan(process_id="first", called="second"), name="first.bpmn")
    write_plan(folder, calling_plan(process_id="second", called="first"), name="second.bpmn")
    problems = refusals(session_factory, folder, now)
    assert any("first.bpmn" in p and "process 'first' calls 'second', which calls back to 'first'" in p
               for p in problems), problems
    assert any("second.bpmn" in p and "process 'second' calls 'first', which calls back to 'second'" in p
               for p in problems), problems


def test_a_call_cycle_through_a_deployed_plan_is_refused(session_factory, tmp_path, now):
    deploy(session_factory, write_plan(tmp_path / "a", called_plan("closing_steps"), name="closing_steps.bpmn"), now)
    deploy(session_factory, write_plan(tmp_path / "b", calling_plan("caller", "closing_steps"), name="caller.bpmn"),
           now)
    folder = write_plan(tmp_path / "c", calling_plan("closing_steps", "caller"), name="closing_steps.bpmn")
    with pytest.raises(DeployRejected) as info:
        deploy(session_factory, folder, now)
    assert "process 'closing_steps' calls 'caller', which calls back to 'closing_steps'" in str(info.value)


def test_a_dmn_file_with_several_decisions_is_refused(session_factory, tmp_path, now):
    extra = '<bpmn:businessRuleTask id="Task_Rule" camunda:decisionRef="level"/>'
    folder = write_plan(tmp_path, one_task_plan(timer=None, extra=extra))
    (folder / "levels.dmn").write_text(two_decisions_dmn(), encoding="utf-8")
    problems = refusals(session_factory, folder, now)
    assert any(p.startswith("levels.dmn:") and "2 decisions" in p and "one decision per .dmn file" in p
               for p in problems), problems


DMN_HEAD = '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="levels" name="l" namespace="x">'
TABLE = ('<input id="In"><inputExpression typeRef="integer"><text>amount</text></inputExpression></input>'
         '<output id="Out" name="level" typeRef="string"/>')


@pytest.mark.parametrize("decision,expected", [
    (f'<decision id="level"><informationRequirement><requiredDecision href="#approver"/></informationRequirement>'
     f'<decisionTable id="T">{TABLE}</decisionTable></decision>',
     "levels.dmn:level: decision 'level' requires decision 'approver'; PlanFlow runs one decision per .dmn file"),
    ('<decision id="level"><literalExpression><text>"low"</text></literalExpression></decision>',
     "levels.dmn:level: decision 'level' has no decision table"),
    (f'<decision id="level"><decisionTable id="T" hitPolicy="RULE ORDER">{TABLE}</decisionTable></decision>',
     "levels.dmn:level: hit policy RULE ORDER of decision 'level' is not supported"),
    (f'<decision id="level"><decisionTable id="T" hitPolicy="COLLECT" aggregation="SUM">{TABLE}</decisionTable>'
     '</decision>', "levels.dmn:level: COLLECT SUM of decision 'level' is not supported"),
])
def test_a_decision_the_engine_would_misread_is_refused(session_factory, tmp_path, now, decision, expected):
    extra = '<bpmn:businessRuleTask id="Task_Rule" camunda:decisionRef="level"/>'
    folder = write_plan(tmp_path, one_task_plan(timer=None, extra=extra))
    (folder / "levels.dmn").write_text(f"{DMN_HEAD}{decision}</definitions>", encoding="utf-8")
    problems = refusals(session_factory, folder, now)
    assert any(p.startswith(expected) for p in problems), problems


def two_decisions_dmn() -> str:
    def decision(decision_id: str, extra: str = "") -> str:
        return f"""<decision id="{decision_id}" name="{decision_id}">{extra}
    <decisionTable id="{decision_id}_table"><input id="{decision_id}_in"><inputExpression typeRef="integer">
      <text>amount</text></inputExpression></input><output id="{decision_id}_out" name="{decision_id}" typeRef="string"/>
      <rule id="{decision_id}_r1"><inputEntry id="{decision_id}_e1"><text>&lt;= 1000</text></inputEntry>
        <outputEntry id="{decision_id}_o1"><text>"low"</text></outputEntry></rule>
    </decisionTable></decision>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="levels" name="levels" namespace="x">
  {decision("level")}
  {decision("approver")}
</definitions>"""



FIXTURES = Path(__file__).parent / "bpmn"


@pytest.mark.parametrize("plan_key", ["message_waits", "event_gateway", "loops"])
def test_what_runs_still_deploys_without_warnings(session_factory, tmp_path, now, plan_key):
    """Messages received, event-based gateways, timers, errors, escalations, multi-instance and loops run."""
    folder = write_plan(tmp_path, (FIXTURES / f"{plan_key}.bpmn").read_text(encoding="utf-8"), name=f"{plan_key}.bpmn")
    [result] = deploy(session_factory, folder, now)
    assert (result.plan_key, result.created, result.warnings) == (plan_key, True, ())


def test_a_call_cycle_further_down_the_calls_is_found_with_its_chain():
    calls = {"plan": [("closing", "Call_1")], "closing": [("review", "Call_2")], "review": [("closing", "Call_3")]}
    assert plans.call_cycle(calls, "plan") == [("closing", "Call_2"), ("review", "Call_3")]
    assert plans.call_cycle({"plan": [("closing", "Call_1")], "closing": []}, "plan") is None


def test_a_parse_error_about_an_xml_element_names_it_without_an_address(session_factory, tmp_path, now):
    xml = one_task_plan(timer=None, script="x = 1").replace(
        "<bpmn:script>", '<bpmn:dataOutputAssociation id="Assoc_Out"><bpmn:targetRef>Missing_Object</bpmn:targetRef>'
        "</bpmn:dataOutputAssociation><bpmn:script>", 1)
    problems = refusals(session_factory, write_plan(tmp_path, xml), now)
    assert any("Script_Prepare" in p and "Cannot resolve dataOutputAssociation <targetRef>" in p for p in problems), \
        problems


def test_a_process_not_marked_executable_is_refused_with_how_to_mark_it(session_factory, tmp_path, now):
    xml = one_task_plan().replace('isExecutable="true"', 'isExecutable="false"')
    problems = refusals(session_factory, write_plan(tmp_path, xml), now)
    assert any("is not executable" in p and "the 'Executable' box in Camunda Modeler" in p for p in problems), problems
