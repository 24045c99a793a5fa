"""Domain errors as HTTP answers: a page for people, JSON for the API."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from engine.cases.registration_keys import RegistrationKeyReused
from engine.errors import (CaseEngineError, Conflict, DeployRejected, FormInvalid, NotFound, PermissionDenied,
                           PlanFlowError)
from webapp.i18n import english
from webapp.limits import BadInput

STATUS = [(NotFound, 404), (PermissionDenied, 403), (Conflict, 409), (FormInvalid, 422), (DeployRejected, 422),
          (RegistrationKeyReused, 422), (CaseEngineError, 409), (PlanFlowError, 400)]


HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              413: "payload_too_large", 429: "too_many_requests", 500: "internal_error"}


def status_of(error: PlanFlowError) -> int:
    return next(code for kind, code in STATUS if isinstance(error, kind))


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def _in_page_language(message: str, status: int) -> tuple[str, str | None]:
    """The engine words its errors in English: a Chinese page leads with the Chinese for the status and keeps
    the engine's own words as a detail marked English."""
    if english() or any("\u3400" <= ch <= "\u9fff" for ch in message):
        return message, None
    generic = {404: _("There is no such page, task or case."), 403: _("You do not have the role this page needs."),
               409: _("Someone changed this case or task in the meantime; reload the page and try again."),
               422: _("This could not be accepted; see the detail below.")}
    return generic.get(status, _("The request could not be carried out; see the detail below.")), message


def init_app(app) -> None:
    @app.errorhandler(PlanFlowError)
    def domain_error(error: PlanFlowError):
        status = status_of(error)
        if wants_json():
            extra = {"fields": error.errors} if isinstance(error, FormInvalid) else {}
            return jsonify(error_body(error.code, str(error), **extra)), status
        message, detail = _in_page_language(str(error), status)
        return render_template("errors/error.html", status=status, message=message, detail=detail), status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = {403: _("You do not have the role this page needs."),
                    404: _("There is no such page, task or case."),
                    400: _("The request was not understood (an expired form? reload the page)."),
                    405: _("This address does not take that method."),
                    413: _("The request is larger than this server accepts."),
                    429: _("Too many requests: wait a little and try again.")}
        message = error.description if isinstance(error, BadInput) else messages.get(error.code, error.description)
        # Keep what the exception says the client must know (Allow on 405, Retry-After, WWW-Authenticate).
        headers = {k: v for k, v in error.get_headers() if k in ("Allow", "Retry-After", "WWW-Authenticate")}
        if wants_json():
            return jsonify(error_body(HTTP_CODES.get(error.code, "http_error"), message)), error.code, headers
        return render_template("errors/error.html", status=error.code, message=message), error.code, headers
