"""The API's JSON Schema of a form says what the server accepts: an optional field may be null."""
from __future__ import annotations

import json

from engine.forms.schema import form_schema
from engine.forms.validation import input_components, validate_submission
from tests.support import PLANS_ROOT

FORMS = sorted((PLANS_ROOT / "forms").glob("*.form"))


def test_every_optional_field_is_nullable_and_every_required_one_is_not():
    checked = 0
    for path in FORMS:
        form = json.loads(path.read_text(encoding="utf-8"))
        properties = form_schema(form)["properties"]
        for component in input_components(form):
            schema = properties.get(component["key"], {})
            if "type" not in schema and "enum" not in schema:
                continue   # a conditional field or a file: described, not typed here
            required = bool((component.get("validate") or {}).get("required"))
            assert schema.get("nullable", False) is not required, (path.name, component["key"])
            checked += 1
    assert checked > 100


def test_the_server_reads_null_for_an_optional_field_as_left_empty():
    form = json.loads((PLANS_ROOT / "forms" / "rc_register.form").read_text(encoding="utf-8"))
    product = next(c for c in input_components(form) if c["key"] == "product")
    assert not (product.get("validate") or {}).get("required")
    assert form_schema(form)["properties"]["product"]["nullable"] is True
    minimal = {c["key"]: _value(c) for c in input_components(form) if (c.get("validate") or {}).get("required")}
    assert "product" not in validate_submission(form, {**minimal, "product": None})


def _value(component):
    options = [o["value"] for o in component.get("values") or []]
    kind = component.get("type")
    if options:
        return [options[0]] if kind == "checklist" else options[0]
    if kind == "number":
        return (component.get("validate") or {}).get("min", 1) or 1
    if kind == "datetime":
        return "2026-03-02" if component.get("subtype") == "date" else "2026-03-02T09:00:00+08:00"
    if kind == "checkbox":
        return True
    rules = component.get("validate") or {}
    return "13800000000" if rules.get("pattern") else "x" * max(int(rules.get("minLength", 1)), 1)
