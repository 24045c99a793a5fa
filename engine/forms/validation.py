"""Forms (bpmn.io form-js JSON) and validation of submitted data against them.

The browser renders the same schema with form-js, but the server is the judge:
every submission is checked here, and invalid data changes nothing.
"""
from __future__ import annotations

import re
from datetime import date, datetime

from engine.errors import FormInvalid
from engine.forms import conditions as form_conditions


def N_(template: str) -> str:
    """Marks a message template for translation (the web layer translates; the engine stays English)."""
    return template


class FieldError(ValueError):
    """One field's problem: an English template and its parameters, so each interface can translate it."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params if params else template)


# form-js component types that carry a value under their `key`.
INPUT_TYPES = {"textfield", "textarea", "number", "select", "radio", "checkbox", "checklist",
               "taglist", "datetime", "expression", "hidden", "filepicker"}


def schema_problems(schema) -> list[str]:
    """What makes this not a usable form-js schema (empty list when fine)."""
    return [template % params for _code, template, params in schema_findings(schema)]


def schema_findings(schema) -> list[tuple[str, str, dict]]:
    """schema_problems as (code, English template, params), for interfaces that say them in another language."""
    if not isinstance(schema, dict) or not isinstance(schema.get("components"), list):
        return [("form.no_components", N_("a form needs a 'components' list"), {})]
    problems = []
    seen = set()
    for component in input_components(schema):
        key = component.get("key")
        if not isinstance(key, str) or not key:
            problems.append(("form.no_key", N_("component %(id)s has no key"), {"id": component.get("id", "?")}))
        elif key in seen:
            problems.append(("form.duplicate_key", N_("field '%(key)s' appears twice"), {"key": key}))
        seen.add(key)
        if component.get("type") in ("select", "radio", "checklist", "taglist") and not component.get("values"):
            problems.append(("form.no_options", N_("field '%(key)s' has no options ('values')"), {"key": key}))
        if condition := form_conditions.finding(component):
            problems.append(condition)
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
    problems: dict[str, tuple[str | None, FieldError]] = {}
    cleaned: dict = {}
    known = field_keys(schema)
    for unknown in sorted(set(data) - known):
        problems[unknown] = (None, FieldError(N_("this form has no such field")))
    for component in input_components(schema):
        key = component["key"]
        label = component.get("label") or key
        if form_conditions.is_hidden(component, data):
            continue  # hidden by its condition: the browser neither shows nor submits it
        try:
            value = _clean(component, data.get(key))
        except FieldError as exc:
            problems[key] = (label, exc)
            continue
        if value is not None:
            cleaned[key] = value
        elif component.get("validate", {}).get("required"):
            problems[key] = (label, FieldError(N_("this field is required")))
        elif "defaultValue" in component:
            cleaned[key] = component["defaultValue"]
    if problems:
        raise FormInvalid({key: f"{label}: {error}" if label else str(error)
                           for key, (label, error) in problems.items()},
                          {key: {"label": label, "template": error.template, "params": error.params}
                           for key, (label, error) in problems.items()})
    return cleaned


def _clean(component: dict, value):
    """Coerce one submitted value to the component's type and check its rules; None means empty."""
    kind = component.get("type")
    rules = component.get("validate", {}) or {}
    if kind == "filepicker":
        return _files(component, value, rules)
    if value is None or (isinstance(value, str) and value.strip() == "" and kind != "checkbox"):
        return None
    if kind == "number":
        number = _number(value)
        if "min" in rules and number < rules["min"]:
            raise FieldError(N_("must be at least %(min)s"), min=rules["min"])
        if "max" in rules and number > rules["max"]:
            raise FieldError(N_("must be at most %(max)s"), max=rules["max"])
        return number
    if kind == "checkbox":
        if isinstance(value, bool):
            return value
        if value in ("true", "on", "1", 1):
            return True
        if value in ("false", "off", "0", 0, ""):
            return False
        raise FieldError(N_("must be checked or unchecked"))
    if kind in ("select", "radio"):
        allowed = [option["value"] for option in component.get("values", [])]
        if value not in allowed:
            raise FieldError(N_("'%(value)s' is not one of the options (%(options)s)"), value=value,
                             options=", ".join(map(str, allowed)))
        return value
    if kind in ("checklist", "taglist"):
        allowed = {option["value"] for option in component.get("values", [])}
        if not isinstance(value, list) or any(item not in allowed for item in value):
            raise FieldError(N_("choose from the listed options"))
        return None if not value else value
    if kind == "datetime":
        return _datetime_text(value, component)
    if not isinstance(value, str):
        raise FieldError(N_("must be text"))
    if "minLength" in rules and len(value) < rules["minLength"]:
        raise FieldError(N_("must be at least %(num)s characters"), num=rules["minLength"])
    if "maxLength" in rules and len(value) > rules["maxLength"]:
        raise FieldError(N_("must be at most %(num)s characters"), num=rules["maxLength"])
    if rules.get("pattern") and not re.fullmatch(rules["pattern"], value):
        raise FieldError(rules.get("patternMessage") or N_("has the wrong format"))
    return value


def _files(component: dict, value, rules: dict) -> list[dict] | None:
    """A filepicker's checked uploads (engine/file_types.Upload) as descriptors, within the field's count.

    Only uploads count: JSON cannot carry one, so a submission cannot claim a file it did not
    send. `validate.minFiles` / `validate.maxFiles` bound the count ("at least one photo" is
    `required` or `minFiles: 1`); form-js ignores both, the server checks them.
    """
    files = [] if value is None or value == "" else value
    if not isinstance(files, list) or not all(callable(getattr(f, "descriptor", None)) for f in files):
        raise FieldError(N_("files must be uploaded with the form (multipart/form-data), not given as data"))
    least = max(int(rules.get("minFiles") or 0), 1 if rules.get("required") else 0)
    if len(files) < least:
        raise FieldError(N_("attach at least %(num)s file(s)"), num=least)
    if "maxFiles" in rules and len(files) > int(rules["maxFiles"]):
        raise FieldError(N_("attach at most %(num)s file(s)"), num=rules["maxFiles"])
    if len(files) > 1 and component.get("multiple") in (None, False, "false"):
        raise FieldError(N_("attach one file only"))
    return [f.descriptor() for f in files] or None


def _number(value) -> int | float:
    if isinstance(value, bool):
        raise FieldError(N_("must be a number"))
    if isinstance(value, (int, float)):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:  # int()/float() refusing the text
            raise FieldError(N_("must be a number")) from None
    else:
        raise FieldError(N_("must be a number"))
    if isinstance(number, float) and number != number or number in (float("inf"), float("-inf")):
        raise FieldError(N_("must be a finite number"))
    return number


def _datetime_text(value, component: dict) -> str:
    if not isinstance(value, str):
        raise FieldError(N_("must be a date or time"))
    subtype = component.get("subtype", "datetime")
    try:
        if subtype == "date":
            return date.fromisoformat(value).isoformat()
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise FieldError(N_("must be a date (YYYY-MM-DD) or date-time in ISO format")) from None
