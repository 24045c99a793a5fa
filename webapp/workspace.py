"""The case workspace on task and case pages: the complaint, earlier answers, history in sentences, comments."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.calendar import store as calendar_store
from engine.calendar.clock import utcnow
from engine.cases import use_cases as cases
from engine.errors import PermissionDenied
from engine.people import users
from engine.records import audit, comments
from engine.views.workspace import Happening, case_workspace
from webapp.db import reading, run
from webapp.i18n import english, role_name
from webapp.views import task_row

bp = Blueprint("workspace", __name__)


@bp.app_template_global("case_workspace")
def workspace_for(number: str) -> dict:
    """What the workspace include shows of a case, for the signed-in user (who works the case)."""
    with reading() as session:
        case = cases.get_case(session, number)
        viewer = users.get_user(session, current_user.username)
        tasks = cases.case_tasks(session, case.id)
        if not cases.works_on_case(viewer, case, tasks):
            raise PermissionDenied(_("Only the people working this case can see it."))
        space = case_workspace(session, case, viewer, english())
        now, calendar = utcnow(), calendar_store.current(session)
        open_rows = [task_row(t, viewer, now, calendar) for t in tasks if t.status.value == "open"]
    return {"space": space, "history": [(h, sentence(h)) for h in space.history], "open": open_rows}


def sentence(happening: Happening) -> str:
    """One history entry in words: '王** 的投诉由 intake1 登记', '核实与协商 由 handler1 完成'."""
    h = happening
    role = role_name(h.role) if h.role else ""
    words = {
        audit.EventKind.CASE_STARTED: lambda: _("%(who)s's complaint registered by %(actor)s",
                                                who=h.subject or _("The complainant"), actor=h.actor),
        audit.EventKind.TASK_READY: lambda: _("%(task)s sent to %(role)s", task=h.task, role=role),
        audit.EventKind.TASK_CLAIMED: lambda: _("%(actor)s claimed %(task)s", actor=h.actor, task=h.task),
        audit.EventKind.TASK_RELEASED: lambda: _("%(actor)s put %(task)s back in the queue", actor=h.actor,
                                                 task=h.task),
        audit.EventKind.TASK_COMPLETED: lambda: _("%(task)s completed by %(actor)s", task=h.task, actor=h.actor),
        audit.EventKind.TASK_CANCELLED: lambda: _("%(task)s closed without an answer", task=h.task),
        audit.EventKind.ESCALATED: lambda: _("%(task)s missed its deadline; escalated: %(to)s", task=h.task,
                                             to=h.text or role),
        audit.EventKind.CASE_COMPLETED: lambda: _("Case closed"),
        audit.EventKind.INCIDENT: lambda: _("The plan stopped: %(reason)s", reason=h.text),
        audit.EventKind.MESSAGE_RECEIVED: lambda: _("A message from outside arrived"),
        audit.EventKind.CASE_MIGRATED: lambda: _("%(actor)s moved the case to the current plan version",
                                                 actor=h.actor),
        audit.EventKind.CASE_RETRIED: lambda: _("%(actor)s ran the case again", actor=h.actor),
        comments.COMMENT_ADDED: lambda: _("%(actor)s commented", actor=h.actor),
        cases.TASK_REASSIGNED: lambda: _("%(actor)s reassigned %(task)s to %(to)s: %(reason)s", actor=h.actor,
                                     task=h.task, to=h.subject, reason=h.text),
    }
    return words.get(h.kind, lambda: h.kind)()


@bp.post("/cases/<number>/comments")
@login_required
def comment(number: str):
    """Add a comment, then go back to the task or case page it was written on."""
    text = request.form.get("text", "").strip()
    if not text:
        flash(_("Write the comment first."), "error")
    else:
        run(comments.add_comment, number, current_user.username, text[:comments.MAX_COMMENT_CHARS], utcnow())
        flash(_("Comment added."), "success")
    task_id = request.form.get("task_id", "")
    if task_id.isdigit() and len(task_id) < 10:
        return redirect(url_for("inbox.task", task_id=int(task_id), _anchor="comments"))
    return redirect(url_for("cases.case", number=number, _anchor="comments"))
