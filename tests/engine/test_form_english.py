"""Every form carries its own English (README "Language"): what an English page shows for it.

A field's English label is `properties.label_en`, an option's is its `label_en`, a hint's is
`properties.description_en`, the form title's `properties.title_en`. Without them an English page
falls back to the option's value or drops the hint (webapp/i18n.py), so each plan must supply them.
"""
from __future__ import annotations

import json

import pytest

from tests.support import PLANS_ROOT

FORMS = sorted((PLANS_ROOT / "forms").glob("*.form"))


def _components(components):
    for component in components or []:
        yield component
        yield from _components(component.get("components"))


def missing_english(schema: dict) -> list[str]:
    """What the form lacks in English, one entry per field (or option) and key."""
    missing = []
    if not (schema.get("properties") or {}).get("title_en"):
        missing.append("form: no properties.title_en")
    for component in _components(schema.get("components")):
        name = component.get("key") or component.get("id") or component.get("type")
        properties = component.get("properties") or {}
        if component.get("label") and not properties.get("label_en"):
            missing.append(f"{name}: no properties.label_en for {component['label']!r}")
        if component.get("description") and not properties.get("description_en"):
            missing.append(f"{name}: no properties.description_en for {component['description']!r}")
        for option in component.get("values") or []:
            if not option.get("label_en"):
                missing.append(f"{name}: option {option.get('value')!r} ({option.get('label')!r}) has no label_en")
    return missing


def test_there_are_forms():
    assert FORMS, f"no forms under {PLANS_ROOT / 'forms'}"


@pytest.mark.parametrize("path", FORMS, ids=[path.name for path in FORMS])
def test_form_has_english(path):
    missing = missing_english(json.loads(path.read_text(encoding="utf-8")))
    assert not missing, f"{path.name} lacks English:\n  " + "\n  ".join(missing)


def test_missing_english_is_reported():
    schema = {"components": [
        {"key": "grade", "type": "select", "label": "等级", "description": "提示",
         "values": [{"label": "一般", "value": "general"}]},
        {"type": "group", "label": "分组", "properties": {"label_en": "Group"},
         "components": [{"key": "note", "type": "textfield", "label": "备注"}]},
    ]}
    assert missing_english(schema) == [
        "form: no properties.title_en",
        "grade: no properties.label_en for '等级'",
        "grade: no properties.description_en for '提示'",
        "grade: option 'general' ('一般') has no label_en",
        "note: no properties.label_en for '备注'",
    ]
