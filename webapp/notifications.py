"""The bell: a user's notifications, marking them read, notification preferences, undeliverable ones."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.calendar.clock import utcnow
from engine.errors import PlanFlowError
from engine.notifications import in_app, preferences, sender
from engine.notifications.templates import EVENTS, render
from webapp.auth import local_target, role_required
from webapp.db import reading, run
from webapp.i18n import english

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _locale() -> str:
    return "en" if english() else "zh_CN"


def event_names() -> dict[str, str]:
    return {"task_ready": _("A task is ready for my role"), "task_assigned": _("A task is assigned to me"),
            "deadline_near": _("A deadline is near"), "deadline_passed": _("A deadline passed"),
            "escalated": _("A task is escalated to my role"), "escalated_away": _("My task is escalated"),
            "case_urgent": _("An urgent complaint is registered"), "incident": _("A case cannot go on (incident)")}


@bp.app_context_processor
def bell():
    """`unread_notifications()` for the top bar: evaluated only where the page shows the bell."""
    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        with reading() as session:
            return in_app.unread_count(session, current_user.username)
    return {"unread_notifications": unread_notifications}


@bp.get("/")
@login_required
def index():
    """The user's notifications, newest first, in the page's language."""
    with reading() as session:
        rows = in_app.latest(session, current_user.username)
        items = [{"id": n.id, "event": n.event, "unread": n.read_at is None, "urgent": n.urgent,
                  "created_at": n.created_at, "message": render(n.event, n.payload, _locale(), "")} for n in rows]
    return render_template("notifications/index.html", items=items)


@bp.post("/<int:notification_id>/open")
@login_required
def open_one(notification_id: int):
    """Mark one read and go to what it is about."""
    with reading() as session:
        mine = in_app.get_mine(session, current_user.username, notification_id)
    if mine is None:
        flash(_("That notification is not yours or no longer there."), "error")
        return redirect(url_for("notifications.index"))
    run(in_app.mark_read, current_user.username, utcnow(), [notification_id])
    return redirect(local_target(mine.payload.get("link", "/")) or url_for("inbox.index"))


@bp.post("/read")
@login_required
def mark_all_read():
    count = run(in_app.mark_read, current_user.username, utcnow())
    flash(_("%(count)d notification(s) marked read.", count=count), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def edit_preferences():
    """Which events, which channels, quiet hours and the daily digest; a refused form keeps what was typed."""
    form = request.form
    if request.method == "POST":
        choice = {"email": form.get("email", ""), "muted_events": [e for e in EVENTS if not form.get(f"event_{e}")],
                  "channels": [c for c in preferences.USER_CHANNELS if form.get(f"channel_{c}")],
                  "quiet_from": form.get("quiet_from", ""), "quiet_until": form.get("quiet_until", ""),
                  "daily_digest": bool(form.get("daily_digest"))}
        try:
            run(preferences.set_preferences, current_user.username, **choice)
        except PlanFlowError as exc:
            flash(str(exc), "error")
            return render_template("notifications/preferences.html", prefs=choice, events=event_names()), 400
        flash(_("Notification preferences saved."), "success")
        return redirect(url_for("notifications.edit_preferences"))
    with reading() as session:
        saved = preferences.get_preferences(session, current_user.username)
    prefs = {"email": saved.email or "", "muted_events": sorted(saved.muted_events), "channels": list(saved.channels),
             "quiet_from": saved.quiet_from or "", "quiet_until": saved.quiet_until or "",
             "daily_digest": saved.daily_digest}
    return render_template("notifications/preferences.html", prefs=prefs, events=event_names())


@bp.get("/undeliverable")
@role_required("process_owner")
def undeliverable():
    """Mail and webhook notifications that could not be delivered, and why."""
    with reading() as session:
        rows = in_app.undeliverable(session)
    return render_template("notifications/undeliverable.html", rows=rows, events=event_names())


@bp.post("/undeliverable/retry")
@role_required("process_owner")
def retry_undeliverable():
    count = run(sender.retry_undeliverable, utcnow())
    flash(_("%(count)d notification(s) queued again.", count=count), "success")
    return redirect(url_for("notifications.undeliverable"))
