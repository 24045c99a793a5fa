"""The OpenAPI 3 description of /api/v1, kept beside the routes it describes (a test compares them)."""
from __future__ import annotations

ERROR = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


COMMON_ERRORS = {"401": _error("missing or invalid bearer token"), "403": _error("the user lacks the role"),
                 "404": _error("no such case or task")}
TASK = {"$ref": "#/components/schemas/Task"}
CASE = {"$ref": "#/components/schemas/Case"}
TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def openapi_document() -> dict:
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
                "tags": ["cases"], "security": [{"bearer": []}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["plan"], "properties": {
                        "plan": {"type": "string", "example": "general_complaint"},
                        "data": {"type": "object", "example": {"complainant": "王女士", "contact": "13800000000",
                                                               "channel": "phone", "content": "快递延误"}}}}}}},
                "responses": {"201": _json("the new case", CASE), "400": _error("malformed body"),
                              **COMMON_ERRORS, "422": _error("start-form data invalid, per field")}}},
            "/api/v1/cases/{number}": {"get": {
                "summary": "A case: status, open tasks, deadlines, history", "tags": ["cases"],
                "security": [{"bearer": []}],
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json("the case", CASE), **COMMON_ERRORS}}},
            "/api/v1/tasks": {"get": {
                "summary": "A page of the user's tasks", "tags": ["tasks"], "security": [{"bearer": []}],
                "parameters": [
                    {"name": "list", "in": "query", "schema": {"type": "string", "enum": ["mine", "queue", "done"],
                                                               "default": "mine"}},
                    {"name": "plan", "in": "query", "schema": {"type": "string"}},
                    {"name": "grade", "in": "query", "schema": {"type": "string"}},
                    {"name": "overdue", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                   "maximum": 200, "default": 50}}],
                "responses": {"200": _json("tasks, soonest due first", {"type": "object", "properties": {
                    "list": {"type": "string"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
                    "has_next": {"type": "boolean"}, "tasks": {"type": "array", "items": TASK}}}),
                    "400": _error("bad list or page"), "401": COMMON_ERRORS["401"]}}},
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
                    "type": "object", "properties": {"data": {"type": "object"}}}}}},
                "responses": {"200": _json("what comes next", {"type": "object", "properties": {
                    "task": TASK, "next_tasks": {"type": "array", "items": TASK},
                    "case_completed": {"type": "boolean"}}}),
                    "400": _error("malformed body"), **COMMON_ERRORS,
                    "409": _error("task already completed / claimed by another / case changed (reload), or the "
                                  "case could not advance (an incident was recorded)"),
                    "422": _error("form data invalid, per field")}}},
        },
    }
