"""The JSON API (/api/v1) for hotline and web-form systems and for scripts.

Every request carries `Authorization: Bearer <token>` (`planflow token create USER`)
and is held to the same rules as the pages. Errors are JSON with a machine-readable
code and a human message (see webapp/errors.py); the OpenAPI document is served at
/api/v1/openapi.json and describes exactly these routes.
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, g, jsonify, request, url_for

from engine.calendar.clock import utcnow
from engine.cases import messages, registration_keys
from engine.cases import use_cases as cases
from engine.errors import PermissionDenied, PlanFlowError
from engine.people import tokens, users
from engine.people.privacy import may_see_contact, shown_identity
from engine.plans import versions as plans
from engine.views import inbox
from webapp.db import reading, run, sessions
from webapp.errors import error_body
from webapp.limits import int_arg, parse_json
from webapp.openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


class BadRequest(PlanFlowError):
    code = "bad_request"


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user = None
        if scheme.lower() == "bearer" and token.strip():
            with reading() as session:
                user = tokens.user_for_token(session, token.strip())
                if user is not None:
                    g.api_username = user.username
        if user is None:
            response = jsonify(error_body("unauthorized", "a valid 'Authorization: Bearer <token>' header is "
                                                          "required (create one with `planflow token create USER`)"))
            response.headers["WWW-Authenticate"] = 'Bearer realm="planflow"'
            return response, 401
        return view(*args, **kwargs)
    return wrapper


def _json_body() -> dict:
    if not request.is_json:
        raise BadRequest("send a JSON object with 'Content-Type: application/json'")
    try:
        body = parse_json(request.get_data())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not usable JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def _iso(moment):
    return moment.isoformat() if moment else None


def task_json(task, viewer) -> dict:
    case = task.case
    complainant, contact = shown_identity(case, may_see_contact(viewer))
    return {
        "id": task.id, "case": case.number, "plan": case.plan_version.plan_key, "element_id": task.element_id,
        "name": task.name, "name_en": task.name_en, "role": task.role, "form_key": task.form_key,
        "status": task.status.value, "assignee": task.assignee, "created_at": _iso(task.created_at),
        "due_at": _iso(task.due_at), "due_provisional": task.due_provisional,
        "drill": case.drill_id is not None,
        "overdue": task.status.value == "open" and task.due_at is not None and task.due_at <= utcnow(),
        "escalated_from": task.escalated_from, "completed_by": task.completed_by,
        "completed_at": _iso(task.completed_at), "grade": case.grade,
        "complainant": complainant, "contact": contact,
        "url": url_for("api.get_case", number=case.number),
    }


def case_json(session, case, viewer) -> dict:
    all_tasks = cases.case_tasks(session, case.id)
    if not cases.works_on_case(viewer, case, all_tasks):
        raise PermissionDenied(f"user '{viewer.username}' does not work case {case.number}")
    history = cases.case_history(session, case.id)
    return {
        "number": case.number, "plan": case.plan_version.plan_key, "version": case.plan_version.version,
        "status": case.status.value, "started_at": _iso(case.started_at), "started_by": case.started_by,
        "completed_at": _iso(case.completed_at), "incident": case.incident, "grade": case.grade,
        "open_tasks": [task_json(t, viewer) for t in all_tasks if t.status.value == "open"],
        "deadlines": [{"task_id": t.id, "element_id": t.element_id, "due_at": _iso(t.due_at),
                       "provisional": t.due_provisional} for t in all_tasks
                      if t.status.value == "open" and t.due_at],
        "history": [{"seq": e.seq, "kind": e.kind, "actor": e.actor, "element_id": e.element_id,
                     "occurred_at": _iso(e.occurred_at)} for e in history],
    }


def _deployed_forms(session) -> tuple[dict, dict]:
    """The current version's start form of each startable plan, and every other form (task forms)."""
    start_forms, task_forms = {}, {}
    for key in plans.plan_keys(session):
        plan = plans.spec_cache.get(plans.current_version(session, key))
        if plan.start_form_key in plan.forms:
            start_forms[key] = (plan.start_form_key, plan.forms[plan.start_form_key])
        task_forms.update({k: f for k, f in plan.forms.items() if k != plan.start_form_key})
    return start_forms, task_forms


@bp.get("/openapi.json")
def openapi():
    with reading() as session:
        return jsonify(openapi_document(*_deployed_forms(session)))


@bp.post("/cases")
@token_required
def create_case():
    """Register a complaint; a request repeating an earlier one's Idempotency-Key gets that case back."""
    body = _json_body()
    plan, data = body.get("plan"), body.get("data", {})
    if not isinstance(plan, str) or not isinstance(data, dict):
        raise BadRequest("expected {\"plan\": \"<plan key>\", \"data\": {…}}")
    registration = registration_keys.start_case(sessions(), request.headers.get(IDEMPOTENCY_KEY), plan, data,
                                                g.api_username, utcnow())
    number = registration.case.number
    with reading() as session:
        payload = case_json(session, cases.get_case(session, number), users.get_user(session, g.api_username))
    headers = {"Location": url_for("api.get_case", number=number)}
    if registration.replayed:
        headers[REPLAYED] = "true"
    return jsonify(payload), 201, headers


@bp.get("/cases/<number>")
@token_required
def get_case(number: str):
    with reading() as session:
        return jsonify(case_json(session, cases.get_case(session, number), users.get_user(session, g.api_username)))


def _flag(name: str) -> bool:
    """A boolean query argument: true or false (1 or 0); anything else is a bad request."""
    value = request.args.get(name, "false")
    if value not in ("true", "false", "1", "0"):
        raise BadRequest(f"'{name}' must be true or false")
    return value in ("true", "1")


@bp.get("/tasks")
@token_required
def list_tasks():
    repeated = sorted({key for key in request.args if len(request.args.getlist(key)) > 1})
    if repeated:
        raise BadRequest(f"give each query argument once ({', '.join(repeated)})")
    which = request.args.get("list", "mine")
    if which not in inbox.LISTS:
        raise BadRequest(f"list must be one of {', '.join(inbox.LISTS)}")
    if "page" in request.args:   # a client still counting pages would get the first one forever
        raise BadRequest("this list is paged by cursor: pass the 'next' of the previous answer as 'cursor'")
    per_page = int_arg("per_page", 50, maximum=inbox.MAX_PER_PAGE)
    filters = inbox.InboxFilter(plan=request.args.get("plan") or None, grade=request.args.get("grade") or None,
                                overdue=_flag("overdue"), cursor=request.args.get("cursor") or None,
                                per_page=per_page)
    with reading() as session:
        user = users.get_user(session, g.api_username)
        found = inbox.task_list(session, user, which, utcnow(), filters)
        rows = [task_json(t, user) for t in found.tasks]
    return jsonify({"list": which, "per_page": found.per_page, "has_next": found.has_next,
                    "next": found.next_cursor, "previous": found.previous_cursor, "tasks": rows})


def _task_response(task_id: int):
    with reading() as session:
        return task_json(cases.get_task(session, task_id), users.get_user(session, g.api_username))


@bp.post("/tasks/<int:task_id>/claim")
@token_required
def claim(task_id: int):
    run(cases.claim_task, task_id, g.api_username, utcnow())
    return jsonify(_task_response(task_id))


@bp.post("/tasks/<int:task_id>/release")
@token_required
def release(task_id: int):
    run(cases.release_task, task_id, g.api_username, utcnow())
    return jsonify(_task_response(task_id))


@bp.post("/tasks/<int:task_id>/complete")
@token_required
def complete(task_id: int):
    data = _json_body().get("data", {})
    if not isinstance(data, dict):
        raise BadRequest("expected {\"data\": {…}}")
    done = cases.submit_task(sessions(), task_id, g.api_username, data, utcnow())
    with reading() as session:
        user = users.get_user(session, g.api_username)
        next_tasks = [task_json(cases.get_task(session, t.id), user) for t in done.next_tasks]
    return jsonify({"task": _task_response(task_id), "next_tasks": next_tasks, "case_completed": done.case_completed})


@bp.post("/messages")
@token_required
def send_message():
    body = _json_body()
    correlation, data = body.get("correlation", {}), body.get("data", {})
    delivery = messages.submit_message(sessions(), body.get("name"), correlation, data, g.api_username, utcnow())
    with reading() as session:
        user = users.get_user(session, g.api_username)
        next_tasks = [task_json(cases.get_task(session, t.id), user) for t in delivery.next_tasks]
    return jsonify({"case": delivery.case_number, "element_id": delivery.element_id, "next_tasks": next_tasks,
                    "case_completed": delivery.case_completed})
