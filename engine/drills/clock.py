"""A drill's simulated clock: the one place a drill case's time is mapped to and from real time.

A drill case runs on the real engine, but its "now" is the drill's simulated now, so its
deadlines (working days included) are simulated times. Everything that moves a case passes
`runtime.advance`, which asks `case_now`; the timer rows ask `real_fire_at` when the worker
should try them; audit events of a drill case are stamped by `stamp` (simulated time, plus
the real time and the drill in the payload). A real case passes through all three unchanged.

The clock is piecewise linear: simulated `sim_anchor` at real `real_anchor`, then `rate`
simulated seconds per real second while running (rate 0: it moves only when stepped).
Pausing, resuming and stepping move the anchor and re-map every waiting timer and inject
of the drill (`remap`), so the worker's real-time sweep fires them at the right moment.
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar.clock import as_utc, utcnow
from engine.errors import Conflict, PlanFlowError
from engine.models import (
    NO_DEADLINE,
    Case,
    Drill,
    DrillInject,
    DrillStatus,
    Timer,
    TimerStatus,
)

MICROSECOND = timedelta(microseconds=1)


class SimulatedTime(datetime):
    """An instant on a drill's simulated clock; `real` is the real instant it was read at.

    Being its own type makes `case_now` idempotent: a step path that asks twice (the use
    case, then `runtime.advance`) gets the same simulated instant, never a double mapping.
    """

    real: datetime | None = None


def simulated(moment: datetime, real: datetime) -> SimulatedTime:
    value = SimulatedTime(moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
                          moment.microsecond, tzinfo=moment.tzinfo)
    value.real = real
    return value


def parse_scale(text: str) -> float:
    """Simulated seconds per real second from 'SIM=REAL' ISO 8601 durations, e.g. 'P1D=PT2M' → 720."""
    match = re.fullmatch(r"\s*(P[0-9A-Z.]+)\s*=\s*(P[0-9A-Z.]+)\s*", text or "")
    if not match:
        raise PlanFlowError(f"scale '{text}' is not 'SIMULATED=REAL' in ISO 8601 durations, e.g. 'P1D=PT2M' "
                            "(one simulated day in two real minutes)")
    sim, real = (duration(part).total_seconds() for part in match.groups())
    if sim <= 0 or real <= 0:
        raise PlanFlowError(f"scale '{text}': both durations must be longer than zero")
    return sim / real


def duration(text: str) -> timedelta:
    """An ISO 8601 duration in days, hours, minutes and seconds (PT26H, P1D)."""
    try:
        parts = TimerEventDefinition.parse_iso_duration(text)
    except Exception:  # noqa: BLE001 — SpiffWorkflow raises assorted errors for bad text
        raise PlanFlowError(f"'{text}' is not an ISO 8601 duration (e.g. P1D, PT2M)") from None
    if parts.get("years") or parts.get("months"):
        raise PlanFlowError(f"'{text}': use days, hours, minutes or seconds (months and years vary in length)")
    return timedelta(**{k: v for k, v in parts.items() if v})


def sim_now(drill: Drill, real_now: datetime) -> datetime:
    """The drill's simulated time at a real instant (frozen while paused, stepped or ended)."""
    real_now = as_utc(real_now)
    if drill.status != DrillStatus.RUNNING or not drill.rate or real_now <= drill.real_anchor:
        return drill.sim_anchor
    return drill.sim_anchor + (real_now - drill.real_anchor) * drill.rate


def real_at(drill: Drill, sim: datetime) -> datetime:
    """The first real instant the drill's clock reads `sim` or later; far future when only a step will bring it."""
    if drill.status == DrillStatus.ENDED:
        return NO_DEADLINE
    if sim <= drill.sim_anchor:
        return drill.real_anchor
    if drill.status != DrillStatus.RUNNING or not drill.rate:
        return NO_DEADLINE
    # Rounded up (and one microsecond more), so the engine, asked at that real instant, finds the timer due.
    micros = math.ceil((sim - drill.sim_anchor) / MICROSECOND / drill.rate) + 1
    return drill.real_anchor + timedelta(microseconds=micros)


def drill_of(session: Session, case: Case) -> Drill:
    return session.get(Drill, case.drill_id)


def case_now(session: Session, case: Case, real_now: datetime) -> datetime:
    """The engine's now for a case: the real time, or for a drill case its drill's simulated now.

    An ended drill's cases are refused: nothing may change them any more.
    """
    if case.drill_id is None or isinstance(real_now, SimulatedTime):
        return real_now
    drill = drill_of(session, case)
    if drill.status == DrillStatus.ENDED:
        raise Conflict(f"{case.number} belongs to a drill that has ended; it cannot change any more")
    return simulated(sim_now(drill, real_now), as_utc(real_now))


def real_fire_at(session: Session, case: Case, simulated_due: datetime) -> datetime:
    """When the worker should fire a timer due at `simulated_due` (a real case: at that very time)."""
    if case.drill_id is None:
        return simulated_due
    return real_at(drill_of(session, case), simulated_due)


def stamp(session: Session, case: Case | None, now: datetime, payload: dict | None) -> tuple[datetime, dict | None]:
    """An audit event's time and payload: a drill case's event is at simulated time, marked with its drill
    and the real time it happened."""
    if case is None or case.drill_id is None:
        return now, payload
    sim = case_now(session, case, now)
    real = getattr(sim, "real", None) or utcnow()
    return sim, {**(payload or {}), "drill": {"id": case.drill_id, "real_at": as_utc(real).isoformat()}}


def reanchor(drill: Drill, real_now: datetime) -> None:
    """Fix the clock's reading at `real_now` as the new anchor (before its rate or status changes)."""
    drill.sim_anchor, drill.real_anchor = sim_now(drill, real_now), as_utc(real_now)


def remap(session: Session, drill: Drill) -> int:
    """Re-map the real fire times of the drill's waiting timers and injects after its clock changed."""
    timers = session.execute(select(Timer).join(Case, Case.id == Timer.case_id).where(
        Case.drill_id == drill.id, Timer.status == TimerStatus.WAITING)).scalars().all()
    for timer in timers:
        timer.fire_at = real_at(drill, timer.due_at)
    injects = session.execute(select(DrillInject).where(DrillInject.drill_id == drill.id,
                                                        DrillInject.status == "waiting")).scalars().all()
    for inject in injects:
        inject.fire_at = real_at(drill, inject.sim_at)
    return len(timers) + len(injects)


def reading(session: Session, case: Case, real_now: datetime) -> datetime:
    """The time a case's deadlines are read against on a page: the drill's clock (frozen once ended), or now."""
    if case.drill_id is None:
        return real_now
    return sim_now(drill_of(session, case), real_now)
