"""Injects: scenario events delivered to a drill's cases at a simulated time.

An inject is data merged into the case ("媒体开始报道": `{"media_attention": true}`) or a
message (`messages.deliver_message`, correlated on the drill case's own number, so it can
reach no other case). The timer worker's sweep delivers them when the drill's clock reaches
their time (`sweep`); a controller's step delivers them on its way (`deliver_due`).
"""
from __future__ import annotations

import logging
from datetime import datetime

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.calendar.clock import as_utc
from engine.cases import messages, runtime
from engine.cases.use_cases import flush_case, lock_case
from engine.cases.waiting import all_tasks
from engine.db import transaction
from engine.drills import clock
from engine.errors import PlanFlowError
from engine.models import Case, CaseStatus, Drill, DrillInject, DrillStatus
from engine.people.roles import LANE_ROLES
from engine.people.users import get_user
from engine.plans.versions import spec_cache
from engine.records import audit

log = logging.getLogger(__name__)
INJECT_KIND = "drill_inject_received"


def _when(drill: Drill, at) -> datetime:
    """An inject's simulated time: an ISO date-time, or an ISO duration after the drill's simulated start."""
    text = str(at or "").strip()
    if text.startswith("P"):
        return drill.sim_started_at + clock.duration(text)
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise PlanFlowError(f"inject time '{text}' is neither an ISO date-time with offset nor a duration "
                            "after the drill's start (e.g. PT26H)") from None


def schedule(session: Session, drill: Drill, item: dict, username: str, now: datetime) -> DrillInject:
    """Plan an inject: {"at": time or duration, "title": text, "message": name (optional), "data": {...}}."""
    if not isinstance(item, dict):
        raise PlanFlowError('an inject is a JSON object: {"at": "PT26H", "title": "…", "data": {…}}')
    if drill.status == DrillStatus.ENDED:
        raise PlanFlowError(f"drill {drill.id} has ended")
    data = item.get("data") or {}
    if not isinstance(data, dict):
        raise PlanFlowError("an inject's data must be a JSON object")
    message = str(item.get("message") or "").strip() or None
    if message is None and not data:
        raise PlanFlowError("an inject needs data to merge into the case, or a message name")
    sim_at = _when(drill, item.get("at")) if item.get("at") else clock.sim_now(drill, now)
    inject = DrillInject(drill_id=drill.id, title=str(item.get("title") or message or "inject")[:200], sim_at=sim_at,
                         fire_at=clock.real_at(drill, sim_at), message=message, data=data, status="waiting")
    session.add(inject)
    session.flush()
    return inject


def send(session: Session, drill: Drill, item: dict, username: str, now: datetime) -> DrillInject:
    """A controller's inject: delivered at once, or scheduled when it names a later simulated time."""
    inject = schedule(session, drill, item, username, now)
    if not item.get("at") or inject.sim_at <= clock.sim_now(drill, now):
        deliver(session, drill, inject, now)
    return inject


def _sender(session: Session, drill: Drill) -> str:
    """Who a message inject is sent as: the controller if they work cases, else a participant."""
    if get_user(session, drill.started_by).role_keys & LANE_ROLES:
        return drill.started_by
    for username in (drill.participants or {}).values():
        return username
    raise PlanFlowError("a message inject needs the controller or a participant to hold a role that works cases")


def deliver(session: Session, drill: Drill, inject: DrillInject, now: datetime) -> None:
    """Deliver one inject to each running case of its drill; a case that cannot take it is noted on the inject."""
    cases = session.execute(select(Case).where(Case.drill_id == drill.id, Case.status == CaseStatus.RUNNING)
                            .order_by(Case.id)).scalars().all()
    problems = []
    for case in cases:
        try:
            with session.begin_nested():
                if inject.message:
                    messages.deliver_message(session, inject.message, {"case": case.number}, inject.data,
                                             _sender(session, drill), now)
                else:
                    _merge(session, case, inject, now)
        except PlanFlowError as exc:
            problems.append(f"{case.number}: {exc}")
    inject.status = "failed" if problems and len(problems) == len(cases) else "sent"
    inject.sent_at, inject.error = as_utc(now), "; ".join(problems) or None
    from engine.drills.lifecycle import DrillKind, record
    record(session, drill, DrillKind.INJECT, "drill-inject", now,
           {"inject_id": inject.id, "title": inject.title, "message": inject.message, "data": inject.data,
            "sim_at": inject.sim_at.isoformat(), "cases": [c.number for c in cases], "problems": problems})


def _merge(session: Session, case: Case, inject: DrillInject, now: datetime) -> None:
    case = lock_case(session, case.id)

    def merge(workflow):
        audit.record(session, INJECT_KIND, "drill-inject", now, case=case,
                     payload={"inject_id": inject.id, "title": inject.title, "data": inject.data})
        for task in all_tasks(workflow):
            if task.state in (TaskState.READY, TaskState.WAITING):
                task.data.update(inject.data)
        workflow.data.update(inject.data)

    runtime.advance(session, case, spec_cache.get(case.plan_version), now, "drill-inject", merge)
    flush_case(session, case)


def deliver_due(session: Session, drill: Drill, now: datetime) -> int:
    """Deliver the drill's injects whose real fire time has come; return how many."""
    due = session.execute(select(DrillInject).where(
        DrillInject.drill_id == drill.id, DrillInject.status == "waiting", DrillInject.fire_at <= now)
        .order_by(DrillInject.sim_at, DrillInject.id)).scalars().all()
    for inject in due:
        deliver(session, drill, inject, now)
    return len(due)


def sweep(session_factory: sessionmaker, now: datetime) -> int:
    """The worker's part: deliver every inject due by `now`, each drill in its own transaction."""
    with transaction(session_factory, readonly=True) as session:
        drill_ids = session.execute(select(DrillInject.drill_id).where(
            DrillInject.status == "waiting", DrillInject.fire_at <= now).distinct()).scalars().all()
    delivered = 0
    for drill_id in drill_ids:
        try:
            with transaction(session_factory) as session:
                drill = session.execute(select(Drill).where(Drill.id == drill_id).with_for_update()).scalar_one()
                if drill.status != DrillStatus.ENDED:
                    delivered += deliver_due(session, drill, now)
        except Exception as exc:  # noqa: BLE001 — one drill's failure never stops the sweep
            log.warning("injects of drill %s failed: %s", drill_id, exc)
    return delivered
