"""Deploying plans: validation reports every problem with its element, versions by content."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.errors import DeployRejected
from engine.models import AuditEvent, PlanVersion
from engine.plans import versions as plans
from tests.conftest import run
from tests.samples import NOTE_FORM, one_task_plan, write_plan


def deploy_folder(session_factory, folder, now):
    return run(session_factory, plans.deploy, plans.Bundle.from_paths([folder]), "owner", now)


def stored_versions(session_factory) -> int:
    return run(session_factory, lambda s: s.execute(select(func.count(PlanVersion.id))).scalar_one())


def rejected(session_factory, folder, now) -> list[str]:
    with pytest.raises(DeployRejected) as info:
        deploy_folder(session_factory, folder, now)
    assert stored_versions(session_factory) == 0, "a refused deploy must store nothing"
    return [str(p) for p in info.value.problems]


def test_valid_plan_is_stored_as_version_1_and_audited(session_factory, tmp_path, now):
    results = deploy_folder(session_factory, write_plan(tmp_path, one_task_plan()), now)
    assert [(r.plan_key, r.version, r.created) for r in results] == [("mini", 1, True)]
    kinds = run(session_factory, lambda s: s.execute(select(AuditEvent.kind)).scalars().all())
    assert kinds == ["plan_deployed"]


def test_unchanged_content_is_not_a_new_version_but_a_changed_form_is(session_factory, tmp_path, now):
    folder = write_plan(tmp_path, one_task_plan())
    deploy_folder(session_factory, folder, now)
    again = deploy_folder(session_factory, folder, now)
    assert [(r.version, r.created) for r in again] == [(1, False)]
    changed_form = {"components": NOTE_FORM["components"] + [
        {"id": "c2", "key": "extra", "type": "textfield", "label": "Extra"}]}
    write_plan(folder, one_task_plan(), forms={"mini_note": changed_form})
    assert [(r.version, r.created) for r in deploy_folder(session_factory, folder, now)] == [(2, True)]


def test_malformed_xml_is_refused_with_the_file_named(session_factory, tmp_path, now):
    problems = rejected(session_factory, write_plan(tmp_path, one_task_plan()[:-40]), now)
    assert any("mini.bpmn" in p and "malformed XML" in p for p in problems)


@pytest.mark.parametrize("payload", [
    '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
])
def test_entity_declarations_are_refused(session_factory, tmp_path, now, payload):
    xml = one_task_plan().replace('<bpmn:definitions', payload + '\n<bpmn:definitions', 1)
    problems = rejected(session_factory, write_plan(tmp_path, xml), now)
    assert any("DOCTYPE and entity declarations are not allowed" in p for p in problems)


def test_every_problem_is_reported_together_with_element_ids(session_factory, tmp_path, now):
    xml = one_task_plan(timer="P3X", condition="note ==", form_key="missing_form", lane="tea_maker")
    problems = rejected(session_factory, write_plan(tmp_path, xml), now)
    joined = "\n".join(problems)
    assert "Timer_Deadline" in joined and "P3X" in joined
    assert "Gateway_Check" in joined and "note ==" in joined
    assert "Task_Verify" in joined and "form 'missing_form'" in joined
    assert "lane 'tea_maker'" in joined
    assert len(problems) >= 4


def test_user_task_outside_any_lane_is_refused(session_factory, tmp_path, now):
    problems = rejected(session_factory, write_plan(tmp_path, one_task_plan(lane="", timer=None)), now)
    assert any("Task_Verify" in p and "outside any lane" in p for p in problems)


def test_reserved_start_id_is_refused_with_a_clear_message(session_factory, tmp_path, now):
    xml = one_task_plan(timer=None, task_id="Start")
    problems = rejected(session_factory, write_plan(tmp_path, xml), now)
    assert any("'Start' is reserved" in p for p in problems)


def test_bare_and_quoted_timer_values_are_both_accepted(session_factory, tmp_path, now):
    deploy_folder(session_factory, write_plan(tmp_path / "a", one_task_plan(timer="P3D")), now)
    deploy_folder(session_factory, write_plan(tmp_path / "b", one_task_plan(timer='"PT2H"')), now)
    assert stored_versions(session_factory) == 2


def test_timer_that_reads_case_data_is_accepted_at_deploy(session_factory, tmp_path, now):
    deploy_folder(session_factory, write_plan(tmp_path, one_task_plan(timer="answer_due")), now)
    assert stored_versions(session_factory) == 1


def test_invalid_form_file_is_refused(session_factory, tmp_path, now):
    folder = write_plan(tmp_path, one_task_plan(), forms={})
    (folder / "mini_note.form").write_text("{not json", encoding="utf-8")
    problems = rejected(session_factory, folder, now)
    assert any("mini_note.form" in p and "not valid JSON" in p for p in problems)


def test_unknown_decision_reference_is_refused(session_factory, tmp_path, now):
    extra = '<bpmn:businessRuleTask id="Task_Rule" camunda:decisionRef="no_such_table"/>'
    problems = rejected(session_factory, write_plan(tmp_path, one_task_plan(timer=None, extra=extra)), now)
    assert any("decision 'no_such_table' not found" in p for p in problems)
