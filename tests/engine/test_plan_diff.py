"""The version diff compares meaning: default attributes, attribute and child order, whitespace are not changes."""
from __future__ import annotations

from engine.plans.diff import diff_bpmn
from tests.support import PLAN_PATHS

XML = (PLAN_PATHS[0] / "general_complaint.bpmn").read_text(encoding="utf-8")


def test_a_renamed_task_is_the_only_change_even_when_the_modeler_drops_default_attributes():
    renamed = XML.replace('name="首次联系与分级"', 'name="首次联系与分级（新）"', 1)
    # What bpmn-js writes back: boundary events lose cancelActivity="true", the process isExecutable order moves.
    rewritten = renamed.replace(' cancelActivity="true"', "").replace(
        '<bpmn:process id="general_complaint" name="投诉受理应急处置预案" isExecutable="true">',
        '<bpmn:process id="general_complaint" isExecutable="true" name="投诉受理应急处置预案">')
    assert rewritten.count("cancelActivity") < XML.count("cancelActivity")
    changes = diff_bpmn(XML, rewritten)
    assert changes["changed"] == [{"id": "Task_FirstContact", "name": "首次联系与分级（新）", "type": "userTask"}]
    assert changes["added"] == [] and changes["removed"] == []


def test_a_non_default_attribute_is_a_change():
    interrupting = 'id="Timer_FirstContact24h" name="收到后24小时未联系" cancelActivity="true"'
    assert interrupting in XML
    changed = XML.replace(interrupting, interrupting.replace('"true"', '"false"'))
    assert [c["id"] for c in diff_bpmn(XML, changed)["changed"]] == ["Timer_FirstContact24h"]


def test_reindenting_and_reordering_children_is_no_change():
    reindented = XML.replace("\n      ", "\n        ")
    assert diff_bpmn(XML, reindented) == {"added": [], "removed": [], "changed": []}
