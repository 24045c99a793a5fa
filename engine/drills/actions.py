"""The improvement plan of a drill: corrective actions with an owner and a due date, in the owner's inbox."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.drills.lifecycle import DrillKind, get_drill, record, require_controller
from engine.errors import Conflict, NotFound, PermissionDenied, PlanFlowError
from engine.models import DrillAction, PlanDraft
from engine.people.users import get_user


def add_action(session: Session, drill_id: int, action: str, owner: str, due_on: date, username: str,
               now: datetime, draft_id: int | None = None) -> DrillAction:
    """Add a corrective action to a drill's improvement plan; it shows in the owner's inbox until done."""
    require_controller(session, username)
    drill = get_drill(session, drill_id)
    get_user(session, owner)
    action = (action or "").strip()
    if not action:
        raise PlanFlowError("an improvement action needs a description")
    if not isinstance(due_on, date):
        raise PlanFlowError("an improvement action needs a due date (YYYY-MM-DD)")
    if draft_id is not None:
        draft = session.get(PlanDraft, draft_id)
        if draft is None or draft.plan_key != drill.plan_key:
            raise NotFound(f"no draft {draft_id} of plan '{drill.plan_key}'")
    item = DrillAction(drill_id=drill.id, action=action[:4000], owner=owner, due_on=due_on, draft_id=draft_id,
                       created_by=username, created_at=now)
    session.add(item)
    session.flush()
    record(session, drill, DrillKind.ACTION_ADDED, username, now,
           {"action_id": item.id, "action": item.action, "owner": owner, "due_on": due_on.isoformat(),
            "draft_id": draft_id})
    return item


def complete_action(session: Session, action_id: int, username: str, note: str, now: datetime) -> DrillAction:
    """The owner (or a controller) marks an improvement action done."""
    item = session.get(DrillAction, action_id)
    if item is None:
        raise NotFound(f"no improvement action {action_id}")
    user = get_user(session, username)
    if item.owner != username and not user.role_keys & {"process_owner", "office_director"}:
        raise PermissionDenied(f"improvement action {action_id} belongs to {item.owner}")
    if item.done_at is not None:
        raise Conflict(f"improvement action {action_id} was already done")
    item.done_at, item.done_note = now, (note or "").strip()[:2000] or None
    record(session, get_drill(session, item.drill_id), DrillKind.ACTION_DONE, username, now,
           {"action_id": item.id, "note": item.done_note})
    return item


def open_actions(session: Session, owner: str) -> list[DrillAction]:
    """A user's open improvement actions, soonest due first."""
    return list(session.execute(select(DrillAction).where(DrillAction.owner == owner, DrillAction.done_at.is_(None))
                                .order_by(DrillAction.due_on, DrillAction.id)).scalars())
