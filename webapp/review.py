"""Compliance: every case with its path, timeline, deadlines and audit chain; heatmaps; monthly figures.

Read-only by construction: every route is a GET, and the compliance role holds no lane, so
the engine refuses it any claim, completion or deploy.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, datetime

from flask import Blueprint, Response, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from engine.calendar import store as calendar_store
from engine.calendar.clock import utcnow
from engine.calendar.local_time import to_local
from engine.cases import use_cases as cases
from engine.errors import NotFound
from engine.models import PlanVersion
from engine.people import users
from engine.people.privacy import may_see_contact, redacted, shown
from engine.plans import versions as plans
from engine.records import audit, evidence
from engine.views import review
from webapp import readable
from webapp.attachments import case_files
from webapp.attachments import storage as attachment_storage
from webapp.auth import role_required
from webapp.db import reading, run
from webapp.limits import int_arg

bp = Blueprint("review", __name__, url_prefix="/review")
COMPLIANCE = "compliance"


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args[name]) if request.args.get(name) else None
    except ValueError:
        return None


def _filters() -> review.CaseFilter:
    version = int_arg("version", None)
    return review.CaseFilter(
        plan=request.args.get("plan") or None, version=version, status=request.args.get("status") or None,
        grade=request.args.get("grade") or None, category=request.args.get("category") or None,
        started_from=_date("from"), started_to=_date("to"), overdue=request.args.get("overdue") == "1",
        escalated=request.args.get("escalated") == "1", handler=request.args.get("handler") or None,
        complainant=request.args.get("complainant") or None, sort=request.args.get("sort", "started_at"),
        descending=request.args.get("order", "desc") != "asc")


def _see_contact() -> bool:
    with reading() as session:
        return may_see_contact(users.get_user(session, current_user.username))


@bp.get("/")
@role_required(COMPLIANCE)
def index():
    return redirect(url_for("review.case_list"))


@bp.get("/cases")
@role_required(COMPLIANCE)
def case_list():
    filters, now = _filters(), utcnow()
    visible = _see_contact()
    with reading() as session:
        calendar = calendar_store.current(session)
        found = review.find_cases(session, filters, now, calendar)
        rows = [{"number": c.number, "plan": c.plan_version.plan_key, "version": c.plan_version.version,
                 "status": c.status.value, "grade": c.grade, "category": c.category,
                 "complainant": shown("complainant", c.complainant, visible),
                 "started_at": c.started_at, "completed_at": c.completed_at, "incident": c.incident}
                for c in found]
        plan_keys = plans.plan_keys(session)
    return render_template("review/cases.html", rows=rows, filters=filters, plans=plan_keys,
                           args=request.args.to_dict())


@bp.get("/cases.csv")
@role_required(COMPLIANCE)
def case_csv():
    visible = _see_contact()
    with reading() as session:
        found = review.find_cases(session, _filters(), utcnow(), calendar_store.current(session), limit=100_000)
        body = review.cases_csv(found, visible, readable.case_columns)
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="planflow-cases.csv"'})


@bp.get("/cases/<number>")
@role_required(COMPLIANCE)
def case(number: str):
    now, visible = utcnow(), _see_contact()
    with reading() as session:
        found = cases.get_case(session, number)
        calendar = calendar_store.current(session)
        chain = audit.verify_chain(session, found.id)
        info = {"number": found.number, "plan": found.plan_version.plan_key, "name": found.plan_version.name,
                "version": found.plan_version.version, "status": found.status.value, "grade": found.grade,
                "started_at": found.started_at, "started_by": found.started_by,
                "completed_at": found.completed_at, "incident": found.incident,
                "complainant": shown("complainant", found.complainant, visible),
                "contact": shown("contact", found.contact, visible)}
        deadlines = review.deadline_outcomes(session, found.id, now, calendar)
        events = review.timeline(session, found.id)
        files = case_files(session, found, users.get_user(session, current_user.username))
    for event in events:
        # Identity masked by key and wherever else it appears (a file name, a note), as in the evidence pack.
        event.changes = [(key, shown(key, redacted(before, found, visible), visible),
                          shown(key, redacted(after, found, visible), visible))
                         for key, before, after in event.changes]
    return render_template("review/case.html", case=info, deadlines=deadlines, events=events, chain=chain,
                           files=files)


@bp.get("/cases/<number>/plan.json")
@role_required(COMPLIANCE)
def case_plan(number: str):
    with reading() as session:
        xml = cases.get_case(session, number).plan_version.bpmn_xml
    return jsonify({"xml": xml})


@bp.get("/cases/<number>/path.json")
@role_required(COMPLIANCE)
def case_path(number: str):
    with reading() as session:
        return jsonify({"markers": review.case_path(session, cases.get_case(session, number))})


def _evidence(number: str, what: str, render) -> str:
    """Evidence as the current user may see it (identity masked by the privacy rule), rendered and audited."""
    def use_case(session):
        found, doc = evidence.document_for(session, number, current_user.username, utcnow(),
                                           calendar_store.current(session))
        body = render(doc)
        sent = body.encode("utf-8")
        evidence.record_download(session, found, current_user.username, utcnow(), what,
                                 hashlib.sha256(sent).hexdigest(), len(sent), doc["masked"])
        return body
    return run(use_case)


@bp.get("/cases/<number>/evidence.json")
@role_required(COMPLIANCE)
def evidence_json(number: str):
    body = _evidence(number, "json", lambda doc: json.dumps(doc, ensure_ascii=False, indent=2, default=str))
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{number}-evidence.json"'})


@bp.get("/cases/<number>/evidence.html")
@role_required(COMPLIANCE)
def evidence_html(number: str):
    return _evidence(number, "html", lambda doc: render_template("review/evidence.html", pack=doc))


@bp.get("/cases/<number>/evidence.zip")
@login_required
def evidence_zip(number: str):
    """The whole pack: compliance and the case's workers; identity masked by the privacy rule, or on ?masked=1."""
    def use_case(session):
        return evidence.download_pack(session, attachment_storage(), number, current_user.username, utcnow(),
                                      calendar_store.current(session),
                                      lambda doc: render_template("review/evidence.html", pack=doc),
                                      masked=request.args.get("masked") == "1")
    name, pack = run(use_case)
    response = send_file(pack, mimetype="application/zip", as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


def _version(session, plan_key: str, number: int) -> PlanVersion:
    from sqlalchemy import select
    version = session.execute(select(PlanVersion).where(PlanVersion.plan_key == plan_key,
                                                        PlanVersion.version == number)).scalar_one_or_none()
    if version is None:
        raise NotFound(f"plan '{plan_key}' has no version {number}")
    return version


@bp.get("/plans/<plan_key>/v<int:number>/heatmap")
@role_required(COMPLIANCE)
def heatmap(plan_key: str, number: int):
    with reading() as session:
        version = _version(session, plan_key, number)
        loads = review.heatmap(session, version.id)
        name = version.name
    return render_template("review/heatmap.html", key=plan_key, number=number, name=name, loads=loads)


@bp.get("/plans/<plan_key>/v<int:number>/plan.json")
@role_required(COMPLIANCE)
def heatmap_plan(plan_key: str, number: int):
    with reading() as session:
        return jsonify({"xml": _version(session, plan_key, number).bpmn_xml})


@bp.get("/plans/<plan_key>/v<int:number>/heatmap.json")
@role_required(COMPLIANCE)
def heatmap_json(plan_key: str, number: int):
    with reading() as session:
        loads = review.heatmap(session, _version(session, plan_key, number).id)
    badges = {load.element_id: f"{load.cases}" + (f" · {load.median_hours} h" if load.median_hours is not None
                                                    else "") for load in loads}
    return jsonify({"markers": {"pf-done": [load.element_id for load in loads]}, "badges": badges})


def _month() -> tuple[int, int]:
    text = request.args.get("month") or to_local(utcnow()).strftime("%Y-%m")  # the organisation's month
    try:
        moment = datetime.strptime(text, "%Y-%m")
    except ValueError:
        moment = to_local(utcnow())
    return moment.year, moment.month


def _monthly_report() -> tuple[str, review.MonthlyReport]:
    year, month = _month()
    with reading() as session:
        return f"{year:04d}-{month:02d}", review.monthly_report(session, year, month, calendar_store.current(session))


@bp.get("/monthly")
@role_required(COMPLIANCE)
def monthly():
    label, report = _monthly_report()
    return render_template("review/monthly.html", report=report, month=label)


@bp.get("/monthly.csv")
@role_required(COMPLIANCE)
def monthly_csv():
    label, report = _monthly_report()
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["month", "measure", "key", "value", "label"])
    for measure in ("by_plan", "by_category", "by_grade", "by_outcome"):
        for key, value in sorted(getattr(report, measure).items()):
            writer.writerow([label, measure, key, value, readable.report_label(measure, key)])
    for measure in ("registered", "closed", "deadlines_due", "deadlines_met", "deadlines_met_share", "escalations",
                    "median_handling_working_days"):
        writer.writerow([label, measure, "", getattr(report, measure)])
    writer.writerow([label, "repeat_complainants", "", len(report.repeat_complainants)])
    if report.checkpoint:
        writer.writerow([label, "audit_checkpoint", report.checkpoint["at"], report.checkpoint["global"][1]])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="planflow-{label}.csv"'})
