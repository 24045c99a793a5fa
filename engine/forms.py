"""Forms (bpmn.io form-js JSON) and validation of submitted data against them.

The browser renders the same schema with form-js, but the server is the judge:
every submission is checked here, and invalid data changes nothing.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

from engine.errors import FormInvalid

# form-js component types that carry a value under their `key`.
INPUT_TYPES = {"textfield", "textarea", "number", "select", "radio", "checkbox", "checklist",
               "taglist", "datetime", "expression", "hidden"}


def load_form_file(path: Path) -> dict:
    """Read a `.form` file; raise ValueError with the file name if it is not a form."""
    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{Path(path).name}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    problems = schema_problems(schema)
    if problems:
        raise ValueError(f"{Path(path).name}: " + "; ".join(problems))
    return schema


def schema_problems(schema) -> list[str]:
    """What makes this not a usable form-js schema (empty list when fine)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("components"), list):
        return ["a form needs a 'components' list"]
    problems = []
    seen = set()
    for component in input_components(schema):
        key = component.get("key")
        if not isinstance(key, str) or not key:
            problems.append(f"component {component.get('id', '?')} has no key")
        elif key in seen:
            problems.append(f"field '{key}' appears twice")
        seen.add(key)
        if component.get("type") in ("select", "radio", "checklist", "taglist") and not component.get("values"):
            problems.append(f"field '{key}' has no options ('values')")
    return problems


def input_components(schema: dict) -> list[dict]:
    """Every component that carries a value, including those nested in groups."""
    found = []
    for component in schema.get("components", []):
        if component.get("components"):
            found.extend(input_components(component))
        if component.get("type") in INPUT_TYPES and component.get("key"):
            found.append(component)
    return found


def field_keys(schema: dict) -> set[str]:
    return {c["key"] for c in input_components(schema)}


def validate_submission(schema: dict, data: dict) -> dict:
    """Return the cleaned values of the form's fields, or raise FormInvalid with per-field messages.

    Only keys the form declares are kept: a submission cannot write arbitrary case data.
    """
    if not isinstance(data, dict):
        raise FormInvalid({"_form": "the submission must be an object of field values"})
    errors: dict[str, str] = {}
    cleaned: dict = {}
    known = field_keys(schema)
    for unknown in sorted(set(data) - known):
        errors[unknown] = "this form has no such field"
    for component in input_components(schema):
        key = component["key"]
        label = component.get("label") or key
        try:
            value = _clean(component, data.get(key))
        except ValueError as exc:
            errors[key] = f"{label}: {exc}"
            continue
        if value is not None:
            cleaned[key] = value
        elif component.get("validate", {}).get("required"):
            errors[key] = f"{label}: this field is required"
        elif "defaultValue" in component:
            cleaned[key] = component["defaultValue"]
    if errors:
        raise FormInvalid(errors)
    return cleaned


def _clean(component: dict, value):
    """Coerce one submitted value to the component's type and check its rules; None means empty."""
    kind = component.get("type")
    rules = component.get("validate", {}) or {}
    if value is None or (isinstance(value, str) and value.strip() == "" and kind != "checkbox"):
        return None
    if kind == "number":
        number = _number(value)
        if "min" in rules and number < rules["min"]:
            raise ValueError(f"must be at least {rules['min']}")
        if "max" in rules and number > rules["max"]:
            raise ValueError(f"must be at most {rules['max']}")
        return number
    if kind == "checkbox":
        if isinstance(value, bool):
            return value
        if value in ("true", "on", "1", 1):
            return True
        if value in ("false", "off", "0", 0, ""):
            return False
        raise ValueError("must be checked or unchecked")
    if kind in ("select", "radio"):
        allowed = [option["value"] for option in component.get("values", [])]
        if value not in allowed:
            raise ValueError(f"'{value}' is not one of the options ({', '.join(map(str, allowed))})")
        return value
    if kind in ("checklist", "taglist"):
        allowed = {option["value"] for option in component.get("values", [])}
        if not isinstance(value, list) or any(item not in allowed for item in value):
            raise ValueError("choose from the listed options")
        return None if not value else value
    if kind == "datetime":
        return _datetime_text(value, component)
    if not isinstance(value, str):
        raise ValueError("must be text")
    if "minLength" in rules and len(value) < rules["minLength"]:
        raise ValueError(f"must be at least {rules['minLength']} characters")
    if "maxLength" in rules and len(value) > rules["maxLength"]:
        raise ValueError(f"must be at most {rules['maxLength']} characters")
    if rules.get("pattern") and not re.fullmatch(rules["pattern"], value):
        raise ValueError(rules.get("patternMessage") or "has the wrong format")
    return value


def _number(value) -> int | float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if isinstance(value, (int, float)):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise ValueError("must be a number") from None
    else:
        raise ValueError("must be a number")
    if isinstance(number, float) and number != number or number in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return number


def _datetime_text(value, component: dict) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a date or time")
    subtype = component.get("subtype", "datetime")
    try:
        if subtype == "date":
            return date.fromisoformat(value).isoformat()
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError("must be a date (YYYY-MM-DD) or date-time in ISO format") from None
