"""Input limits: request size, JSON depth and text validity, integer ranges of ids and page sizes.

Bad input is a 400, 404 or 413 with a clear message, never a 500: a huge number would
overflow the database's integers, a lone surrogate or a NUL cannot be stored, and deeply
nested JSON would exhaust the parser's recursion.
"""
from __future__ import annotations

import json
import os
import re

from flask import request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1            # ids are 32-bit integers on PostgreSQL
MAX_JSON_DEPTH = 32
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024


class BadInput(BadRequest):
    """A 400 whose message names what was wrong with the input."""

    def __init__(self, message: str):
        super().__init__(message)


class BoundedInteger(IntegerConverter):
    """`<int:…>` in routes: 0 … MAX_ID; anything larger is no such thing (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def int_arg(name: str, default: int | None, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """The query argument `name` as a whole number in [minimum, maximum]; BadInput otherwise."""
    text = request.args.get(name)
    if text is None or text == "":
        return default
    value = int(text) if re.fullmatch(r"-?[0-9]{1,20}", text) else None  # no '+', '_', spaces or other digits
    if value is None or not minimum <= value <= maximum:
        raise BadInput(f"'{name}' must be a whole number from {minimum} to {maximum}")
    return value


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text (a NUL or a lone surrogate), or None."""
    if "\x00" in value:
        return "text must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "text must be valid Unicode (no lone surrogates)"
    return None


def json_problem(value) -> str | None:
    """Why a parsed JSON value is refused (too deep, or text that cannot be stored), or None."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
            children = list(item.items()) if isinstance(item, dict) else [(None, v) for v in item]
            for key, child in children:
                if isinstance(key, str) and (problem := text_problem(key)):
                    return problem
                stack.append((child, depth + 1))
        elif isinstance(item, str) and (problem := text_problem(item)):
            return problem
    return None


def parse_json(text: str | bytes):
    """json.loads with the limits above; ValueError with a clear message otherwise."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    problem = json_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class LimitedJSONProvider(DefaultJSONProvider):
    """request.get_json() with the limits of parse_json (a refusal is a malformed body)."""

    def loads(self, s, **kwargs):
        return parse_json(s)


def _check_request_text() -> None:
    for where, values in (("query", request.args), ("form", request.form)):
        for key, value in values.items(multi=True):
            problem = text_problem(key) or text_problem(value)
            if problem:
                raise BadInput(f"{where} field '{key}': {problem}")
    for key, value in (request.view_args or {}).items():
        if isinstance(value, str) and (problem := text_problem(value)):
            raise BadInput(f"'{key}': {problem}")


def init_app(app) -> None:
    """Install the limits; call before the blueprints are registered (routes bind the converter)."""
    app.url_map.converters["int"] = BoundedInteger
    app.json = LimitedJSONProvider(app)
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = int(os.environ.get("PLANFLOW_MAX_REQUEST_BYTES",
                                                              DEFAULT_MAX_REQUEST_BYTES))
    app.before_request(_check_request_text)
