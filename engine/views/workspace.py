"""What the people working a case see of it: the complaint, every step's answers, the history.

Read from the case's audit events (case_started carries the registration, task_completed
the submitted data) and labelled with the forms of the plan version the case runs on, in
the viewer's language. Identity is masked by role as everywhere (engine.people.privacy).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar.local_time import local_time
from engine.cases.use_cases import TASK_REASSIGNED
from engine.models import AuditEvent, Case, Task, User
from engine.people.privacy import may_see_contact, shown, shown_identity
from engine.records import audit
from engine.records.comments import COMMENT_ADDED

# Fields a person types or chooses; layout components (text, spacer, group …) carry no answer.
_LAYOUT = frozenset({"text", "spacer", "separator", "image", "html", "button", "group", "dynamiclist", "iframe",
                     "table"})


@dataclass(frozen=True)
class Answer:
    """One answered field: its key, its label and its value as the viewer reads them."""

    key: str
    label: str
    text: str
    # True/False for checkboxes (the page words them), else None.
    flag: bool | None = None
    long: bool = False


@dataclass(frozen=True)
class Step:
    """A completed task with who did it and what they answered."""

    task_id: int | None
    name: str
    role: str
    actor: str
    at: datetime
    answers: tuple[Answer, ...]
    due_at: datetime | None = None

    @property
    def late(self) -> bool:
        return self.due_at is not None and self.at > self.due_at


@dataclass(frozen=True)
class Happening:
    """One history entry; the page words it by `kind` (see webapp/workspace.py)."""

    kind: str
    at: datetime
    actor: str
    task: str = ""
    role: str = ""
    subject: str = ""
    text: str = ""
    answers: tuple[Answer, ...] = ()


@dataclass
class Workspace:
    number: str
    complainant: str | None
    contact: str | None
    registration: tuple[Answer, ...]
    steps: list[Step] = field(default_factory=list)
    history: list[Happening] = field(default_factory=list)
    comments: list[Happening] = field(default_factory=list)


def case_workspace(session: Session, case: Case, viewer: User, english: bool) -> Workspace:
    """The case as its workers read it, labelled in English when `english`, identity masked by role."""
    visible = may_see_contact(viewer)
    complainant, contact = shown_identity(case, visible)
    forms = case.plan_version.forms
    tasks = {t.id: t for t in session.execute(select(Task).where(Task.case_id == case.id)).scalars()}
    events = list(session.execute(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                  .order_by(AuditEvent.seq)).scalars())
    space = Workspace(case.number, complainant, contact, ())
    for event in events:
        payload = event.payload or {}
        task = tasks.get(payload.get("task_id"))
        name = _task_name(task, english) if task else (payload.get("name") or event.element_id or "")
        role = task.role if task else payload.get("role", "")
        if event.kind == audit.EventKind.CASE_STARTED:
            start_form = forms.get(case.plan_version.start_form_key or "", {})
            space.registration = answers(start_form, payload.get("data") or {}, visible, english)
            space.history.append(Happening(event.kind, event.occurred_at, event.actor, subject=complainant or ""))
        elif event.kind == audit.EventKind.TASK_COMPLETED:
            form = forms.get(task.form_key or "", {}) if task else {}
            given = answers(form, payload.get("data") or {}, visible, english)
            space.steps.append(Step(payload.get("task_id"), name, role, event.actor, event.occurred_at, given,
                                    task.due_at if task else None))
            space.history.append(Happening(event.kind, event.occurred_at, event.actor, name, role, answers=given))
        elif event.kind == COMMENT_ADDED:
            comment = Happening(event.kind, event.occurred_at, event.actor, text=str(payload.get("text", "")))
            space.comments.append(comment)
            space.history.append(comment)
        elif event.kind == audit.EventKind.ESCALATED:
            missed = _first_task(tasks, payload.get("missed_task"))
            to = [tasks.get(t.get("task_id")) for t in payload.get("to") or []]
            space.history.append(Happening(
                event.kind, event.occurred_at, event.actor, _task_name(missed, english) if missed else
                payload.get("missed_task", ""), payload.get("missed_role", ""),
                text=", ".join(_task_name(t, english) for t in to if t)))
        elif event.kind == TASK_REASSIGNED:
            space.history.append(Happening(event.kind, event.occurred_at, event.actor, name, role,
                                           subject=str(payload.get("to", "")), text=str(payload.get("reason", ""))))
        elif event.kind in _WORDED:
            space.history.append(Happening(event.kind, event.occurred_at, event.actor, name, role,
                                           text=str(payload.get("incident") or payload.get("message") or "")))
    return space


# Events the page words; the rest (timer bookkeeping, deadline flags) stay in the compliance timeline.
_WORDED = frozenset({audit.EventKind.TASK_READY, audit.EventKind.TASK_CLAIMED, audit.EventKind.TASK_RELEASED,
                     audit.EventKind.TASK_CANCELLED, audit.EventKind.CASE_COMPLETED, audit.EventKind.INCIDENT,
                     audit.EventKind.MESSAGE_RECEIVED, audit.EventKind.CASE_MIGRATED, audit.EventKind.CASE_RETRIED})


def _first_task(tasks: dict[int, Task], element_id: str | None) -> Task | None:
    return next((t for t in sorted(tasks.values(), key=lambda t: -t.id) if t.element_id == element_id), None)


def _task_name(task: Task, english: bool) -> str:
    return (task.name_en or task.name) if english else task.name


def answers(form: dict, data: dict, visible: bool, english: bool) -> tuple[Answer, ...]:
    """The submitted values in the form's order, each under its label, options by their labels."""
    found = []
    seen = set()
    for component in form_fields(form.get("components") or []):
        key = component.get("key")
        if not key or key not in data or key in seen:
            continue
        seen.add(key)
        found.append(_answer(component, data[key], visible, english))
    for key in data:  # data the form no longer declares still shows, under its key
        if key not in seen and data[key] not in (None, "", [], {}):
            found.append(Answer(key, key, _plain(shown(key, data[key], visible))))
    return tuple(a for a in found if a.text != "" or a.flag is not None)


def form_fields(components: list[dict]):
    """Every component that holds an answer, nested ones included."""
    for component in components:
        if component.get("type") not in _LAYOUT and component.get("key"):
            yield component
        yield from form_fields(component.get("components") or [])


def field_label(component: dict, english: bool) -> str:
    """The component's label in the viewer's language (Chinese when the form has no English)."""
    label = component.get("label") or component.get("key") or ""
    return ((component.get("properties") or {}).get("label_en") or label) if english else label


def option_label(component: dict, value, english: bool) -> str:
    for option in component.get("values") or []:
        if option.get("value") == value:
            # A plan without the option's English shows its value ("product_quality" → "product quality").
            return (option.get("label_en") or str(value).replace("_", " ")) if english else \
                (option.get("label") or str(value))
    return _plain(value)


def _answer(component: dict, value, visible: bool, english: bool) -> Answer:
    key, kind = component["key"], component.get("type")
    label = field_label(component, english)
    if kind == "checkbox" and isinstance(value, bool):
        return Answer(key, label, "", flag=value)
    if kind in ("select", "radio") and component.get("values"):
        return Answer(key, label, option_label(component, value, english))
    if kind in ("checklist", "taglist") and isinstance(value, list):
        return Answer(key, label, ", ".join(option_label(component, v, english) for v in value))
    if kind == "datetime" and isinstance(value, str) and "T" in value:
        try:
            return Answer(key, label, local_time(value))
        except ValueError:
            pass
    return Answer(key, label, _plain(shown(key, value, visible)), long=kind == "textarea")


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("filename") or ", ".join(f"{k}: {_plain(v)}"
                                                                           for k, v in value.items()))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
