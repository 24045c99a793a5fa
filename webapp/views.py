"""What pages show of tasks and cases: rows for templates, labels in the user's language."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import object_session

from engine.calendar.working_days import WorkingCalendar
from engine.config import Settings
from engine.drills import clock as drill_clock
from engine.models import Task, User
from engine.people.privacy import may_see_contact, shown_identity
from engine.views.inbox import due_soon
from webapp.i18n import due_phrase, role_name, task_name
from webapp.readable import labels


def task_row(task: Task, viewer: User, now: datetime, calendar: WorkingCalendar) -> dict:
    """One inbox row: what a person needs to pick the next task."""
    case = task.case
    now = drill_clock.reading(object_session(task), case, now)  # a drill task's deadline is on the drill's clock
    complainant, contact = shown_identity(case, may_see_contact(viewer))
    return {
        "id": task.id, "case": case.number, "plan": case.plan_version.plan_key, "plan_name": labels(case.plan_version.plan_key, case.plan_version.version).plan(),
        "name": task_name(task), "role": task.role, "role_name": role_name(task.role), "grade": case.grade,
        "complainant": complainant, "contact": contact,
        "assignee": task.assignee, "status": task.status.value,
        "created_at": task.created_at, "due_at": task.due_at, "due_provisional": task.due_provisional,
        "due_phrase": due_phrase(task.due_at, now, calendar) if task.status.value == "open" else "",
        "overdue": task.status.value == "open" and task.due_at is not None and task.due_at <= now,
        "due_soon": due_soon(task, now, Settings.from_env().due_soon_share),
        "escalated": task.escalated_from is not None,
        "completed_by": task.completed_by, "completed_at": task.completed_at,
        "drill": case.drill_id is not None,
    }
