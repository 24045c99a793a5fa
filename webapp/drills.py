"""Drills: the controller's page (live view, clock, injects, observations, end), the after-action report."""
from __future__ import annotations

import json
from datetime import date, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine.calendar import store as calendar_store
from engine.calendar.clock import utcnow
from engine.drills import actions, clock, injects, lifecycle, live, report
from engine.errors import DeployRejected, PlanFlowError
from engine.models import User, UserRole
from engine.people.roles import LANE_ROLES
from engine.people.users import get_user
from engine.plans import drafts as plan_drafts
from engine.plans import versions as plans
from engine.views import review
from webapp.auth import role_required
from webapp.db import reading, run
from webapp.i18n import due_phrase, problem_message, role_name

bp = Blueprint("drills", __name__, url_prefix="/drills")
CONTROLLERS = tuple(sorted(lifecycle.CONTROLLER_ROLES))
DRAFTS_OFFERED = 10  # the newest draft revisions of each plan offered for a drill


def _holders(session) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for role, username in session.execute(select(UserRole.role, User.username).join(User, User.id == UserRole.user_id)
                                          .where(User.active.is_(True)).order_by(User.username)):
        if role in LANE_ROLES:
            found.setdefault(role, []).append(username)
    return found


@bp.get("/")
@role_required(*CONTROLLERS)
def index():
    """Every drill, newest first, and the form to start one."""
    with reading() as session:
        drills = live.list_drills(session)
        keys = plans.plan_keys(session)
        drafts = {key: plan_drafts.list_drafts(session, key, DRAFTS_OFFERED) for key in keys}
        holders = _holders(session)
    return render_template("drills/index.html", drills=drills, plan_keys=keys, holders=holders, drafts=drafts,
                           role_name=role_name, values=request.args)


@bp.post("/")
@role_required(*CONTROLLERS)
def start():
    form = request.form
    try:
        scenario = json.loads(form.get("scenario") or "{}")
        sim_start = datetime.fromisoformat(form["sim_start"]) if form.get("sim_start") else None
    except ValueError as exc:
        flash(_("The scenario must be a JSON object and the simulated start an ISO date-time: %(error)s",
                error=str(exc)), "error")
        return redirect(url_for("drills.index"))
    participants = {key[len("participant_"):]: value for key, value in form.items()
                    if key.startswith("participant_") and value}
    plan_key, draft = form.get("plan", ""), None
    if form.get("draft"):
        draft_plan, _sep, revision = form["draft"].rpartition(":")
        if draft_plan != plan_key or not revision.isdigit():
            flash(_("The draft chosen (%(draft)s) is not a draft of the plan chosen (%(plan)s).",
                    draft=form["draft"], plan=plan_key), "error")
            return redirect(url_for("drills.index", plan=plan_key))
        draft = int(revision)
    try:
        drill = run(lifecycle.start_drill, plan_key, scenario, participants, current_user.username, utcnow(),
                    scale=form.get("scale") or None, sim_start=sim_start, title=form.get("title", ""), draft=draft)
    except DeployRejected as rejected:
        flash(_("Draft revision %(revision)s cannot be drilled: a deploy of it would be refused.", revision=draft),
              "error")
        for problem in rejected.problems:
            where = ":".join(part for part in (problem.file, problem.element_id) if part)
            flash(f"{where}: {problem_message(problem)}" if where else problem_message(problem), "error")
        return redirect(url_for("drills.index", plan=plan_key))
    flash(_("Drill %(id)d started.", id=drill.id), "success")
    return redirect(url_for("drills.controller", drill_id=drill.id))


@bp.post("/interval")
@role_required(*CONTROLLERS)
def interval():
    """How often a plan must be drilled (0 or empty: no schedule); the plans list marks an overdue drill."""
    months = (request.form.get("months") or "0").strip()
    if not months.isdigit():
        raise PlanFlowError(_("A drill interval is a whole number of months."))
    run(lifecycle.set_interval, request.form.get("plan", ""), int(months) or None, current_user.username, utcnow())
    flash(_("Drill interval saved."), "success")
    return redirect(url_for("drills.index"))


@bp.get("/<int:drill_id>")
@role_required(*CONTROLLERS)
def controller(drill_id: int):
    """The drill live: its clock in simulated and real time, each case, who holds what, what falls due next."""
    now = utcnow()
    with reading() as session:
        drill = lifecycle.get_drill(session, drill_id)
        view = live.drill_view(session, drill, now)
        calendar = calendar_store.current(session)
        tasks = [{"id": t.id, "case": t.case.number, "name": t.name, "role_name": role_name(t.role),
                  "assignee": t.assignee, "due_at": t.due_at,
                  "due_phrase": due_phrase(t.due_at, view.sim_now, calendar) if t.due_at else ""}
                 for t in view.open_tasks]
        holders = _holders(session)
    return render_template("drills/controller.html", drill=drill, view=view, tasks=tasks, holders=holders)


def _control(drill_id: int, use_case, message: str, **kwargs):
    run(use_case, drill_id, current_user.username, utcnow(), **kwargs)
    flash(message, "success")
    return redirect(url_for("drills.controller", drill_id=drill_id))


@bp.post("/<int:drill_id>/pause")
@role_required(*CONTROLLERS)
def pause(drill_id: int):
    return _control(drill_id, lifecycle.pause_drill, _("The drill's clock is paused."))


@bp.post("/<int:drill_id>/resume")
@role_required(*CONTROLLERS)
def resume(drill_id: int):
    return _control(drill_id, lifecycle.resume_drill, _("The drill's clock runs again."))


@bp.post("/<int:drill_id>/step")
@role_required(*CONTROLLERS)
def step(drill_id: int):
    by = (request.form.get("by") or "").strip()
    return _control(drill_id, lifecycle.step_drill, _("The drill's clock moved forward."),
                    by=clock.duration(by) if by else None)


@bp.post("/<int:drill_id>/end")
@role_required(*CONTROLLERS)
def end(drill_id: int):
    run(lifecycle.end_drill, drill_id, current_user.username, utcnow())
    flash(_("The drill has ended."), "success")
    return redirect(url_for("drills.report_page", drill_id=drill_id))


@bp.post("/<int:drill_id>/inject")
@role_required(*CONTROLLERS)
def inject(drill_id: int):
    form = request.form
    try:
        data = json.loads(form.get("data") or "{}")
    except ValueError as exc:
        raise PlanFlowError(_("The inject's data must be a JSON object: %(error)s", error=str(exc))) from None

    def send(session, drill_id, username, now):
        drill = lifecycle.open_drill(session, drill_id, username)
        return injects.send(session, drill, {"at": form.get("at") or None, "title": form.get("title", ""),
                                             "message": form.get("message") or None, "data": data}, username, now)

    return _control(drill_id, send, _("Inject sent."))


@bp.post("/<int:drill_id>/observe")
@role_required(*CONTROLLERS)
def observe(drill_id: int):
    run(lifecycle.observe, drill_id, request.form.get("text", ""), current_user.username, utcnow())
    flash(_("Observation recorded."), "success")
    return redirect(url_for("drills.controller", drill_id=drill_id))


@bp.post("/<int:drill_id>/actions")
@role_required(*CONTROLLERS)
def add_action(drill_id: int):
    form = request.form
    try:
        due_on = date.fromisoformat(form.get("due_on", ""))
    except ValueError:
        raise PlanFlowError(_("An improvement action needs a due date.")) from None
    draft = form.get("draft_id") or None
    run(actions.add_action, drill_id, form.get("action", ""), form.get("owner", ""), due_on, current_user.username,
        utcnow(), int(draft) if draft and draft.isdigit() else None)
    flash(_("Improvement action added."), "success")
    return redirect(url_for("drills.report_page", drill_id=drill_id))


@bp.post("/actions/<int:action_id>/done")
def action_done(action_id: int):
    """The owner marks an improvement action done (from the inbox)."""
    if not current_user.is_authenticated:
        abort(401)
    run(actions.complete_action, action_id, current_user.username, request.form.get("note", ""), utcnow())
    flash(_("Improvement action done."), "success")
    return redirect(url_for("inbox.index"))


def _report(drill_id: int) -> tuple[dict, object]:
    with reading() as session:
        drill = lifecycle.get_drill(session, drill_id)
        return report.current_report(session, drill), drill


@bp.get("/<int:drill_id>/report")
@role_required(*CONTROLLERS)
def report_page(drill_id: int):
    """The after-action report (演练总结评估), printable."""
    found, drill = _report(drill_id)
    with reading() as session:
        users = sorted(u for names in _holders(session).values() for u in names)
        get_user(session, current_user.username)
    return render_template("drills/report.html", report=found, drill=drill, users=sorted(set(users)),
                           role_name=role_name)


@bp.get("/<int:drill_id>/plan.json")
@role_required(*CONTROLLERS)
def plan_xml(drill_id: int):
    """The diagram of the plan version the drill ran."""
    with reading() as session:
        return jsonify({"xml": lifecycle.get_drill(session, drill_id).plan_version.bpmn_xml})


@bp.get("/<int:drill_id>/path.json")
@role_required(*CONTROLLERS)
def path(drill_id: int):
    """The path the drill's case took, as markers on its diagram (done, open, timers fired, escalated)."""
    with reading() as session:
        found = lifecycle.drill_cases(session, drill_id)
        return jsonify({"markers": review.case_path(session, found[0]) if found else {}})


@bp.get("/<int:drill_id>/report.json")
@role_required(*CONTROLLERS)
def report_json(drill_id: int):
    found, _drill = _report(drill_id)
    return Response(json.dumps(found, ensure_ascii=False, indent=2), mimetype="application/json")


@bp.get("/<int:drill_id>/report.csv")
@role_required(*CONTROLLERS)
def report_csv(drill_id: int):
    found, _drill = _report(drill_id)
    return Response(report.report_csv(found), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=drill-{drill_id}-report.csv"})
