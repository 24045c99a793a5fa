"""The OpenAPI 3 description of /api/v1, kept beside the routes it describes (a test compares them).

Request bodies carry each deployed plan's forms as JSON Schema (engine/forms/schema.py),
so the document changes when a plan is deployed.
"""
from __future__ import annotations

from engine.cases.registration_keys import MAX_KEY_LENGTH
from engine.forms.schema import form_schema
from engine.views.cursor import MAX_LENGTH as MAX_CURSOR_LENGTH
from webapp.limits import MAX_ID

ERROR = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


COMMON_ERRORS = {"400": _error("malformed request: bad JSON, a number out of range, text with NUL or a lone "
                                "surrogate, JSON nested deeper than 32 levels"),
                 "401": _error("missing or invalid bearer token"), "403": _error("the user lacks the role"),
                 "404": _error("no such case or task"),
                 "413": _error("the body is larger than the server accepts (PLANFLOW_MAX_REQUEST_BYTES)")}
TASK = {"$ref": "#/components/schemas/Task"}
CASE = {"$ref": "#/components/schemas/Case"}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[ -~]*[!-~][ -~]*$",
               "example": "5f0c6a9e-2b1d-4e8f-9a37-1c2d3e4f5a6b"},
    "description": "a key of the client's choosing (a fresh UUID per complaint), sent again unchanged when the "
                   "request is retried: a request repeating the key and body of an earlier one of the same user "
                   "registers nothing and answers 201 with the case that one registered, marked "
                   "`Idempotent-Replayed: true`. Keys are kept with their case."}
TASK_ID = {"name": "task_id", "in": "path", "required": True,
           "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}


def _form_ref(key: str) -> dict:
    return {"$ref": f"#/components/schemas/form_{key}"}


def _form_schemas(forms: dict[str, dict]) -> dict:
    """One schema per form key, without an empty `required` (OpenAPI 3.0 refuses that)."""
    schemas = {}
    for key, form in sorted(forms.items()):
        schema = form_schema(form)
        if not schema["required"]:
            del schema["required"]
        schemas[f"form_{key}"] = schema
    return schemas


def _registration(start_forms: dict[str, tuple[str, dict]]) -> dict:
    """POST /cases: one shape per startable plan, `data` being that plan's start form."""
    shapes = []
    for plan_key, (form_key, form) in sorted(start_forms.items()):
        required = ["plan", "data"] if form_schema(form)["required"] else ["plan"]
        shapes.append({"type": "object", "required": required, "properties": {
            "plan": {"type": "string", "enum": [plan_key]}, "data": _form_ref(form_key)}})
    if not shapes:
        return {"type": "object", "required": ["plan"], "properties": {
            "plan": {"type": "string"}, "data": {"type": "object"}}}
    return {"oneOf": shapes}


def openapi_document(start_forms: dict[str, tuple[str, dict]] | None = None,
                     task_forms: dict[str, dict] | None = None) -> dict:
    """The document; `start_forms` maps plan key to (form key, form), `task_forms` form key to form."""
    start_forms, task_forms = start_forms or {}, task_forms or {}
    forms = {**task_forms, **{key: form for key, form in start_forms.values()}}
    task_data = ({"anyOf": [_form_ref(key) for key in sorted(task_forms)]} if task_forms
                 else {"type": "object"})
    task_action = {"parameters": [TASK_ID], "security": [{"bearer": []}], "tags": ["tasks"]}
    return {
        "openapi": "3.0.3",
        "info": {"title": "PlanFlow API", "version": "1",
                 "description": "Complaint cases and their tasks. Authenticate with `Authorization: Bearer <token>` "
                                "(`planflow token create USER`). Errors: `{\"error\": {\"code\", \"message\"}}`; "
                                "422 adds `fields` with one message per form field."},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                **_form_schemas(forms),
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string", "example": "task_already_completed"},
                        "message": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}}},
                "Task": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "case": {"type": "string", "example": "TS-2026-000123"},
                    "plan": {"type": "string"}, "element_id": {"type": "string"}, "name": {"type": "string"},
                    "name_en": {"type": "string", "nullable": True}, "role": {"type": "string"},
                    "form_key": {"type": "string", "nullable": True},
                    "status": {"type": "string", "enum": ["open", "completed", "cancelled"]},
                    "assignee": {"type": "string", "nullable": True},
                    "created_at": {"type": "string", "format": "date-time"},
                    "due_at": {"type": "string", "format": "date-time", "nullable": True},
                    "due_provisional": {"type": "boolean"}, "overdue": {"type": "boolean"},
                    "drill": {"type": "boolean", "description": "true for a task of a drill case (演练): a rehearsal "
                              "on a simulated clock, not real work; its due_at is in the drill's simulated time"},
                    "escalated_from": {"type": "string", "nullable": True},
                    "completed_by": {"type": "string", "nullable": True},
                    "completed_at": {"type": "string", "format": "date-time", "nullable": True},
                    "grade": {"type": "string", "nullable": True},
                    "complainant": {"type": "string", "nullable": True, "description": "masked for roles that "
                                    "do not work with the complainant"},
                    "contact": {"type": "string", "nullable": True}, "url": {"type": "string"}}},
                "Case": {"type": "object", "properties": {
                    "number": {"type": "string"}, "plan": {"type": "string"}, "version": {"type": "integer"},
                    "status": {"type": "string", "enum": ["running", "completed"]},
                    "started_at": {"type": "string", "format": "date-time"}, "started_by": {"type": "string"},
                    "completed_at": {"type": "string", "format": "date-time", "nullable": True},
                    "incident": {"type": "string", "nullable": True}, "grade": {"type": "string", "nullable": True},
                    "open_tasks": {"type": "array", "items": TASK},
                    "deadlines": {"type": "array", "items": {"type": "object", "properties": {
                        "task_id": {"type": "integer"}, "element_id": {"type": "string"},
                        "due_at": {"type": "string", "format": "date-time"}, "provisional": {"type": "boolean"}}}},
                    "history": {"type": "array", "items": {"type": "object", "properties": {
                        "seq": {"type": "integer"}, "kind": {"type": "string"}, "actor": {"type": "string"},
                        "element_id": {"type": "string", "nullable": True},
                        "occurred_at": {"type": "string", "format": "date-time"}}}}}},
            },
        },
        "paths": {
            "/api/v1/openapi.json": {"get": {"summary": "This document", "tags": ["meta"],
                                             "responses": {"200": {"description": "OpenAPI 3 document"}}}},
            "/api/v1/cases": {"post": {
                "summary": "Register a complaint (start a case of a plan with its start-form data)",
                "tags": ["cases"], "security": [{"bearer": []}], "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _registration(start_forms)}}},
                "responses": {"201": {**_json("the new case, or the case an earlier request with the same "
                                              "Idempotency-Key registered", CASE), "headers": {
                                  "Location": {"schema": {"type": "string"}, "description": "the case's URL"},
                                  "Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]},
                                                          "description": "present when the Idempotency-Key had "
                                                                         "registered this case before: nothing was "
                                                                         "registered now"}}},
                              **COMMON_ERRORS,
                              "400": _error(COMMON_ERRORS["400"]["description"] + f"; an Idempotency-Key that is "
                                            f"not 1 to {MAX_KEY_LENGTH} printable ASCII characters "
                                            "(code bad_idempotency_key)"),
                              "409": _error("the plan stopped at once (an incident was recorded)"),
                              "422": _error("start-form data invalid, per field; or the Idempotency-Key was already "
                                            "used for a different request (code idempotency_key_reused)")}}},
            "/api/v1/cases/{number}": {"get": {
                "summary": "A case: status, open tasks, deadlines, history", "tags": ["cases"],
                "security": [{"bearer": []}],
                "parameters": [{"name": "number", "in": "path", "required": True,
                                "schema": {"type": "string", "example": "TS-2026-000001"}}],
                "responses": {"200": _json("the case", CASE), **COMMON_ERRORS}}},
            "/api/v1/tasks": {"get": {
                "summary": "A page of the user's tasks", "tags": ["tasks"], "security": [{"bearer": []}],
                "parameters": [
                    {"name": "list", "in": "query", "schema": {"type": "string", "enum": ["mine", "queue", "done"],
                                                               "default": "mine"}},
                    {"name": "plan", "in": "query", "schema": {"type": "string"}},
                    {"name": "grade", "in": "query", "schema": {"type": "string"}},
                    {"name": "overdue", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
                     "description": "where the page starts: the `next` (or `previous`) of an earlier answer for "
                                    "the same list; leave it out for the first page"},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                   "maximum": 200, "default": 50}}],
                "responses": {"200": _json("tasks, escalated first, then soonest due (done: latest first)", {
                    "type": "object", "properties": {
                        "list": {"type": "string"}, "per_page": {"type": "integer"}, "has_next": {"type": "boolean"},
                        "next": {"type": "string", "nullable": True,
                                 "description": "cursor of the next page; null on the last page"},
                        "previous": {"type": "string", "nullable": True,
                                     "description": "cursor of the previous page; null on the first page"},
                        "tasks": {"type": "array", "items": TASK}}}),
                    "400": _error("bad list, cursor (code bad_cursor), per_page or overdue, or a 'page' argument"),
                    "401": COMMON_ERRORS["401"]}}},
            "/api/v1/messages": {"post": {
                "summary": "Deliver a message to the one case waiting for it (a written reply, a regulator's "
                           "notice, a hotline callback)", "tags": ["messages"], "security": [{"bearer": []}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["name", "correlation"], "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 200, "example": "written_reply"},
                        "correlation": {"type": "object", "minProperties": 1,
                                        "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "number"},
                                                                           {"type": "boolean"}]},
                                        "example": {"case": "TS-2026-000001"}},
                        "data": {"type": "object", "example": {"text": "同意调解方案"}}}}}}},
                "responses": {"200": _json("the case it went to and what comes next", {
                    "type": "object", "properties": {
                        "case": {"type": "string"}, "element_id": {"type": "string"},
                        "next_tasks": {"type": "array", "items": TASK}, "case_completed": {"type": "boolean"}}}),
                    **COMMON_ERRORS, "400": _error("malformed message (name, correlation or data)"),
                    "404": _error("no case is waiting for a message of that name"),
                    "409": _error("no waiting case matches the correlation, several do, or the case could not "
                                  "advance (an incident was recorded)")}}},
            "/api/v1/tasks/{task_id}/claim": {"post": {
                **task_action, "summary": "Claim an open task of one's role",
                "responses": {"200": _json("the task", TASK), **COMMON_ERRORS,
                              "409": _error("already claimed by someone else, or no longer open")}}},
            "/api/v1/tasks/{task_id}/release": {"post": {
                **task_action, "summary": "Give a claimed task back to the queue",
                "responses": {"200": _json("the task", TASK), **COMMON_ERRORS, "409": _error("no longer open")}}},
            "/api/v1/tasks/{task_id}/complete": {"post": {
                **task_action, "summary": "Submit the task's form",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["data"], "properties": {"data": task_data}}}}},
                "responses": {"200": _json("what comes next", {"type": "object", "properties": {
                    "task": TASK, "next_tasks": {"type": "array", "items": TASK},
                    "case_completed": {"type": "boolean"}}}),
                    **COMMON_ERRORS,
                    "409": _error("task already completed / claimed by another / case changed (reload), or the "
                                  "case could not advance (an incident was recorded)"),
                    "422": _error("form data invalid, per field")}}},
        },
    }
