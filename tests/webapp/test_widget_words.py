"""The editors' dictionaries: every English template they list has its Chinese; English pages get none."""
from __future__ import annotations

import re

import pytest

from webapp import widget_words

CJK = re.compile(r"[\u3400-\u9fff]")
EDITORS = [(widget_words.diagram_words, widget_words.BPMN_JS), (widget_words.decision_words, widget_words.DMN_JS),
           (widget_words.form_editor_words, widget_words.FORM_JS)]


@pytest.mark.parametrize("words, templates", EDITORS)
def test_each_editor_word_is_translated_with_its_placeholders(app, words, templates):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        chinese = words()
    untranslated = [t for t in templates if t not in chinese and CJK.search(t) is None and t.strip() not in
                    {"ID", "DMN", "<none>", "<empty>"}]
    assert not untranslated, untranslated
    for template, text in chinese.items():
        assert set(re.findall(r"{[^}]+}", text)) == set(re.findall(r"{[^}]+}", template)), (template, text)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert words() == {}


def test_the_date_picker_gets_the_pages_months_weekdays_and_placeholders(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        words = widget_words.date_picker_words()
    locale = words["locale"]
    names = [*locale["months"]["longhand"], *locale["months"]["shorthand"], *locale["weekdays"]["longhand"],
             *locale["weekdays"]["shorthand"], locale["monthAriaLabel"], locale["yearAriaLabel"],
             *words["datePlaceholder"].values(), *words["timePlaceholder"].values()]
    assert all(CJK.search(name) for name in names), names
    assert len(locale["months"]["longhand"]) == 12 and locale["weekdays"]["longhand"][0] == "星期日"  # flatpickr: Sunday
    assert locale["firstDayOfWeek"] == 1  # a Chinese calendar starts on Monday
    assert words["datePlaceholder"]["mm"] != words["timePlaceholder"]["mm"]  # month, minutes
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert widget_words.date_picker_words() == {}
