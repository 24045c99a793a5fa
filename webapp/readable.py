"""Records in words: plan, element, field and option labels and event names for templates, in the user's language."""
from __future__ import annotations

import re

from flask import g
from flask_babel import gettext as _
from sqlalchemy import select

from engine.calendar.local_time import local_time
from engine.models import PlanVersion
from engine.plans import versions as plans
from engine.plans.labels import PlanLabels, labels_for
from webapp.db import reading
from webapp.i18n import english, grade_label

_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


class Labels:
    """One plan version's labels bound to the user's language (the `labels(plan, version)` template global)."""

    def __init__(self, found: PlanLabels | None, plan_key: str):
        self._found, self._key, self._english = found, plan_key, english()

    def plan(self) -> str:
        return self._found.plan(self._english) if self._found else self._key

    def element(self, element_id: str | None) -> str:
        return self._found.element(element_id, self._english) if self._found else (element_id or "")

    def field(self, key: str) -> str:
        return self._found.field(key, self._english) if self._found else key

    def value(self, key: str, value):
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if isinstance(value, list) and value and all(isinstance(v, dict) and "sha256" in v for v in value):
            # A file field's uploads: their names and the start of their SHA-256, not the raw records.
            return ", ".join(f"{v.get('name')} ({str(v['sha256'])[:12]}…)" for v in value)
        if isinstance(value, str) and _ISO_MOMENT.match(value):
            try:
                return local_time(value)
            except ValueError:  # no offset: shown as written
                return value
        return self._found.value(key, value, self._english) if self._found else value


def labels(plan_key: str, number: int | None = None) -> Labels:
    """The labels of a plan version (the current one when `number` is None), cached for the request."""
    cache = g.setdefault("planflow_labels", {})
    if (plan_key, number) not in cache:
        with reading() as session:
            if number is None:
                version = plans.latest_version(session, plan_key)
            else:
                version = session.execute(select(PlanVersion).where(PlanVersion.plan_key == plan_key,
                                                                    PlanVersion.version == number)).scalar_one_or_none()
            cache[(plan_key, number)] = Labels(labels_for(version) if version else None, plan_key)
    return cache[(plan_key, number)]


def event_label(kind: str) -> str:
    """An audit event kind in words."""
    words = {
        "plan_deployed": _("plan deployed"), "case_started": _("complaint registered"),
        "task_ready": _("task ready"), "task_claimed": _("task claimed"), "task_released": _("task released"),
        "task_completed": _("task completed"), "task_cancelled": _("task closed by its deadline"),
        "timer_fired": _("deadline reached"), "timer_failed": _("deadline failed"), "escalated": _("escalated"),
        "deadline_provisional": _("deadline provisional"), "deadline_recomputed": _("deadline recomputed"),
        "incident": _("incident"), "case_migrated": _("moved to another plan version"),
        "case_completed": _("case closed"), "message_received": _("message received"),
        "case_retried": _("run again"), "comment_added": _("comment"), "task_reassigned": _("task reassigned"),
        "attachment_added": _("file attached"), "evidence_downloaded": _("evidence downloaded"),
    }
    return words.get(kind, kind)


def report_label(measure: str, key: str) -> str:
    """A monthly-report key in words: plan names, grades, categories and outcomes."""
    if measure == "by_plan":
        return labels(key).plan()
    if measure == "by_grade":
        return grade_label(key) if key != "-" else "—"
    if measure == "by_outcome":
        return {"running": _("running"), "completed": _("closed")}.get(key, key)
    if measure == "by_category":
        return category_label(key)
    return key


def category_label(value: str) -> str:
    """A registration category by its option label in a plan that offers it."""
    if not value or value == "-":
        return "—"
    if "planflow_plan_keys" not in g:
        with reading() as session:
            g.planflow_plan_keys = plans.plan_keys(session)
    for key in g.planflow_plan_keys:
        label = labels(key).value("category", value)
        if label != value:
            return label
    return value


def case_columns(case) -> dict[str, str]:
    """The CSV columns for people: plan, status, grade and category in words."""
    return {"plan_name": labels(case.plan_version.plan_key, case.plan_version.version).plan(),
            "status_label": {"running": _("running"), "completed": _("closed")}.get(case.status.value,
                                                                                     case.status.value),
            "grade_label": grade_label(case.grade) if case.grade else "",
            "category_label": category_label(case.category) if case.category else ""}


def init_app(app) -> None:
    app.jinja_env.globals.update(labels=labels, event_label=event_label, report_label=report_label,
                                 category_label=category_label)
