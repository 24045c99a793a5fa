"""Who plays which role in a drill: a drill case's new task goes straight to the role's participant."""
from __future__ import annotations

from sqlalchemy.orm import Session

from engine.models import Case, Drill


def drill_assignee(session: Session, case: Case, role: str | None) -> str | None:
    """The participant playing `role` in the case's drill (None for a real case or a role nobody plays)."""
    if case.drill_id is None or not role:
        return None
    return (session.get(Drill, case.drill_id).participants or {}).get(role)
