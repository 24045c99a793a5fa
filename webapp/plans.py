"""Process owners: the plans, their versions, editing in the modeler, diffs, uploads and migrations."""
from __future__ import annotations

import json

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from engine.drills import live as drill_live
from engine.calendar.clock import utcnow
from engine.cases import migration
from engine.errors import DeployRejected, NotFound, PlanFlowError, Refused
from engine.models import Case, CaseStatus, PlanVersion
from engine.plans import drafts
from engine.plans import versions as plans
from engine.plans.diff import diff_bpmn
from webapp.auth import role_required
from webapp.db import reading, run
from webapp.errors import error_body, status_of
from webapp.i18n import problem_dict, problem_message
from webapp.limits import int_arg

bp = Blueprint("plans", __name__, url_prefix="/plans")
OWNER = "process_owner"


def _version(session, plan_key: str, number: int) -> PlanVersion:
    version = session.execute(select(PlanVersion).where(PlanVersion.plan_key == plan_key, plans.DEPLOYED,
                                                        PlanVersion.version == number)).scalar_one_or_none()
    if version is None:
        raise NotFound(_("Plan %(plan)s has no version %(num)d.", plan=plan_key, num=number))
    return version


def _running_by_version(session, plan_key: str) -> dict[int, int]:
    rows = session.execute(select(PlanVersion.version, func.count(Case.id)).join(Case, Case.plan_version_id ==
                                                                                 PlanVersion.id)
                           .where(PlanVersion.plan_key == plan_key, plans.DEPLOYED, Case.status == CaseStatus.RUNNING)
                           .group_by(PlanVersion.version)).all()
    return dict(rows)


@bp.get("/")
@role_required(OWNER)
def index():
    with reading() as session:
        rows = []
        for key in plans.plan_keys(session):
            current = plans.current_version(session, key)
            running = _running_by_version(session, key)
            rows.append({"key": key, "name": current.name, "version": current.version,
                         "deployed_by": current.deployed_by, "deployed_at": current.deployed_at,
                         "running": running, "running_total": sum(running.values()),
                         "draft": drafts.editor_state(session, key).source == "draft"})
        drilled = drill_live.schedules(session, [row["key"] for row in rows], utcnow())
    return render_template("plans/index.html", plans=rows, drilled=drilled)


@bp.get("/<plan_key>")
@role_required(OWNER)
def plan(plan_key: str):
    with reading() as session:
        current = plans.current_version(session, plan_key)
        running = _running_by_version(session, plan_key)
        versions = session.execute(select(PlanVersion).where(PlanVersion.plan_key == plan_key, plans.DEPLOYED)
                                   .order_by(PlanVersion.version.desc())).scalars().all()
        rows = [{"version": v.version, "deployed_by": v.deployed_by, "deployed_at": v.deployed_at,
                 "running": running.get(v.version, 0), "content_hash": v.content_hash[:12],
                 "note": v.assets.get("change_note") or ""} for v in versions]
        previews = migration.preview_migration(session, plan_key, current.version)
        state = drafts.editor_state(session, plan_key)
        forms = sorted(current.forms)
        decisions = sorted(name[:-len(".dmn")] for name in current.assets.get("decisions", {}))
    return render_template("plans/plan.html", key=plan_key, name=current.name, current=current.version,
                           versions=rows, previews=previews, draft=state.source == "draft", forms=forms,
                           decisions=decisions)


def modeler_messages() -> dict[str, str]:
    """The modeler's interface text in the user's language ({name} placeholders are filled in the browser)."""
    return {
        "loading": _("Loading…"), "load_failed": _("Could not load the plan: {message}"),
        "editing_draft": _("Editing the draft (revision {revision})."),
        "editing_version": _("Editing a copy of the deployed version; saving starts a draft."),
        "unsaved": _("Unsaved changes."), "saving": _("Saving the draft…"),
        "saved": _("Draft saved (revision {revision})."), "deploying": _("Deploying…"),
        "deployed": _("Deployed as version {version}."), "deploy_rejected": _("Deploy refused: {count} problem(s)."),
        "request_failed": _("Request failed (HTTP {status})."), "network_failed": _("The server could not be reached."),
        "problems": _("Problems"), "no_problems": _("No problems found."),
        "conflict": _("Changed by someone else since you opened it"),
        "reload": _("Load the latest draft (discards your changes)"),
        "added": _("added"), "removed": _("removed"), "changed": _("changed"), "source_deploy": _("deploy"),
        "source_server": _("server"), "note_needed": _("Say in a few words what this version changes."),
        "see_theirs": _("See theirs beside yours (new window)"), "source_lint": _("modeler check"),
        "keep_mine": _("Keep my draft (save it on top of theirs)"),
    }


@bp.get("/<plan_key>/edit")
@role_required(OWNER)
def edit(plan_key: str):
    with reading() as session:
        current = plans.current_version(session, plan_key)
    return render_template("plans/edit.html", key=plan_key, name=current.name, messages=modeler_messages())


@bp.get("/<plan_key>/latest")
@role_required(OWNER)
def latest(plan_key: str):
    """The latest saved draft (or the deployed version), read-only: theirs, to compare beside one's own editor."""
    with reading() as session:
        state = drafts.editor_state(session, plan_key)
    return render_template("plans/latest.html", key=plan_key, state=state)


@bp.get("/<plan_key>/editor.json")
@role_required(OWNER)
def editor_json(plan_key: str):
    with reading() as session:
        state = drafts.editor_state(session, plan_key)
    return jsonify({"xml": state.xml, "revision": state.revision, "source": state.source, "version": state.version})


def _json_error(error: PlanFlowError, **extra):
    return jsonify(error_body(error.code, _page_message(error), **extra)), status_of(error)


def _page_message(error: PlanFlowError) -> str:
    """The editor's status line in the user's language for the errors it shows most (the detail is in the list)."""
    if isinstance(error, drafts.DraftChanged):
        return _("Changed by someone else since you opened it (now revision %(num)d); see the list below.",
                 num=error.revision or 0)
    if isinstance(error, DeployRejected):
        return _("Deploy refused: %(count)d problem(s).", count=len(error.problems))
    if isinstance(error, Refused):  # the engine's English template, through the catalogue
        return _(error.template, **error.params)
    return str(error)


def _editor_body() -> tuple[str, int]:
    body = request.get_json(silent=True) or {}
    xml, base = body.get("xml"), body.get("base_revision", 0)
    if not isinstance(xml, str) or not isinstance(base, int):
        raise PlanFlowError(_("expected {\"xml\": \"…\", \"base_revision\": n}"))
    return xml, base


@bp.post("/<plan_key>/draft")
@role_required(OWNER)
def save_draft(plan_key: str):
    try:
        xml, base = _editor_body()
        revision = run(drafts.save_draft, plan_key, xml, base, current_user.username, utcnow())
    except drafts.DraftChanged as changed:
        return _json_error(changed, changes=changed.changes, revision=changed.revision)
    except PlanFlowError as error:
        return _json_error(error)
    return jsonify({"revision": revision})


def _deployed(plan_key: str, result: plans.DeployResult):
    """The answer to a deploy from the browser: say what happened on the next page, and where to go."""
    flash(_("Deployed %(plan)s version %(num)d.", plan=plan_key, num=result.version) if result.created
          else _("Nothing changed: %(plan)s stays at version %(num)d.", plan=plan_key, num=result.version), "success")
    _flash_warnings([result])
    return jsonify({"version": result.version, "created": result.created,
                    "warnings": [problem_dict(w) for w in result.warnings],
                    "redirect": url_for("plans.plan", plan_key=plan_key)})


def _flash_warnings(results: list[plans.DeployResult]) -> None:
    """What deployed but will not behave as in Camunda (a plain task passed through), on the next page."""
    for warning in (w for result in results for w in result.warnings):
        where = ":".join(part for part in (warning.file, warning.element_id) if part)
        text = problem_message(warning)
        flash(_("Warning: %(warning)s", warning=f"{where}: {text}" if where else text), "warning")


def _problems(error: DeployRejected) -> list[dict]:
    return [problem_dict(p) for p in error.problems]


@bp.post("/<plan_key>/deploy")
@role_required(OWNER)
def deploy(plan_key: str):
    try:
        xml, base = _editor_body()
        note = (request.get_json(silent=True) or {}).get("note") or ""
        result = run(drafts.deploy_draft, plan_key, xml, base, current_user.username, utcnow(),
                     note if isinstance(note, str) else "")
    except DeployRejected as rejected:
        return _json_error(rejected, problems=_problems(rejected))
    except drafts.DraftChanged as changed:
        return _json_error(changed, changes=changed.changes, revision=changed.revision)
    except PlanFlowError as error:
        return _json_error(error)
    return _deployed(plan_key, result)


@bp.post("/<plan_key>/check")
@role_required(OWNER)
def check(plan_key: str):
    body = request.get_json(silent=True) or {}
    if not isinstance(body.get("xml"), str):
        return _json_error(PlanFlowError(_("expected {\"xml\": \"…\"}")))
    with reading() as session:
        problems = drafts.check_draft(session, plan_key, body["xml"])
    return jsonify({"problems": [problem_dict(p) for p in problems]})


@bp.get("/<plan_key>/versions/<int:number>.bpmn")
@role_required(OWNER)
def download(plan_key: str, number: int):
    with reading() as session:
        xml = _version(session, plan_key, number).bpmn_xml
    return Response(xml, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{plan_key}-v{number}.bpmn"'})


@bp.get("/<plan_key>/versions/<int:number>.json")
@role_required(OWNER)
def version_json(plan_key: str, number: int):
    with reading() as session:
        xml = _version(session, plan_key, number).bpmn_xml
    return jsonify({"xml": xml, "revision": 0, "source": "version", "version": number})


@bp.get("/<plan_key>/versions/<int:number>")
@role_required(OWNER)
def view(plan_key: str, number: int):
    compare = int_arg("compare", None)
    changes = None
    with reading() as session:
        version = _version(session, plan_key, number)
        if compare is not None:
            changes = diff_bpmn(_version(session, plan_key, compare).bpmn_xml, version.bpmn_xml)
    return render_template("plans/view.html", key=plan_key, name=version.name, number=number, compare=compare,
                           changes=changes)


@bp.get("/<plan_key>/diff.json")
@role_required(OWNER)
def diff_json(plan_key: str):
    old, new = int_arg("from", None), int_arg("to", None)
    if old is None or new is None:
        return _json_error(PlanFlowError(_("give the two versions: ?from=1&to=2")))
    with reading() as session:
        changes = diff_bpmn(_version(session, plan_key, old).bpmn_xml, _version(session, plan_key, new).bpmn_xml)
    return jsonify(changes)


@bp.post("/upload")
@role_required(OWNER)
def upload():
    """Deploy .bpmn files (with .dmn and .form files if given) from Camunda Modeler or elsewhere."""
    files = {f.filename: f.read().decode("utf-8", errors="replace") for f in request.files.getlist("files")
             if f.filename}
    bpmn = [name for name in files if name.endswith(".bpmn")]
    if not bpmn:
        flash(_("Choose at least one .bpmn file."), "error")
        return redirect(url_for("plans.index"))
    key = bpmn[0].rsplit("/", 1)[-1][:-len(".bpmn")]
    try:
        results = run(lambda s: plans.deploy(s, plans.bundle_with_deployed_assets(s, key, files),
                                             current_user.username, utcnow(), in_browser=True,
                                             note=request.form.get("note", "")))
    except DeployRejected as rejected:
        return render_template("plans/rejected.html", problems=rejected.problems,
                               note=request.form.get("note", "")), 422
    for result in results:
        flash(_("%(plan)s: version %(num)d", plan=result.plan_key, num=result.version), "success")
    _flash_warnings(results)
    return redirect(url_for("plans.plan", plan_key=results[0].plan_key))


@bp.post("/<plan_key>/migrate/<number>")
@role_required(OWNER)
def migrate(plan_key: str, number: str):
    with reading() as session:
        target = plans.current_version(session, plan_key).version
    preview = run(migration.migrate_case, number, target, current_user.username, utcnow())
    flash(_("Case %(case)s moved from version %(old)d to %(new)d.", case=number, old=preview.from_version,
            new=preview.to_version), "success")
    return redirect(url_for("plans.plan", plan_key=plan_key))


def _deploy_asset(plan_key: str, filename: str, text: str):
    try:
        result = run(drafts.deploy_asset, plan_key, filename, text, current_user.username, utcnow())
    except DeployRejected as rejected:
        return _json_error(rejected, problems=_problems(rejected))
    except PlanFlowError as error:
        return _json_error(error)
    return _deployed(plan_key, result)


def _current_form(plan_key: str, form_key: str) -> tuple[str, dict]:
    """The plan's name and the current version's form, or 404."""
    with reading() as session:
        current = plans.current_version(session, plan_key)
        name, schema = current.name, current.forms.get(form_key)
    if schema is None:
        raise NotFound(_("Plan %(plan)s has no form %(form)s.", plan=plan_key, form=form_key))
    return name, schema


def _current_decision(plan_key: str, decision: str) -> tuple[str, str]:
    """The plan's name and the current version's decision table (DMN XML), or 404."""
    with reading() as session:
        current = plans.current_version(session, plan_key)
        name, xml = current.name, current.assets.get("decisions", {}).get(f"{decision}.dmn")
    if xml is None:
        raise NotFound(_("Plan %(plan)s has no decision table %(name)s.", plan=plan_key, name=decision))
    return name, xml


@bp.get("/<plan_key>/forms/<form_key>.json")
@role_required(OWNER)
def form_json(plan_key: str, form_key: str):
    return jsonify(_current_form(plan_key, form_key)[1])


@bp.get("/<plan_key>/forms/<form_key>/edit")
@role_required(OWNER)
def edit_form(plan_key: str, form_key: str):
    name, _schema = _current_form(plan_key, form_key)
    return render_template("plans/edit_form.html", key=plan_key, name=name, form_key=form_key)


@bp.post("/<plan_key>/forms/<form_key>")
@role_required(OWNER)
def deploy_form(plan_key: str, form_key: str):
    body = request.get_json(silent=True) or {}
    if not isinstance(body.get("schema"), dict):
        return _json_error(PlanFlowError(_("expected {\"schema\": {…}}")))
    return _deploy_asset(plan_key, f"{form_key}.form", json.dumps(body["schema"], ensure_ascii=False))


@bp.get("/<plan_key>/decisions/<name>.dmn")
@role_required(OWNER)
def decision_xml(plan_key: str, name: str):
    return Response(_current_decision(plan_key, name)[1], mimetype="application/xml")


@bp.get("/<plan_key>/decisions/<name>/edit")
@role_required(OWNER)
def edit_decision(plan_key: str, name: str):
    plan_name, _xml = _current_decision(plan_key, name)
    return render_template("plans/edit_decision.html", key=plan_key, name=plan_name, decision=name)


@bp.post("/<plan_key>/decisions/<name>")
@role_required(OWNER)
def deploy_decision(plan_key: str, name: str):
    body = request.get_json(silent=True) or {}
    if not isinstance(body.get("xml"), str):
        return _json_error(PlanFlowError(_("expected {\"xml\": \"…\"}")))
    return _deploy_asset(plan_key, f"{name}.dmn", body["xml"])
