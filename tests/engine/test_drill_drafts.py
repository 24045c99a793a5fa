"""Drills of a plan draft: the draft runs as it would once deployed, and nothing real ever sees it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.cases import migration
from engine.drills import lifecycle, report
from engine.errors import DeployRejected, NotFound, PlanFlowError
from engine.models import AuditEvent, Case, Drill, PlanVersion
from engine.plans import drafts
from engine.plans import versions as plans
from tests.engine.test_drills import (
    PARTICIPANTS,
    SCENARIO,
    SIM_START,
    drill_case,
    open_task,
)

OLD_NAME, NEW_NAME = 'name="首次联系与分级"', 'name="首次联系与分级（演练改进）"'


def save_edit(desk, old: str, new: str) -> int:
    """Save the current general_complaint diagram with one edit as a draft; returns its revision."""
    with desk.session_factory() as session:
        state = drafts.editor_state(session, "general_complaint")
    assert old in state.xml
    return desk.do(drafts.save_draft, "general_complaint", state.xml.replace(old, new, 1), state.revision,
                   "process_owner1", desk.now)


def deployed_picture(desk) -> dict:
    """Everything real work reads about plans: keys, current versions, editor state, deploys, export."""
    with desk.session_factory() as session:
        current = plans.current_version(session, "general_complaint")
        state = drafts.editor_state(session, "general_complaint")
        return {"keys": plans.plan_keys(session), "current": (current.id, current.version),
                "editor": (state.revision, state.source, state.version),
                "deploys": session.execute(select(func.count()).where(AuditEvent.kind == "plan_deployed")).scalar(),
                "versions": session.execute(select(PlanVersion.version).where(
                    PlanVersion.plan_key == "general_complaint", plans.DEPLOYED)
                    .order_by(PlanVersion.version)).scalars().all()}


def test_a_draft_is_drilled_without_being_deployed_and_the_report_names_it(desk, tmp_path):
    revision = save_edit(desk, OLD_NAME, NEW_NAME)
    before = deployed_picture(desk)
    exported_before = sorted(p.read_text() for p in desk.do(plans.export, tmp_path / "before", all_versions=True))

    drill = desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, PARTICIPANTS, "process_owner1", desk.now,
                    sim_start=SIM_START, draft=revision)
    case = drill_case(desk, drill.id)
    task = open_task(desk, case.number, "Task_FirstContact")
    assert task.name == "首次联系与分级（演练改进）" and task.assignee == "intake1"   # the draft's diagram runs
    with desk.session_factory() as session:
        version = session.get(Drill, drill.id).plan_version
        assert version.drill_only and version.version < 0 and version.plan_key == "general_complaint"

    # Nothing real sees the drilled draft: current version, lists, editor, deploy history, export, migrations.
    assert deployed_picture(desk) == before
    assert sorted(p.read_text() for p in desk.do(plans.export, tmp_path / "after", all_versions=True)) == exported_before
    with desk.session_factory() as session:
        assert all(p.case != case.number for p in migration.preview_migration(session, "general_complaint",
                                                                              before["current"][1]))
    real = desk.start("general_complaint", SCENARIO)
    with desk.session_factory() as session:
        real_case = session.execute(select(Case).where(Case.number == real)).scalar_one()
        assert real_case.plan_version_id == before["current"][0] and real_case.drill_id is None
    assert open_task(desk, real, "Task_FirstContact").name == "首次联系与分级"
    with pytest.raises(NotFound, match=f"has no version {version.version}"):   # never a migration target
        desk.do(migration.migrate_case, real, version.version, "process_owner1", desk.now)

    # Drilled again, the same draft reuses its drill-only version; a deploy afterwards is numbered as before.
    again = desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {}, "process_owner1", desk.now,
                    sim_start=SIM_START, draft=revision)
    with desk.session_factory() as session:
        assert session.get(Drill, again.id).plan_version_id == session.get(Drill, drill.id).plan_version_id

    desk.now += timedelta(minutes=5)
    ended = desk.do(lifecycle.end_drill, drill.id, "process_owner1", desk.now)
    with desk.session_factory() as session:
        kept = session.get(Drill, ended.id).report
        [saved] = [d for d in drafts.list_drafts(session, "general_complaint") if d.revision == revision]
    assert kept["drill"]["draft"]["revision"] == revision and kept["drill"]["draft"]["id"] == saved.id
    assert kept["drill"]["draft"]["saved_by"] == "process_owner1" and kept["drill"]["version"] is None
    assert kept["drill"]["cases"] == [case.number]
    with desk.session_factory() as session:
        assert report.current_report(session, session.get(Drill, ended.id))["drill"]["draft"]["revision"] == revision

    with desk.session_factory() as session:
        xml = drafts.editor_state(session, "general_complaint").xml
    result = desk.do(drafts.deploy_draft, "general_complaint", xml, revision, "process_owner1", desk.now)
    assert result.created and result.version == before["current"][1] + 1


def test_a_draft_a_deploy_would_refuse_is_not_drilled_and_leaves_nothing_behind(desk):
    revision = save_edit(desk, 'camunda:formKey="gc_first_contact"', 'camunda:formKey="gc_no_such_form"')
    before = deployed_picture(desk)
    with pytest.raises(DeployRejected, match=f"draft revision {revision} of plan 'general_complaint' cannot be "
                                             "drilled") as refused:
        desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {}, "process_owner1", desk.now, draft=revision)
    assert any("gc_no_such_form" in str(p) for p in refused.value.problems)
    with desk.session_factory() as session:   # the deploy check finds the same problems
        assert [p.code for p in drafts.check_draft(session, "general_complaint", drafts.draft(
            session, "general_complaint", revision).bpmn_xml)] == [p.code for p in refused.value.problems]
    with pytest.raises(PlanFlowError, match="no draft revision 99"):
        desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {}, "process_owner1", desk.now, draft=99)
    assert deployed_picture(desk) == before
    with desk.session_factory() as session:
        assert session.execute(select(Drill)).first() is None
        assert session.execute(select(PlanVersion).where(PlanVersion.drill_only.is_(True))).first() is None
