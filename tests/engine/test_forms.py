"""Form validation: what a submission must satisfy, field by field."""
from __future__ import annotations

import pytest

from engine.errors import FormInvalid
from engine.forms.validation import validate_submission

FORM = {"components": [
    {"key": "name", "type": "textfield", "label": "姓名", "validate": {"required": True, "maxLength": 5}},
    {"key": "phone", "type": "textfield", "label": "电话", "validate": {"pattern": r"1\d{10}"}},
    {"key": "amount", "type": "number", "label": "金额", "validate": {"min": 0, "max": 1000}},
    {"key": "grade", "type": "select", "label": "等级", "validate": {"required": True},
     "values": [{"label": "一般", "value": "general"}, {"label": "重大", "value": "major"}]},
    {"key": "urgent", "type": "checkbox", "label": "紧急"},
    {"key": "note", "type": "textarea", "label": "备注", "defaultValue": ""},
    {"type": "text", "text": "Decoration without a value"},
]}


def errors_of(data) -> dict:
    with pytest.raises(FormInvalid) as info:
        validate_submission(FORM, data)
    return info.value.errors


def test_valid_submission_is_cleaned_and_coerced():
    cleaned = validate_submission(FORM, {"name": "张三", "phone": "13800000000", "amount": "12.5",
                                         "grade": "major", "urgent": "on"})
    assert cleaned == {"name": "张三", "phone": "13800000000", "amount": 12.5, "grade": "major",
                       "urgent": True, "note": ""}


def test_missing_required_fields_are_named():
    errors = errors_of({})
    assert set(errors) == {"name", "grade"}
    assert "required" in errors["name"]


@pytest.mark.parametrize("field, value, message", [
    ("amount", "abc", "must be a number"),
    ("amount", -1, "at least 0"),
    ("amount", 1001, "at most 1000"),
    ("amount", True, "must be a number"),
    ("amount", float("nan"), "finite"),
    ("phone", "12345", "wrong format"),
    ("grade", "urgent", "not one of the options"),
    ("name", "abcdef", "at most 5 characters"),
    ("name", 42, "must be text"),
    ("urgent", "maybe", "checked or unchecked"),
])
def test_each_rule_rejects_with_a_message_next_to_its_field(field, value, message):
    data = {"name": "张三", "grade": "general", field: value}
    errors = errors_of(data)
    assert list(errors) == [field]
    assert message in errors[field]


def test_fields_the_form_does_not_declare_are_refused():
    errors = errors_of({"name": "张三", "grade": "general", "is_admin": True})
    assert errors == {"is_admin": "this form has no such field"}


def test_a_submission_that_is_not_an_object_is_refused():
    with pytest.raises(FormInvalid):
        validate_submission(FORM, ["name"])
