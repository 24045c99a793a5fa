"""Editing plans: drafts never touch running cases, concurrent edits never overwrite, diffs, export, migration."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.cases import migration
from engine.cases import use_cases as cases
from engine.errors import Conflict, DeployRejected, FormInvalid, PlanFlowError
from engine.models import AuditEvent, PlanVersion
from engine.plans import drafts
from engine.plans import versions as plans
from tests.samples import one_task_plan, write_plan
from tests.support import Desk


@pytest.fixture
def mini(session_factory, now, tmp_path):
    return Desk.open(session_factory, now, [write_plan(tmp_path / "plans", one_task_plan(timer=None))])


def renamed(name: str) -> str:
    return one_task_plan(timer=None, task_name=name)


def versions(desk) -> list[int]:
    return desk.do(lambda s: list(s.execute(select(PlanVersion.version).order_by(PlanVersion.version)).scalars()))


def test_a_saved_draft_changes_nothing_that_runs(mini):
    number = mini.start("mini", {}, "handler1")
    assert mini.do(drafts.save_draft, "mini", renamed("Draft name"), 0, "process_owner1", mini.now) == 1
    assert versions(mini) == [1]
    assert mini.task(number, "Task_Verify").name == "Verify"
    state = mini.do(drafts.editor_state, "mini")
    assert (state.revision, state.source, state.version) == (1, "draft", 1) and "Draft name" in state.xml


def test_the_second_save_on_a_stale_revision_is_told_what_changed(mini):
    mini.do(drafts.save_draft, "mini", renamed("First owner's name"), 0, "process_owner1", mini.now)
    with pytest.raises(drafts.DraftChanged) as info:
        mini.do(drafts.save_draft, "mini", renamed("Second owner's name"), 0, "owner2", mini.now)
    assert "changed by process_owner1" in str(info.value)
    assert info.value.changes["changed"] == [{"id": "Task_Verify", "name": "First owner's name", "type": "userTask"}]
    assert mini.do(drafts.editor_state, "mini").revision == 1, "nothing was overwritten"


def test_deploying_from_the_editor_makes_a_version_and_pins_running_cases(mini):
    old_case = mini.start("mini", {}, "handler1")
    result = mini.do(drafts.deploy_draft, "mini", renamed("Verify v2"), 0, "process_owner1", mini.now)
    assert (result.version, result.created) == (2, True)
    new_case = mini.start("mini", {}, "handler1")
    assert mini.task(old_case, "Task_Verify").name == "Verify"
    assert mini.task(new_case, "Task_Verify").name == "Verify v2"
    assert mini.complete(old_case, "Task_Verify", {"note": "ok"}).case_completed
    state = mini.do(drafts.editor_state, "mini")
    assert (state.source, state.version) == ("version", 2)
    with pytest.raises(drafts.DraftChanged):  # an editor still open on revision 0 learns about the deploy
        mini.do(drafts.save_draft, "mini", renamed("stale"), 0, "owner2", mini.now)


def test_a_broken_edit_is_refused_with_every_problem_and_nothing_stored(mini):
    broken = one_task_plan(timer=None, lane="tea_maker", condition="note ==", form_key="nope")
    problems = mini.do(drafts.check_draft, "mini", broken)
    assert {p.element_id for p in problems} >= {"Task_Verify", "Gateway_Check"}
    with pytest.raises(DeployRejected):
        mini.do(drafts.deploy_draft, "mini", broken, 0, "process_owner1", mini.now)
    assert versions(mini) == [1]
    assert mini.do(drafts.check_draft, "mini", renamed("fine")) == []


@pytest.mark.parametrize("xml, message", [
    ("<bpmn:definitions", "malformed XML"),
    (one_task_plan(process_id="other", timer=None), "process id is 'other'"),
])
def test_a_draft_must_be_the_plans_own_well_formed_diagram(mini, xml, message):
    with pytest.raises(PlanFlowError, match=message):
        mini.do(drafts.save_draft, "mini", xml, 0, "process_owner1", mini.now)


def test_export_writes_deployable_files_and_every_version(mini, tmp_path):
    mini.do(drafts.deploy_draft, "mini", renamed("Verify v2"), 0, "process_owner1", mini.now)
    written = mini.do(plans.export, tmp_path / "out", True)
    names = sorted(str(p.relative_to(tmp_path / "out")) for p in written)
    assert names == ["forms/mini_note.form", "processes/mini.bpmn",
                     "versions/mini/v1/forms/mini_note.form", "versions/mini/v1/processes/mini.bpmn"]
    assert "Verify v2" in (tmp_path / "out/processes/mini.bpmn").read_text(encoding="utf-8")
    again = mini.do(plans.deploy, plans.Bundle.from_paths([tmp_path / "out/processes", tmp_path / "out/forms"]),
                    "owner", mini.now)
    assert [(r.version, r.created) for r in again] == [(2, False)], "exported files are the deployed content"


def test_migration_preview_and_move_of_a_running_case(mini):
    number = mini.start("mini", {}, "handler1")
    mini.do(drafts.deploy_draft, "mini", renamed("Verify v2"), 0, "process_owner1", mini.now)
    [preview] = mini.do(migration.preview_migration, "mini", 2)
    assert (preview.case, preview.from_version, preview.to_version) == (number, 1, 2)
    assert preview.changed == ["Task_Verify"] and preview.can_migrate
    mini.do(migration.migrate_case, number, 2, "process_owner1", mini.now)
    task = mini.task(number, "Task_Verify")
    assert task.name == "Verify v2"
    assert mini.do(lambda s: cases.get_case(s, number).plan_version.version) == 2
    events = mini.do(lambda s: s.execute(select(AuditEvent).where(AuditEvent.kind == "case_migrated")).scalars().all())
    assert [(e.case_number, e.payload["from_version"], e.payload["to_version"]) for e in events] == [(number, 1, 2)]
    assert mini.complete(number, "Task_Verify", {"note": "ok"}).case_completed


NO_TASKS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="http://t">
  <bpmn:process id="mini" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>F</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="EndEvent_Done"><bpmn:incoming>F</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F" sourceRef="StartEvent_1" targetRef="EndEvent_Done"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_case_whose_open_step_disappears_is_not_moved(mini):
    number = mini.start("mini", {}, "handler1")
    mini.do(drafts.deploy_draft, "mini", NO_TASKS, 0, "process_owner1", mini.now)
    [preview] = mini.do(migration.preview_migration, "mini", 2)
    assert not preview.can_migrate and "Task_Verify" in preview.blocked
    with pytest.raises(Conflict, match="cannot move"):
        mini.do(migration.migrate_case, number, 2, "process_owner1", mini.now)
    assert mini.do(lambda s: cases.get_case(s, number).plan_version.version) == 1


def test_a_step_whose_id_changed_in_place_is_followed_by_the_moved_case(mini):
    """SpiffWorkflow aligns a renamed element by its place in the flow; the task row follows it."""
    number = mini.start("mini", {}, "handler1")
    mini.do(drafts.deploy_draft, "mini", one_task_plan(timer=None, task_id="Task_Check"), 0, "process_owner1",
            mini.now)
    mini.do(migration.migrate_case, number, 2, "process_owner1", mini.now)
    assert [t.element_id for t in mini.open_tasks(number)] == ["Task_Check"]


def test_editing_a_form_deploys_a_new_version_and_running_cases_keep_the_old_form(mini):
    import json
    old_case = mini.start("mini", {}, "handler1")
    stricter = {"components": [{"key": "note", "type": "textfield", "label": "Note", "validate": {"required": True}},
                               {"key": "reason", "type": "textfield", "label": "Reason",
                                "validate": {"required": True}}]}
    result = mini.do(drafts.deploy_asset, "mini", "mini_note.form", json.dumps(stricter), "process_owner1", mini.now)
    assert (result.version, result.created) == (2, True)
    assert mini.complete(old_case, "Task_Verify", {"note": "ok"}).case_completed
    new_case = mini.start("mini", {}, "handler1")
    with pytest.raises(FormInvalid):
        mini.complete(new_case, "Task_Verify", {"note": "ok"})


@pytest.mark.parametrize("filename, text, message", [
    ("nope.form", "{}", "has no form 'nope'"),
    ("mini_note.form", "{not json", "not valid JSON"),
    ("mini_note.form", '{"components": [{"type": "select", "key": "x"}]}', "has no options"),
    ("table.xlsx", "", "only a .form or a .dmn"),
])
def test_a_broken_or_unknown_form_is_refused(mini, filename, text, message):
    with pytest.raises((PlanFlowError, DeployRejected), match=message):
        mini.do(drafts.deploy_asset, "mini", filename, text, "process_owner1", mini.now)
    assert versions(mini) == [1]
