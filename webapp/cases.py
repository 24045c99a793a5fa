"""Registering a complaint, and the case page for the people who work it."""
from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.calendar import store as calendar_store
from engine.calendar.clock import utcnow
from engine.cases import registration_keys
from engine.cases import use_cases as cases
from engine.errors import FormInvalid, NotFound, PermissionDenied
from engine.people import users
from engine.people.roles import LANE_ROLES
from engine.plans import versions as plans
from engine.records import attachments
from webapp.attachments import case_files, limits, received_files, storage
from webapp.auth import role_required
from webapp.db import reading, sessions
from webapp.i18n import form_title, localized_errors, localized_form
from webapp.limits import parse_json
from webapp.views import task_row

bp = Blueprint("cases", __name__)
DEFAULT_PLAN = "general_complaint"
REQUEST_KEY = "request_key"   # the form's hidden one-time key: a second submission of one page registers nothing


def _startable(session) -> list[dict]:
    found = []
    for key in plans.plan_keys(session):
        version = plans.current_version(session, key)
        if plans.spec_cache.get(version).start_form_key:
            found.append({"key": key, "name": version.name})
    return found


@bp.route("/register", methods=["GET", "POST"])
@role_required("intake", "duty_officer")
def register():
    plan_key = request.values.get("plan", DEFAULT_PLAN)
    errors, values, status, failed = {}, {}, 200, None
    # A page keeps its key until it registers a case, so a corrected resubmission is still the same registration.
    request_key = request.form.get(REQUEST_KEY) or str(uuid.uuid4())
    if request.method == "POST":
        try:
            values = parse_json(request.form.get("data") or "{}")
        except ValueError:
            values = None
        if not isinstance(values, dict):
            errors, values, status = {"_form": _("The form data could not be read; please submit again.")}, {}, 422
        else:
            try:
                registration = _register_once(plan_key, values, request.form.get(REQUEST_KEY))
            except FormInvalid as invalid:
                failed = invalid
                status = 422
            except registration_keys.RegistrationKeyReused as reused:
                errors, status, request_key = {"_form": _(
                    "This page was already used to register %(number)s, with other data; what you sent now was "
                    "not registered. Check it and register again to make it a new complaint.",
                    number=reused.number)}, 422, str(uuid.uuid4())
            else:
                case = registration.case
                if registration.replayed:
                    flash(_("This complaint was already registered as %(number)s; it was not registered again.",
                            number=case.number), "warning")
                    return redirect(url_for("cases.case", number=case.number))
                flash(_("Complaint registered as %(number)s.", number=case.number), "success")
                if case.incident:
                    flash(_("Its plan stopped at once and a process owner has been told: %(reason)s",
                            reason=case.incident), "warning")
                return redirect(url_for("cases.case", number=case.number))
    with reading() as session:
        startable = _startable(session)
        if plan_key not in {p["key"] for p in startable}:
            raise NotFound(_("No plan %(plan)s can be started here.", plan=plan_key))
        plan = plans.spec_cache.get(plans.current_version(session, plan_key))
        schema = localized_form(plan.forms[plan.start_form_key])
    if failed is not None:
        errors = localized_errors(failed, schema)
    return render_template("cases/register.html", plans=startable, plan_key=plan_key, schema=schema,
                           title=form_title(schema, plan_key), errors=errors, values=values,
                           request_key=request_key), status


def _register_once(plan_key: str, values: dict, key: str | None) -> registration_keys.Registration:
    """Register the complaint with its files, once per page key (a page without a key registers as before)."""
    files, now, username = received_files(), utcnow(), current_user.username
    return registration_keys.register_once(
        sessions(), username, key, registration_keys.fingerprint(plan_key, values, files),
        lambda session: attachments.start_case(session, storage(), plan_key, values, files, username, now, limits()),
        now)


@bp.get("/cases/<number>")
@login_required
def case(number: str):
    now = utcnow()
    with reading() as session:
        case = cases.get_case(session, number)
        user = users.get_user(session, current_user.username)
        tasks = cases.case_tasks(session, case.id)
        if not cases.works_on_case(user, case, tasks):
            raise PermissionDenied(_("Only the people working this case can see it."))
        calendar = calendar_store.current(session)
        rows = [task_row(t, user, now, calendar) for t in tasks]
        history = cases.case_history(session, case.id)
        summary = task_row(tasks[0], user, now, calendar) if tasks else None
        info = {"number": case.number, "plan": case.plan_version.plan_key, "plan_name": case.plan_version.name,
                "version": case.plan_version.version, "status": case.status.value, "started_at": case.started_at,
                "started_by": case.started_by, "completed_at": case.completed_at, "incident": case.incident,
                "grade": case.grade, "category": case.category, "drill": case.drill_id is not None,
                "complainant": summary["complainant"] if summary else case.complainant,
                "contact": summary["contact"] if summary else case.contact}
        files = case_files(session, case, user)
        may_attach = bool(user.role_keys & LANE_ROLES)
    return render_template("cases/case.html", case=info, open_tasks=[r for r in rows if r["status"] == "open"],
                           tasks=rows, history=history, files=files, may_attach=may_attach)
