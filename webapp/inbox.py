"""The inbox (mine, queue, done) and the task page: claim, release, fill the form, complete."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.drills import actions as drill_actions
from engine.calendar import store as calendar_store
from engine.calendar.clock import utcnow
from engine.cases import use_cases as cases
from engine.errors import FormInvalid, PermissionDenied
from engine.people import users
from engine.plans import versions as plans
from engine.records import attachments
from engine.views import inbox
from webapp.attachments import case_files, limits, received_files, storage
from webapp.db import reading, run, sessions
from webapp.i18n import due_phrase, form_title, localized_errors, localized_form, role_name, task_name
from webapp.limits import parse_json
from webapp.views import task_row

bp = Blueprint("inbox", __name__)


def _filters() -> inbox.InboxFilter:
    return inbox.InboxFilter(plan=request.args.get("plan") or None, grade=request.args.get("grade") or None,
                             overdue=request.args.get("overdue") == "1",
                             search=request.args.get("q", "").strip()[:200] or None,
                             cursor=request.args.get("cursor") or None,
                             per_page=current_app.config["INBOX_PAGE_SIZE"])


@bp.get("/")
@login_required
def index():
    which = request.args.get("list")
    if which is not None and which not in inbox.LISTS:
        abort(404)
    now, filters = utcnow(), _filters()
    with reading() as session:
        user = users.get_user(session, current_user.username)
        calendar = calendar_store.current(session)
        counts = {key: inbox.list_count(session, user, key, now, filters) for key in ("mine", "queue")}
        if which is None:  # land where the work is: the queue when nothing is claimed yet
            which = "queue" if counts["mine"] == 0 and counts["queue"] > 0 else "mine"
        page = inbox.task_list(session, user, which, now, filters)
        rows = [task_row(t, user, now, calendar) for t in page.tasks]
        plans = inbox.plan_choices(session)
        improvements = drill_actions.open_actions(session, user.username)   # a drill's improvement plan
    return render_template("inbox/index.html", which=which, rows=rows, page=page, filters=filters, plans=plans,
                           improvements=improvements,
                           counts=counts, count_cap=inbox.COUNT_CAP)


def _task_for_viewer(session, task_id: int):
    task = cases.get_task(session, task_id)
    user = users.get_user(session, current_user.username)
    if not (user.has_role(task.role) or task.completed_by == user.username or task.assignee == user.username):
        raise PermissionDenied(_("This task is for role %(role)s.", role=role_name(task.role)))
    return task, user


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id: int, errors: dict | None = None, values: dict | None = None, status: int = 200):
    now = utcnow()
    with reading() as session:
        task, user = _task_for_viewer(session, task_id)
        calendar = calendar_store.current(session)
        case = task.case
        plan = plans.spec_cache.get(case.plan_version)
        schema = localized_form(plan.forms.get(task.form_key, {"components": []}))
        history = [task_row(t, user, now, calendar) for t in cases.case_tasks(session, case.id) if t.id != task.id]
        row = task_row(task, user, now, calendar)
        files = case_files(session, case, user)
    return render_template("inbox/task.html", task=row, schema=schema, title=form_title(schema, row["name"]),
                           history=history, errors=errors or {}, values=values or {}, files=files,
                           can_claim=row["status"] == "open" and row["assignee"] is None,
                           mine=row["assignee"] == current_user.username), status


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int):
    run(cases.claim_task, task_id, current_user.username, utcnow())
    flash(_("Task claimed: it is now in your list."), "success")
    return redirect(url_for("inbox.task", task_id=task_id))


@bp.post("/tasks/<int:task_id>/release")
@login_required
def release(task_id: int):
    run(cases.release_task, task_id, current_user.username, utcnow())
    flash(_("Task released back to the queue."), "success")
    return redirect(url_for("inbox.index", list="queue"))


@bp.post("/tasks/<int:task_id>/complete")
@login_required
def complete(task_id: int):
    try:
        data = parse_json(request.form.get("data") or "{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return task(task_id, errors={"_form": _("The form data could not be read; please submit again.")},
                    status=422)
    now = utcnow()
    try:
        done = attachments.submit_task(sessions(), storage(), task_id, current_user.username, data,
                                       received_files(), now, limits())
    except FormInvalid as invalid:
        with reading() as session:
            task_row_ = cases.get_task(session, task_id)
            schema = localized_form(plans.spec_cache.get(task_row_.case.plan_version).forms.get(task_row_.form_key, {}))
        return task(task_id, errors=localized_errors(invalid, schema), values=data, status=422)
    flash(next_step_message(done, now), "success")
    return redirect(url_for("inbox.index"))


def next_step_message(done: cases.Completion, now) -> str:
    """What happens next, in words: 'Sent to Department head: Approve (due in 2 working days).'"""
    if done.case_completed:
        return _("Task completed; the case is closed.")
    if not done.next_tasks:
        return _("Task completed.")
    with reading() as session:
        calendar = calendar_store.current(session)
    steps = []
    for next_task in done.next_tasks:
        step = _("%(role)s: %(task)s", role=role_name(next_task.role), task=task_name(next_task))
        if next_task.due_at:
            due = _("due %(when)s", when=due_phrase(next_task.due_at, now, calendar))
            step += f" ({due}, {_('provisional')})" if next_task.due_provisional else f" ({due})"
        steps.append(step)
    return _("Task completed. Sent to %(steps)s.", steps="; ".join(steps))
