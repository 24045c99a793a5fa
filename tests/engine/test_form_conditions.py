"""Conditional form fields: the server hides, requires and drops a field exactly as form-js does."""
from __future__ import annotations

import pytest

from engine.errors import FormInvalid
from engine.forms import validation as forms
from engine.forms.conditions import ConditionError, evaluate

SCHEMA = {"components": [
    {"key": "malicious", "type": "radio", "label": "恶意", "validate": {"required": True},
     "values": [{"label": "是", "value": "yes"}, {"label": "否", "value": "no"}]},
    {"key": "malicious_type", "type": "select", "label": "类型", "validate": {"required": True},
     "values": [{"label": "诽谤", "value": "defamation"}], "conditional": {"hide": '=malicious != "yes"'}},
]}


@pytest.mark.parametrize("expression, data, expected", [
    ('=malicious != "yes"', {"malicious": "no"}, True),
    ('=malicious != "yes"', {"malicious": "yes"}, False),
    ('=first_response = "on_spot" or first_response = null', {}, True),
    ('=not(amount > 1000) and channel = "phone"', {"amount": 500, "channel": "phone"}, True),
    ('=(amount >= 1000)', {"amount": "1000"}, False),
    ("=done = true", {"done": True}, True),
])
def test_conditions_read_the_feel_subset_form_js_uses(expression, data, expected):
    assert evaluate(expression, data) is expected


@pytest.mark.parametrize("expression", ['=a + 1', '=a = ', '=a = "x" xor b', '=count(a) > 1'])
def test_conditions_outside_the_subset_are_refused(expression):
    with pytest.raises(ConditionError):
        evaluate(expression, {"a": 1})


def test_a_field_shown_by_its_condition_is_required():
    with pytest.raises(FormInvalid) as raised:
        forms.validate_submission(SCHEMA, {"malicious": "yes"})
    assert set(raised.value.errors) == {"malicious_type"}


def test_a_hidden_field_is_neither_required_nor_kept():
    assert forms.validate_submission(SCHEMA, {"malicious": "no"}) == {"malicious": "no"}
    assert forms.validate_submission(SCHEMA, {"malicious": "no", "malicious_type": "defamation"}) == {
        "malicious": "no"}


def test_a_form_with_an_unreadable_condition_is_not_a_usable_schema():
    broken = {"components": [{"key": "x", "type": "textfield", "conditional": {"hide": "=x ++ 1"}}]}
    [problem] = forms.schema_problems(broken)
    assert problem.startswith("field 'x': ") and "=x ++ 1" in problem
