"""Comments on a case: who, when, what; kept as audit events, so they are as tamper-evident as the case."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.cases import use_cases as cases
from engine.errors import PermissionDenied, PlanFlowError
from engine.people import users
from engine.records import audit

COMMENT_ADDED = "comment_added"
MAX_COMMENT_CHARS = 4000


def add_comment(session: Session, number: str, username: str, text: str, now: datetime) -> None:
    """Add a comment to a case for everyone working it; only people working the case may comment."""
    text = (text or "").strip()
    if not text:
        raise PlanFlowError("a comment needs some text")
    if len(text) > MAX_COMMENT_CHARS:
        raise PlanFlowError(f"a comment is at most {MAX_COMMENT_CHARS} characters ({len(text)} given)")
    case = cases.get_case(session, number)
    user = users.get_user(session, username)
    if not cases.works_on_case(user, case, cases.case_tasks(session, case.id)):
        raise PermissionDenied(f"user '{username}' does not work on case {number}")
    audit.record(session, COMMENT_ADDED, username, now, case=case, payload={"text": text})
