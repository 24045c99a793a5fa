"""Language: zh-CN by default, English per user; plan and form labels in both.

UI text is marked with gettext (English msgids, Chinese in translations/zh_CN).
Plan and form text comes from the plans themselves: a task's English name is the
`en: …` line of its BPMN documentation, a form field's English label is its
`properties.label_en` (the form's translation table), the title `properties.title_en`.
"""
from __future__ import annotations

import copy
from datetime import datetime, timedelta

from flask import request
from flask_babel import Babel, get_locale, ngettext, pgettext
from flask_babel import gettext as _
from flask_babel import gettext as translate
from flask_login import current_user

from engine.calendar.local_time import due_time, local_time  # the filters of the same names
from engine.calendar.working_days import WorkingCalendar
from engine.people.roles import ROLES

babel = Babel()


def select_locale() -> str:
    """The user's language; before login, the one chosen on the login page, else the browser's."""
    if current_user and current_user.is_authenticated:
        return current_user.locale
    chosen = request.cookies.get("planflow_locale")
    if chosen in ("zh_CN", "en"):
        return chosen
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"]) or "zh_CN"
    return "zh_CN" if best.startswith("zh") else best


def english() -> bool:
    return str(get_locale()).startswith("en")


def task_name(task) -> str:
    return (task.name_en or task.name) if english() else task.name


def role_name(key: str) -> str:
    role = ROLES.get(key)
    if role is None:
        return key
    return role.name_en if english() else role.name_zh


def localized_form(schema: dict) -> dict:
    """The form schema with labels in the user's language (form-js renders `label`)."""
    if not english():
        return schema
    schema = copy.deepcopy(schema)

    def translate(components):
        for component in components:
            properties = component.get("properties") or {}
            if properties.get("label_en"):
                component["label"] = properties["label_en"]
            if component.get("description"):
                # A hint the plan gives in Chinese only is left out rather than shown untranslated.
                component["description"] = properties.get("description_en") or ""
            for option in component.get("values") or []:
                # Without the option's English, its value reads better in English than the Chinese label.
                option["label"] = option.get("label_en") or str(option.get("value", "")).replace("_", " ")
            translate(component.get("components") or [])
    translate(schema.get("components", []))
    return schema


def form_title(schema: dict, fallback: str) -> str:
    properties = schema.get("properties") or {}
    return (properties.get("title_en") if english() else properties.get("title_zh")) or fallback


def grade_label(grade: str | None) -> str:
    labels = {"general": _("general"), "major": _("major"), "urgent": _("urgent")}
    return labels.get(grade, grade or "")


def localized_errors(invalid, schema: dict) -> dict[str, str]:
    """Form errors in the user's language, each led by the field's label as the user sees it."""
    labels = {c.get("key"): c.get("label") for c in _components(schema.get("components", []))}
    messages = {}
    for key, message in invalid.errors.items():
        detail = invalid.details.get(key)
        if detail is None:
            messages[key] = message
            continue
        template = detail["template"]  # marked with N_ in engine/forms/validation.py, translated here
        text = translate(template, **detail["params"]) if detail["params"] else translate(template)
        label = labels.get(key) or detail["label"]
        messages[key] = f"{label}: {text}" if label else text
    return messages


def problem_message(problem) -> str:
    """A deploy problem in the user's language: the engine's English template through the catalogue.

    English pages, and problems without a template, read the engine's own English (as the CLI does).
    """
    if english() or not problem.template:
        return problem.message
    return translate(problem.template, **problem.params)


def problem_dict(problem) -> dict:
    """The problem as JSON for the editors, its message in the user's language (code and params kept)."""
    return {**problem.as_dict(), "message": problem_message(problem)}


def _components(components):
    for component in components:
        yield component
        yield from _components(component.get("components") or [])


def due_phrase(due: datetime | None, now: datetime, calendar: WorkingCalendar) -> str:
    """'in 2 working days', 'in 5 hours', 'overdue by 3 hours': how a person reads a deadline."""
    if due is None:
        return ""
    if due <= now:
        return _("overdue by %(span)s", span=_span(now - due))
    if due - now < timedelta(hours=24):
        return _("in %(span)s", span=_span(due - now))
    days = _working_days_until(now, due, calendar)
    return ngettext("in %(num)d working day", "in %(num)d working days", days)


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return ngettext("%(num)d minute", "%(num)d minutes", max(minutes, 1))
    hours = minutes // 60
    if hours < 48:
        return ngettext("%(num)d hour", "%(num)d hours", hours)
    return ngettext("%(num)d day", "%(num)d days", hours // 24)


def _working_days_until(now: datetime, due: datetime, calendar: WorkingCalendar) -> int:
    """Working days from tomorrow up to the day the deadline ends (the day it expires at 24:00)."""
    zone = calendar.zone
    day, last = now.astimezone(zone).date(), (due.astimezone(zone) - timedelta(microseconds=1)).date()
    count = 0
    while day < last:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return max(count, 1)


def form_widget_messages() -> list[tuple[str, str]]:
    """form-js writes its own messages in English and has no hook for them: (pattern, text) pairs that
    webapp/static/planflow-form.js puts in their place on Chinese pages ($1 is the pattern's group)."""
    if english():
        return []
    return [
        (r"^Field is required\.$", _("This field is required.")),
        (r"^Field must have minimum value of (.+)\.$", _("Must be at least $1.")),
        (r"^Field must have maximum value of (.+)\.$", _("Must be at most $1.")),
        (r"^Field must have minimum length of (.+)\.$", _("At least $1 characters.")),
        (r"^Field must have maximum length of (.+)\.$", _("At most $1 characters.")),
        (r"^Field must match pattern (.+)\.$", _("Not in the expected format.")),
        (r"^Field must be a valid email\.$", _("Enter a valid e-mail address.")),
        (r"^Field must be a valid +international phone number.*$", _("Enter a valid phone number.")),
        (r"^Value is not a number\.$", _("Enter a number.")),
        (r"^Value is expected to be an integer\.$", _("Enter a whole number.")),
        (r"^Value is expected to have at most (\d+) decimal digits?\.$", _("At most $1 decimal places.")),
        (r"^Select$", _("Select")), (r"^Search$", _("Search")), (r"^No results$", _("No results")),
        (r"^All values selected$", _("All values selected")), (r"^No files selected$", _("No files selected")),
        (r"^Browse$", _("Browse")),
        # The hover text of the bpmn.io logo (the logo and its link stay as form-js draws them).
        (r"^Powered by bpmn\.io$", pgettext("form-js", "Powered by bpmn.io")),
    ]


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(task_name=task_name, role_name=role_name, english=english, grade_label=grade_label,
                                 form_widget_messages=form_widget_messages, problem_message=problem_message)
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["due_time"] = due_time
    app.jinja_env.filters["role_label"] = role_name
    # Imported here: readable reads the database (i18n itself does not), widget_words imports i18n.
    from webapp import readable, widget_words
    readable.init_app(app)
    app.jinja_env.globals.update(
        diagram_words=widget_words.diagram_words, decision_words=widget_words.decision_words,
        form_editor_words=widget_words.form_editor_words, date_picker_words=widget_words.date_picker_words,
        viewer_words=widget_words.viewer_words)
