"""A form-js form as the JSON Schema of the data it accepts, for the API's OpenAPI document.

It states what engine/forms/validation.py checks, so a client (or a fuzzer) that follows it sends data
the server accepts, and only such data: required fields, null for an optional field (read as empty), text lengths and patterns, number ranges, options,
no undeclared fields. Text of a required field needs a non-blank character (blank counts
as empty). A field with a condition (`conditional.hide`) is checked only while shown: the
plain conditions `=other != "value"` and `=other = "value"` become an anyOf; any other
condition leaves the field's value unconstrained here (the server still checks it).
"""
from __future__ import annotations

import json
import re

from engine.forms.validation import input_components

_SIMPLE_CONDITION = re.compile(r'^\s*=?\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|=)\s*("(?:[^"\\]|\\.)*")\s*$')

# Python's \s (what the server matches with) spelled out: JavaScript's \s, which JSON Schema
# tools follow, leaves out \x1c-\x1f and \x85, so a pattern would let them through.
PY_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = f"[^{PY_SPACE}]"


def _python_pattern(pattern: str) -> str:
    """`pattern` with each \\s written out as the server's regular expressions read it."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            pair = pattern[i:i + 2]
            if pair == r"\s":
                out.append(PY_SPACE if in_class else f"[{PY_SPACE}]")
            elif pair == r"\S" and not in_class:
                out.append(NOT_BLANK)
            else:
                out.append(pair)
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


def _text(rules: dict, required: bool) -> dict:
    schema: dict = {"type": "string"}
    if "minLength" in rules:
        schema["minLength"] = rules["minLength"]
    if "maxLength" in rules:
        schema["maxLength"] = rules["maxLength"]
    patterns = (([f"^(?:{_python_pattern(rules['pattern'])})$"] if rules.get("pattern") else [])
                + ([NOT_BLANK] if required else []))
    if len(patterns) == 1:
        schema["pattern"] = patterns[0]
    elif patterns:
        schema["allOf"] = [{"pattern": p} for p in patterns]
    return schema


def field_schema(component: dict) -> dict:
    """The JSON Schema of one field's value."""
    kind = component.get("type")
    rules = component.get("validate") or {}
    required = bool(rules.get("required"))
    options = [o["value"] for o in component.get("values", []) if isinstance(o, dict) and "value" in o]
    if kind == "number":
        schema = {"type": "number"}
        if "min" in rules:
            schema["minimum"] = rules["min"]
        if "max" in rules:
            schema["maximum"] = rules["max"]
    elif kind == "checkbox":
        schema = {"type": "boolean"}
    elif kind in ("select", "radio"):
        schema = {"enum": options}
    elif kind in ("checklist", "taglist"):
        schema = {"type": "array", "items": {"enum": options}, **({"minItems": 1} if required else {})}
    elif kind == "datetime":
        schema = {"type": "string", "format": "date" if component.get("subtype") == "date" else "date-time"}
    else:
        schema = _text(rules, required)
    if not required:
        # An optional field may be sent as null: the server reads it as left empty (OpenAPI 3.0 spelling).
        schema["nullable"] = True
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    label = component.get("label") or component.get("key")
    if component.get("properties", {}).get("label_en"):
        label = f"{label} / {component['properties']['label_en']}"
    return {**schema, "description": label}


def _required(component: dict) -> bool:
    return bool((component.get("validate") or {}).get("required"))


def _while_shown(component: dict) -> dict | None:
    """The field's rule as 'hidden, or else valid', for a plain condition; None for any other condition."""
    match = _SIMPLE_CONDITION.match(component["conditional"]["hide"])
    if not match:
        return None
    other, operator, literal = match.group(1), match.group(2), json.loads(match.group(3))
    key = component["key"]
    shown = {"properties": {key: field_schema(component)}, **({"required": [key]} if _required(component) else {})}
    if operator == "!=":  # hidden unless `other` is present and equal to the literal
        return {"anyOf": [{"not": {"required": [other]}}, {"properties": {other: {"not": {"enum": [literal]}}}},
                          {**shown, "properties": {**shown["properties"], other: {"enum": [literal]}}}]}
    return {"anyOf": [{"required": [other], "properties": {other: {"enum": [literal]}}},
                      {**shown, "properties": {**shown["properties"], other: {"not": {"enum": [literal]}}}}]}


def form_schema(form: dict) -> dict:
    """The JSON Schema of a submission of `form`: an object of its fields and nothing else."""
    # Files travel as multipart uploads on the web pages, never as JSON values: not part of this schema.
    fields = [c for c in input_components(form) if c.get("type") != "filepicker"]
    plain = [c for c in fields if not (c.get("conditional") or {}).get("hide")]
    conditional = [c for c in fields if c not in plain]
    properties = {c["key"]: field_schema(c) for c in plain}
    rules = []
    for component in conditional:
        properties[component["key"]] = {"description": field_schema(component)["description"] +
                                        f" (checked while shown; hidden when {component['conditional']['hide']})"}
        if (rule := _while_shown(component)) is not None:
            rules.append(rule)
    schema = {"type": "object", "additionalProperties": False, "properties": properties,
              "required": sorted(c["key"] for c in plain if _required(c))}
    if rules:
        schema["allOf"] = rules
    return schema
