"""The team view for office_director, general_manager and leadership, and reassigning a task."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.calendar import store as calendar_store
from engine.calendar.clock import utcnow
from engine.cases import use_cases as cases
from engine.config import Settings
from engine.people import users
from engine.views import team
from webapp.auth import role_required
from webapp.db import reading, run
from webapp.i18n import due_phrase, role_name, task_name

bp = Blueprint("team", __name__)
SUPERVISORS = tuple(sorted(cases.SUPERVISOR_ROLES))


@bp.get("/team")
@role_required(*SUPERVISORS)
def index():
    """Open, due soon, overdue and escalated tasks by plan, grade and role, with who holds each."""
    now = utcnow()
    plan = request.args.get("plan") or None
    state = request.args.get("state") or None
    if state not in (None, *team.STATES):
        state = None
    with reading() as session:
        viewer = users.get_user(session, current_user.username)
        view = team.team_view(session, viewer, now, Settings.from_env().due_soon_share, plan, state)
        calendar = calendar_store.current(session)
        rows = [{"id": t.task.id, "case": t.task.case.number, "plan": t.plan_key, "plan_name": t.plan_name,
                 "grade": t.task.case.grade, "name": task_name(t.task), "role": t.task.role,
                 "role_name": role_name(t.task.role), "assignee": t.task.assignee, "state": t.state,
                 "due_at": t.task.due_at, "due_phrase": due_phrase(t.task.due_at, now, calendar),
                 "holders": [u for u in view.holders.get(t.task.role, []) if u != t.task.assignee]}
                for t in view.tasks]
    groups = [{"plan": key[0], "plan_name": view.plan_names.get(key[0], key[0]), "grade": key[1],
               "role_name": role_name(key[2]), **counts} for key, counts in sorted(view.groups.items())]
    return render_template("team/index.html", rows=rows, groups=groups, truncated=view.truncated,
                           plan=plan, state=state, plans=sorted(view.plan_names.items()))


@bp.post("/tasks/<int:task_id>/reassign")
@role_required(*SUPERVISORS)
def reassign(task_id: int):
    """Give the task to another holder of its role, with the reason (audited)."""
    to, reason = request.form.get("to", "").strip(), request.form.get("reason", "").strip()
    if not to or not reason:
        flash(_("Choose who takes the task over and say why."), "error")
    else:
        run(cases.reassign_task, task_id, to, reason[:2000], current_user.username, utcnow())
        flash(_("Task %(id)d reassigned to %(who)s.", id=task_id, who=to), "success")
    return redirect(url_for("team.index", **{k: v for k, v in request.args.items() if k in ("plan", "state")}))
