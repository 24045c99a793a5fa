"""Editing a plan in the browser: drafts that never affect running cases, and deploying them.

Every save is a new draft revision. An editor sends the revision it started from; if
someone saved or deployed since, the save is refused with what they changed — never a
silent overwrite. A deploy from the editor is stored as a revision too, so editors
still open on the older text learn about it on their next save.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import N_, Conflict, DeployRejected, Problem, Refused
from engine.models import PlanDraft
from engine.plans import versions as plans
from engine.plans.bpmn import XmlRejected, main_process_id, read_xml
from engine.plans.diff import diff_bpmn


class DraftChanged(Conflict):
    """The plan was saved or deployed by someone else since this editor loaded it."""

    code = "draft_changed"

    def __init__(self, message: str, changes: dict, revision: int | None = None):
        self.changes = changes
        self.revision = revision  # the latest revision: an editor may save on top of it, keeping its own draft
        super().__init__(message)


class DraftNotDrillable(DeployRejected):
    """A drill of a draft is refused for what a deploy of it would refuse."""

    def __init__(self, plan_key: str, revision: int, problems: list[Problem]):
        super().__init__(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        message = (f"draft revision {revision} of plan '{plan_key}' cannot be drilled: a deploy of it would be "
                   f"refused, {len(self.problems)} problem(s):\n{lines}")
        self.args = (message,)


@dataclass
class EditorState:
    xml: str
    revision: int
    source: str  # "draft" when unsaved-to-deploy edits exist, else "version"
    version: int


def _latest(session: Session, plan_key: str) -> PlanDraft | None:
    return session.execute(select(PlanDraft).where(PlanDraft.plan_key == plan_key)
                           .order_by(PlanDraft.revision.desc()).limit(1)).scalar_one_or_none()


def editor_state(session: Session, plan_key: str) -> EditorState:
    """What the modeler opens: the latest draft, or the current version when nothing is pending."""
    version = plans.current_version(session, plan_key)
    draft = _latest(session, plan_key)
    if draft is None:
        return EditorState(version.bpmn_xml, 0, "version", version.version)
    pending = draft.bpmn_xml != version.bpmn_xml
    return EditorState(draft.bpmn_xml, draft.revision, "draft" if pending else "version", version.version)


def _require_base(session: Session, plan_key: str, base_revision: int) -> PlanDraft | None:
    latest = _latest(session, plan_key)
    latest_revision = latest.revision if latest else 0
    if base_revision == latest_revision:
        return latest
    if base_revision > latest_revision or base_revision < 0:
        raise Refused(N_("plan '%(plan)s' has no draft revision %(revision)s"), plan=plan_key, revision=base_revision)
    base = session.execute(select(PlanDraft).where(PlanDraft.plan_key == plan_key,
                                                   PlanDraft.revision == base_revision)).scalar_one_or_none()
    base_xml = base.bpmn_xml if base else plans.current_version(session, plan_key).bpmn_xml
    changes = diff_bpmn(base_xml, latest.bpmn_xml)
    raise DraftChanged(f"plan '{plan_key}' was changed by {latest.saved_by} at {latest.saved_at:%Y-%m-%d %H:%M} "
                       f"UTC since you opened it (revision {base_revision} → {latest.revision}); "
                       f"reload to see their changes", changes, latest.revision)


def _check_xml(plan_key: str, xml: str) -> None:
    try:
        root = read_xml(xml, f"{plan_key}.bpmn")
        process_id = main_process_id(root, f"{plan_key}.bpmn")
    except XmlRejected as exc:
        raise Refused(exc.template, **exc.params) from None
    if process_id != plan_key:
        raise Refused(N_("the diagram's process id is '%(process)s', not '%(plan)s'"), process=process_id,
                      plan=plan_key)


def _append(session: Session, plan_key: str, xml: str, base: PlanDraft | None, version: int, actor: str,
            now: datetime) -> int:
    revision = (base.revision if base else 0) + 1
    session.add(PlanDraft(plan_key=plan_key, revision=revision, bpmn_xml=xml, base_version=version,
                          saved_by=actor, saved_at=now))
    session.flush()
    return revision


def save_draft(session: Session, plan_key: str, xml: str, base_revision: int, actor: str, now: datetime) -> int:
    """Keep an edit without deploying it; returns the new revision."""
    _check_xml(plan_key, xml)
    base = _require_base(session, plan_key, base_revision)
    return _append(session, plan_key, xml, base, plans.current_version(session, plan_key).version, actor, now)


def check_draft(session: Session, plan_key: str, xml: str) -> list[Problem]:
    """What a deploy of this diagram would refuse, with the plan's current forms and decision tables."""
    return plans.check(session, plans.bundle_with_deployed_assets(session, plan_key, {f"{plan_key}.bpmn": xml}))


def draft(session: Session, plan_key: str, revision: int) -> PlanDraft:
    found = session.execute(select(PlanDraft).where(PlanDraft.plan_key == plan_key,
                                                    PlanDraft.revision == revision)).scalar_one_or_none()
    if found is None:
        raise Refused(N_("plan '%(plan)s' has no draft revision %(revision)s"), plan=plan_key, revision=revision)
    return found


def list_drafts(session: Session, plan_key: str, limit: int | None = None) -> list[PlanDraft]:
    """The plan's saved draft revisions, newest first."""
    return list(session.execute(select(PlanDraft).where(PlanDraft.plan_key == plan_key)
                                .order_by(PlanDraft.revision.desc()).limit(limit)).scalars())


def drill_version(session: Session, plan_key: str, revision: int, actor: str, now: datetime):
    """The draft revision as a drill-only plan version (checked as a deploy would; DeployRejected lists why not).

    The plan's current version, its version list and deploy history stay as they are.
    """
    plans.current_version(session, plan_key)
    saved = draft(session, plan_key, revision)
    _check_xml(plan_key, saved.bpmn_xml)
    bundle = plans.bundle_with_deployed_assets(session, plan_key, {f"{plan_key}.bpmn": saved.bpmn_xml})
    try:
        return plans.store_drill_only(session, bundle, plan_key, actor, now)
    except DeployRejected as rejected:
        raise DraftNotDrillable(plan_key, revision, rejected.problems) from None


def deploy_draft(session: Session, plan_key: str, xml: str, base_revision: int, actor: str,
                 now: datetime, note: str = "") -> plans.DeployResult:
    """Validate and deploy the edited diagram as a new version (DeployRejected lists every problem)."""
    _check_xml(plan_key, xml)
    base = _require_base(session, plan_key, base_revision)
    bundle = plans.bundle_with_deployed_assets(session, plan_key, {f"{plan_key}.bpmn": xml})
    [result] = [r for r in plans.deploy(session, bundle, actor, now, in_browser=True, note=note)
                if r.plan_key == plan_key]
    _append(session, plan_key, xml, base, result.version, actor, now)
    return result


def deploy_asset(session: Session, plan_key: str, filename: str, text: str, actor: str,
                 now: datetime) -> plans.DeployResult:
    """Deploy a plan again with one form (`KEY.form`) or decision table (`NAME.dmn`) replaced.

    Forms and decision tables belong to a plan version: the change reaches new cases of
    this plan; running cases keep the forms they started with.
    """
    current = plans.current_version(session, plan_key)
    if filename.endswith(".form"):
        if filename[:-len(".form")] not in current.forms:
            raise Refused(N_("plan '%(plan)s' has no form '%(form)s'"), plan=plan_key, form=filename[:-len(".form")])
    elif filename.endswith(".dmn"):
        if filename not in current.assets.get("decisions", {}):
            raise Refused(N_("plan '%(plan)s' has no decision table '%(file)s'"), plan=plan_key, file=filename)
    else:
        raise Refused(N_("only a .form or a .dmn file can be edited here"))
    bundle = plans.bundle_with_deployed_assets(session, plan_key, {f"{plan_key}.bpmn": current.bpmn_xml,
                                                                   filename: text})
    [result] = [r for r in plans.deploy(session, bundle, actor, now, in_browser=True) if r.plan_key == plan_key]
    return result
