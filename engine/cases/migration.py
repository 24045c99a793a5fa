"""Moving running cases to a newer version of their plan, where SpiffWorkflow can.

A preview lists, per case, the open or waiting steps the new version no longer has or has
changed. A case whose open or waiting step would disappear is not moved (its people would
lose their work); the others are re-aligned with SpiffWorkflow's `migrate_workflow`,
their task and timer rows re-synced, and each move is audited.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import persistence, runtime
from engine.cases.use_cases import flush_case, get_case, lock_case
from engine.errors import Conflict, NotFound
from engine.models import Case, CaseStatus, PlanVersion
from engine.plans.versions import DEPLOYED, spec_cache
from engine.records import audit

ACTIVE = TaskState.READY | TaskState.WAITING


@dataclass
class MigrationPreview:
    case: str
    from_version: int
    to_version: int
    removed: list[str] = field(default_factory=list)  # active steps the new version lacks
    changed: list[str] = field(default_factory=list)  # steps whose definition changed
    blocked: str | None = None

    @property
    def can_migrate(self) -> bool:
        return self.blocked is None


def _target(session: Session, case: Case, to_version: int) -> PlanVersion:
    target = session.execute(select(PlanVersion).where(PlanVersion.plan_key == case.plan_version.plan_key,
                                                       PlanVersion.version == to_version, DEPLOYED)).scalar_one_or_none()
    if target is None:
        raise NotFound(f"plan '{case.plan_version.plan_key}' has no version {to_version}")
    return target


def _diff(case: Case, workflow, target: PlanVersion) -> MigrationPreview:
    new = spec_cache.get(target)
    preview = MigrationPreview(case.number, case.plan_version.version, target.version)
    top, subprocess_diffs = diff_workflow(persistence.registry, workflow, new.spec, new.subprocess_specs)
    diffs = [top, *[d for d in subprocess_diffs.values() if d is not None]]
    if any(d is None for d in subprocess_diffs.values()):
        preview.blocked = "a called process of this case is not part of the new version"
    for diff in diffs:
        preview.removed += sorted({t.task_spec.bpmn_id or t.task_spec.name for t in diff.removed
                                   if t.state & ACTIVE and getattr(t.task_spec, "bpmn_id", None)})
        preview.changed += sorted({t.task_spec.bpmn_id for t in diff.changed
                                   if getattr(t.task_spec, "bpmn_id", None)})
    if preview.removed and preview.blocked is None:
        preview.blocked = f"open or waiting step(s) {', '.join(preview.removed)} do not exist in the new version"
    return preview


def preview_migration(session: Session, plan_key: str, to_version: int) -> list[MigrationPreview]:
    """What moving each running case of older versions to `to_version` would change."""
    running = session.execute(select(Case).join(PlanVersion).where(
        PlanVersion.plan_key == plan_key, DEPLOYED, PlanVersion.version < to_version, Case.status == CaseStatus.RUNNING)
        .order_by(Case.number)).scalars().all()
    previews = []
    for case in running:
        workflow = runtime.load(case, spec_cache.get(case.plan_version))
        previews.append(_diff(case, workflow, _target(session, case, to_version)))
    return previews


def migrate_case(session: Session, number: str, to_version: int, actor: str, now: datetime) -> MigrationPreview:
    """Move one running case to `to_version` of its plan, or refuse with the reason."""
    case = lock_case(session, get_case(session, number).id)
    if case.status != CaseStatus.RUNNING:
        raise Conflict(f"case {number} is closed; only running cases move")
    target = _target(session, case, to_version)
    workflow = runtime.load(case, spec_cache.get(case.plan_version))
    preview = _diff(case, workflow, target)
    if not preview.can_migrate:
        raise Conflict(f"case {number} cannot move to version {to_version}: {preview.blocked}")
    # The case gets its own copy of the new specs: the parsed ones are shared and must never change.
    new_spec, new_subprocess_specs = persistence.private_specs(spec_cache.get(target))
    top, subprocess_diffs = diff_workflow(persistence.registry, workflow, new_spec, new_subprocess_specs)
    with runtime.running(session, now):
        migrate_workflow(top, workflow, new_spec)
        for subprocess_id, diff in subprocess_diffs.items():
            subprocess = workflow.subprocesses[subprocess_id]
            migrate_workflow(diff, subprocess, new_subprocess_specs[subprocess.spec.name])
        workflow.subprocess_specs = new_subprocess_specs
        runtime.run_engine(workflow)
        old_version = case.plan_version.version
        case.plan_version_id, case.plan_version = target.id, target
        runtime.settle(session, case, workflow, now, actor)
    audit.record(session, audit.EventKind.CASE_MIGRATED, actor, now, case=case, element_id=target.plan_key,
                 payload={"from_version": old_version, "to_version": to_version, "changed": preview.changed})
    flush_case(session, case)
    return preview
