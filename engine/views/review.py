"""Compliance review: every case, its deadlines met or missed, monthly figures, evidence packs.

Read-only: nothing here changes a case. Figures come from the indexed rows (cases,
tasks, audit events); the monthly report counts what a test can count again from the
raw tables.
"""
from __future__ import annotations

import csv
import io
import statistics
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.calendar.local_time import local_time
from engine.calendar.working_days import WorkingCalendar
from engine.models import AuditEvent, Case, CaseStatus, PlanVersion, Task, TaskStatus, Timer, TimerStatus
from engine.people.privacy import shown_identity
from engine.records import audit

# Drill cases (engine/drills) rehearse a plan: they never count as real work in lists or figures.
REAL_WORK = Case.drill_id.is_(None)


@dataclass(frozen=True)
class CaseFilter:
    plan: str | None = None
    version: int | None = None
    status: str | None = None
    grade: str | None = None
    category: str | None = None
    started_from: date | None = None
    started_to: date | None = None
    overdue: bool = False
    escalated: bool = False
    handler: str | None = None
    complainant: str | None = None
    sort: str = "started_at"
    descending: bool = True


SORTS = {"started_at": Case.started_at, "number": Case.number, "completed_at": Case.completed_at,
         "grade": Case.grade, "status": Case.status}


def _day_start(day: date, calendar: WorkingCalendar) -> datetime:
    return datetime.combine(day, datetime.min.time(), calendar.zone).astimezone(timezone.utc)


def find_cases(session: Session, filters: CaseFilter, now: datetime, calendar: WorkingCalendar,
               limit: int = 1000) -> list[Case]:
    """Cases matching every given filter, sorted as asked."""
    query = select(Case).join(PlanVersion, PlanVersion.id == Case.plan_version_id).where(REAL_WORK)
    if filters.plan:
        query = query.where(PlanVersion.plan_key == filters.plan)
    if filters.version is not None:
        query = query.where(PlanVersion.version == filters.version)
    if filters.status:
        query = query.where(Case.status == CaseStatus(filters.status))
    if filters.grade:
        query = query.where(Case.grade == filters.grade)
    if filters.category:
        query = query.where(Case.category == filters.category)
    if filters.started_from:
        query = query.where(Case.started_at >= _day_start(filters.started_from, calendar))
    if filters.started_to:
        query = query.where(Case.started_at < _day_start(filters.started_to + timedelta(days=1), calendar))
    if filters.complainant:
        query = query.where(or_(Case.complainant.contains(filters.complainant),
                                Case.contact.contains(filters.complainant)))
    if filters.overdue:
        query = query.where(Case.id.in_(select(Task.case_id).where(Task.status == TaskStatus.OPEN,
                                                                   Task.due_at < now)))
    if filters.escalated:
        query = query.where(Case.id.in_(select(Task.case_id).where(Task.escalated_from.is_not(None))))
    if filters.handler:
        query = query.where(Case.id.in_(select(Task.case_id).where(
            or_(Task.completed_by == filters.handler, Task.assignee == filters.handler))))
    column = SORTS.get(filters.sort, Case.started_at)
    query = query.order_by(column.desc() if filters.descending else column, Case.id)
    return list(session.execute(query.limit(limit)).scalars())


def cases_csv(rows: list[Case], see_contact: bool, labels=None) -> str:
    """The filtered list as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese).

    Machine columns (keys, ISO times) come first and never change; `labels(case)` may add
    columns for people as a dict of header -> text (plan name, status, grade and category in words).
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    extra = list(labels(rows[0]).keys()) if labels and rows else []
    writer.writerow(["number", "plan", "version", "status", "grade", "category", "complainant", "contact",
                     "started_at", "completed_at", "incident", "started_local", "completed_local", *extra])
    for case in rows:
        complainant, contact = shown_identity(case, see_contact)
        words = list(labels(case).values()) if extra else []
        writer.writerow([case.number, case.plan_version.plan_key, case.plan_version.version, case.status.value,
                         case.grade or "", case.category or "", complainant or "", contact or "",
                         case.started_at.isoformat(), case.completed_at.isoformat() if case.completed_at else "",
                         case.incident or "", local_time(case.started_at), local_time(case.completed_at), *words])
    return out.getvalue()


def working_days_late(due: datetime, done: datetime, calendar: WorkingCalendar) -> int:
    """Working days that ended between a deadline and when the step was done (0 when on time or same day)."""
    if done <= due:
        return 0
    day, last, count = due.astimezone(calendar.zone).date(), done.astimezone(calendar.zone).date(), 0
    while day < last:
        count += calendar.is_working_day(day)
        day += timedelta(days=1)
    return count


@dataclass
class DeadlineOutcome:
    task_id: int
    element_id: str
    name: str
    role: str
    due_at: datetime
    outcome: str  # "met", "missed" (done late), "escalated" (cancelled by its timer), "open", "overdue"
    done_at: datetime | None
    late_hours: float
    late_working_days: int


def deadline_outcomes(session: Session, case_id: int, now: datetime, calendar: WorkingCalendar
                      ) -> list[DeadlineOutcome]:
    """Every task of the case that carried a deadline: met, missed by how much, or escalated."""
    outcomes = []
    tasks = session.execute(select(Task).where(Task.case_id == case_id, Task.due_at.is_not(None))
                            .order_by(Task.id)).scalars()
    for task in tasks:
        if task.status == TaskStatus.COMPLETED:
            done = task.completed_at
            outcome = "met" if done <= task.due_at else "missed"
        elif task.status == TaskStatus.CANCELLED:
            done, outcome = task.due_at, "escalated"
        else:
            done, outcome = None, "overdue" if task.due_at <= now else "open"
        reference = done if done is not None else now
        late = max(timedelta(0), reference - task.due_at) if outcome in ("missed", "overdue") else timedelta(0)
        outcomes.append(DeadlineOutcome(task.id, task.element_id, task.name, task.role, task.due_at, outcome, done,
                                        round(late.total_seconds() / 3600, 1),
                                        working_days_late(task.due_at, reference, calendar) if late else 0))
    return outcomes


@dataclass
class MonthlyReport:
    year: int
    month: int
    registered: int = 0
    closed: int = 0
    by_plan: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_grade: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    deadlines_due: int = 0
    deadlines_met: int = 0
    escalations: int = 0
    median_handling_working_days: float | None = None
    repeat_complainants: list[str] = field(default_factory=list)
    # The newest signed audit checkpoint taken before the month ended (printed, it anchors the trail on paper).
    checkpoint: dict | None = None

    @property
    def deadlines_met_share(self) -> float | None:
        return round(self.deadlines_met / self.deadlines_due, 3) if self.deadlines_due else None

    def as_dict(self) -> dict:
        return {**asdict(self), "deadlines_met_share": self.deadlines_met_share}


def _month_bounds(year: int, month: int, calendar: WorkingCalendar) -> tuple[datetime, datetime]:
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return _day_start(start, calendar), _day_start(end, calendar)


def working_days_between(start: datetime, end: datetime, calendar: WorkingCalendar) -> int:
    """Working days after the start day up to and including the end day (the legal way of counting)."""
    day, last, count = start.astimezone(calendar.zone).date(), end.astimezone(calendar.zone).date(), 0
    while day < last:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


def monthly_report(session: Session, year: int, month: int, calendar: WorkingCalendar) -> MonthlyReport:
    """Cases registered in the month by plan, category, grade and outcome; deadlines falling due in it;
    escalations in it; handling time of the cases closed in it; complainants with more than one case."""
    start, end = _month_bounds(year, month, calendar)
    report = MonthlyReport(year, month)
    registered = session.execute(select(Case).where(Case.started_at >= start, Case.started_at < end,
                                                    REAL_WORK)).scalars().all()
    report.registered = len(registered)
    for case in registered:
        for table, key in ((report.by_plan, case.plan_version.plan_key), (report.by_category, case.category or "-"),
                           (report.by_grade, case.grade or "-"), (report.by_outcome, case.status.value)):
            table[key] = table.get(key, 0) + 1
    contacts: dict[str, int] = {}
    for case in registered:
        if case.contact:
            contacts[case.contact] = contacts.get(case.contact, 0) + 1
    report.repeat_complainants = sorted(contact for contact, count in contacts.items() if count > 1)
    due = session.execute(select(Task).join(Case, Case.id == Task.case_id).where(
        Task.due_at >= start, Task.due_at < end, Task.status != TaskStatus.OPEN, REAL_WORK)).scalars().all()
    report.deadlines_due = len(due)
    report.deadlines_met = sum(1 for t in due if t.status == TaskStatus.COMPLETED and t.completed_at <= t.due_at)
    report.escalations = session.execute(select(func.count(AuditEvent.seq)).where(
        AuditEvent.kind == audit.EventKind.ESCALATED, AuditEvent.occurred_at >= start, AuditEvent.occurred_at < end,
        AuditEvent.case_id.not_in(select(Case.id).where(Case.drill_id.is_not(None))))).scalar_one()
    closed = session.execute(select(Case).where(Case.completed_at >= start, Case.completed_at < end,
                                                REAL_WORK)).scalars().all()
    report.closed = len(closed)
    if closed:
        report.median_handling_working_days = statistics.median(
            working_days_between(c.started_at, c.completed_at, calendar) for c in closed)
    report.checkpoint = audit.latest_checkpoint(session, before=end)
    return report


def evidence_pack(session: Session, case: Case, now: datetime, calendar: WorkingCalendar) -> dict:
    """Everything an auditor needs to check a case without the system: events with hashes, the plan version."""
    events = session.execute(select(AuditEvent).where(AuditEvent.case_id == case.id)
                             .order_by(AuditEvent.seq)).scalars().all()
    report = audit.verify_chain(session, case.id)
    version = case.plan_version
    return {
        "format": "planflow-evidence-1",
        "generated_at": now.isoformat(),
        "case": {"number": case.number, "plan": version.plan_key, "version": version.version,
                 "status": case.status.value, "started_at": case.started_at.isoformat(),
                 "started_by": case.started_by,
                 "completed_at": case.completed_at.isoformat() if case.completed_at else None},
        "chain": {"ok": report.ok, "events_checked": report.events_checked, "broken_at": report.broken_at,
                  "reason": report.reason, "how_to_verify": audit.HASH_RULE.strip()},
        "events": [audit.event_dict(e) for e in events],
        "checkpoints": audit.checkpoints_covering(session, case.id),
        "public_keys": audit.public_keys(),
        "deadlines": [{**asdict(d), "due_at": d.due_at.isoformat(),
                       "done_at": d.done_at.isoformat() if d.done_at else None}
                      for d in deadline_outcomes(session, case.id, now, calendar)],
        "plan_version": {"plan": version.plan_key, "version": version.version,
                         "content_hash": version.content_hash, "bpmn_xml": version.bpmn_xml},
    }


@dataclass
class TimelineEntry:
    seq: int
    occurred_at: datetime
    actor: str
    kind: str
    element_id: str | None
    changes: list[tuple[str, object, object]]  # (field, before, after)
    note: str = ""


def timeline(session: Session, case_id: int) -> list[TimelineEntry]:
    """Every audit event of the case; submitted data shown as what changed, not as a dump."""
    known: dict = {}
    entries = []
    for event in session.execute(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                 .order_by(AuditEvent.seq)).scalars():
        data = event.payload.get("data") if isinstance(event.payload, dict) else None
        changes = []
        if isinstance(data, dict):
            changes = [(key, known.get(key), value) for key, value in data.items() if known.get(key) != value]
            known.update(data)
        note = ""
        if event.kind in (audit.EventKind.ESCALATED, audit.EventKind.TIMER_FIRED):
            note = str(event.payload.get("missed_task") or event.payload.get("attached_to") or "")
        elif event.kind in (audit.EventKind.INCIDENT, audit.EventKind.TIMER_FAILED):
            note = str(event.payload.get("error", ""))
        entries.append(TimelineEntry(event.seq, event.occurred_at, event.actor, event.kind, event.element_id,
                                     changes, note))
    return entries


def case_path(session: Session, case: Case) -> dict[str, list[str]]:
    """Elements to mark on the case's diagram: done, active (open tasks, waiting timers), fired timers, escalated."""
    from SpiffWorkflow.util.task import TaskState

    from engine.cases import pruning, runtime
    from engine.plans.versions import spec_cache

    workflow = runtime.load(case, spec_cache.get(case.plan_version))
    done = {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if getattr(t.task_spec, "bpmn_id", None)} | pruning.pruned_done(workflow)
    tasks = session.execute(select(Task).where(Task.case_id == case.id)).scalars().all()
    timers = session.execute(select(Timer).where(Timer.case_id == case.id)).scalars().all()
    active = {t.element_id for t in tasks if t.status == TaskStatus.OPEN}
    active |= {t.element_id for t in timers if t.status == TimerStatus.WAITING}
    fired = {t.element_id for t in timers if t.status == TimerStatus.FIRED}
    escalated = {t.element_id for t in tasks if t.status == TaskStatus.CANCELLED}
    return {"pf-done": sorted(done - active - fired - escalated), "pf-active": sorted(active),
            "pf-fired": sorted(fired), "pf-escalated": sorted(escalated)}


@dataclass
class ElementLoad:
    element_id: str
    cases: int
    median_hours: float | None


def heatmap(session: Session, plan_version_id: int) -> list[ElementLoad]:
    """Per element of one plan version: how many cases passed it (user tasks done, timers fired), and the
    median hours a user task stayed open."""
    passed: dict[str, set[int]] = {}
    hours: dict[str, list[float]] = {}
    rows = session.execute(select(Task).join(Case, Case.id == Task.case_id).where(
        Case.plan_version_id == plan_version_id, Task.status == TaskStatus.COMPLETED, REAL_WORK)).scalars()
    for task in rows:
        passed.setdefault(task.element_id, set()).add(task.case_id)
        hours.setdefault(task.element_id, []).append((task.completed_at - task.created_at).total_seconds() / 3600)
    fired = session.execute(select(Timer).join(Case, Case.id == Timer.case_id).where(
        Case.plan_version_id == plan_version_id, Timer.status == TimerStatus.FIRED, REAL_WORK)).scalars()
    for timer in fired:
        passed.setdefault(timer.element_id, set()).add(timer.case_id)
    return [ElementLoad(element, len(case_ids),
                        round(statistics.median(hours[element]), 1) if element in hours else None)
            for element, case_ids in sorted(passed.items())]
