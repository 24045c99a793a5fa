"""Task rows written straight into the tables, each with a case, as the engine leaves them.

For list tests that need many tasks, ties on the due time or escalations at will: walking that
many cases through the engine would take minutes and could not place rows this precisely.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select

from engine.models import NO_DEADLINE, Case, CaseStatus, PlanVersion, Task, TaskStatus


def insert_tasks(session, now: datetime, rows: list[dict]) -> list[int]:
    """One case and one task per entry of `rows` (Task columns: role, due_sort, status, assignee…); their ids."""
    version_id = session.execute(select(func.min(PlanVersion.id))).scalar_one()
    serial = session.execute(select(func.count()).select_from(Case)).scalar_one()
    case_ids = session.execute(insert(Case).returning(Case.id, sort_by_parameter_order=True), [{
        "number": f"TR-{serial + i:07d}", "plan_version_id": version_id, "status": CaseStatus.RUNNING,
        "started_by": "intake1", "started_at": now, "workflow_state": {}, "serializer_version": "1.5",
        "library_version": "3.2.0", "revision": 1, "grade": "general", "complainant": "王女士",
        "contact": "13800000000"} for i in range(len(rows))]).scalars().all()
    due = [row.get("due_sort", NO_DEADLINE) for row in rows]
    return session.execute(insert(Task).returning(Task.id, sort_by_parameter_order=True), [{
        "case_id": case_id, "spiff_task_id": f"00000000-0000-0000-0000-{case_id:012d}",
        "element_id": "Task_Listed", "name": "核实与协商", "name_en": "Verify and negotiate", "form_key": None,
        "status": TaskStatus.OPEN, "created_at": now, "due_provisional": False,
        "due_at": None if when == NO_DEADLINE else when, **row, "due_sort": when}
        for case_id, row, when in zip(case_ids, rows, due)]).scalars().all()
