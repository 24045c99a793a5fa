"""The use cases: start a case, claim, release and complete its tasks, list an inbox.

Each takes its session and `now` and is run inside one transaction by the caller;
anything that raises commits nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent as StartEventMixin
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, lazyload, undefer
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from engine.cases import runtime
from engine.db import transaction
from engine.drills import clock as drill_clock
from engine.errors import (
    CaseChanged,
    CaseEngineError,
    Conflict,
    NotFound,
    PermissionDenied,
    PlanFlowError,
    TaskAlreadyCompleted,
    TaskClaimedByOther,
)
from engine.forms.validation import validate_submission
from engine.models import AuditEvent, Case, CaseNumberCounter, CaseStatus, Task, TaskStatus, User
from engine.notifications import events as notifications
from engine.people.roles import LANE_ROLES
from engine.people.users import get_user
from engine.plans.versions import current_version, spec_cache
from engine.records import audit


@dataclass
class Completion:
    task: Task
    next_tasks: list[Task]
    case_completed: bool


def start_case(session: Session, plan_key: str, data: dict, username: str, now: datetime,
               number_prefix: str = "TS") -> Case:
    """Register a case of the plan's current version with its start-form data."""
    user = get_user(session, username)
    version = current_version(session, plan_key)
    plan = spec_cache.get(version)
    start_role = _start_lane(plan.spec)
    allowed = {start_role} if start_role else LANE_ROLES
    if not user.role_keys & allowed:
        raise PermissionDenied(f"user '{username}' may not start '{plan_key}' cases (needs role: "
                               f"{', '.join(sorted(allowed))})")
    if plan.start_form_key:
        data = validate_submission(plan.forms[plan.start_form_key], data)
    data = with_received_at(data, now)
    workflow = runtime.new_workflow(plan)
    case = Case(number=next_number(session, number_prefix, now), plan_version=version,
                status=CaseStatus.RUNNING, started_by=username, started_at=now)
    record_start = _once(lambda: audit.record(session, audit.EventKind.CASE_STARTED, username, now, case=case,
                                              element_id=plan.process_id,
                                              payload={"plan": plan_key, "version": version.version, "data": data}))
    try:
        runtime.begin(session, case, workflow, data, now, username, record_start)
    except CaseEngineError as exc:
        _keep_registration(session, case, plan, data, str(exc), username, now, record_start)
    return case


def _once(action: Callable[[], object]) -> Callable[[], None]:
    """`action`, run at its first call only."""
    done = []

    def run_once() -> None:
        if not done:
            done.append(action())
    return run_once


def _keep_registration(session: Session, case: Case, plan, data: dict, message: str, username: str,
                       now: datetime, record_start: Callable[[], None]) -> None:
    """The plan failed on its first steps: keep the complaint as registered, not yet advanced, as an incident.

    A complaint must never be lost because a plan has a bug; `planflow incidents retry`
    runs it once the cause is fixed (or the case is moved to a corrected version).
    """
    workflow = runtime.new_workflow(plan)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    session.add(case)
    runtime.save(case, workflow)
    session.flush()
    record_start()
    case.incident = message
    audit.record(session, audit.EventKind.INCIDENT, username, now, case=case, element_id=plan.process_id,
                 payload={"error": message})
    notifications.on_incident(session, case, message, now)


def with_received_at(data: dict, now: datetime) -> dict:
    """The registration data with `received_at` (deadlines count from receipt) defaulting to now."""
    if str(data.get("received_at") or "").strip():
        return data
    return {**data, "received_at": now.isoformat()}


def _start_lane(spec) -> str | None:
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEventMixin) and task_spec.lane:
            return task_spec.lane
    return None


def next_number(session: Session, prefix: str, now: datetime, digits: int = 6) -> str:
    """The next case number of the year for `prefix`, e.g. TS-2026-000123 (a locked counter row per prefix and year)."""
    year = now.year
    locked = select(CaseNumberCounter).where(CaseNumberCounter.prefix == prefix, CaseNumberCounter.year == year) \
        .with_for_update().execution_options(populate_existing=True)
    counter = session.execute(locked).scalar_one_or_none()
    if counter is None:
        # The year's first registration: two racing ones must not both insert the row (one would fail).
        # The insert that loses waits for the winner's commit and does nothing; both then lock the row.
        session.execute(_insert_ignoring_conflict(session).values(prefix=prefix, year=year, last=0))
        counter = session.execute(locked).scalar_one()
    counter.last += 1
    session.flush()
    return f"{prefix}-{year}-{counter.last:0{digits}d}"


def _insert_ignoring_conflict(session: Session):
    """INSERT … ON CONFLICT DO NOTHING of a case-number counter, in the session's SQL dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(CaseNumberCounter).on_conflict_do_nothing()
    return sqlite_insert(CaseNumberCounter).on_conflict_do_nothing()


def get_task(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    return task


def get_case(session: Session, number: str) -> Case:
    case = session.execute(select(Case).where(Case.number == number)).scalar_one_or_none()
    if case is None:
        raise NotFound(f"no case {number}")
    return case


def _require_role(user: User, task: Task) -> None:
    if not user.has_role(task.role):
        raise PermissionDenied(f"task {task.id} ({task.name}) is for role '{task.role}'; "
                               f"user '{user.username}' does not hold it")


def _require_open(task: Task) -> None:
    if task.status == TaskStatus.COMPLETED:
        raise TaskAlreadyCompleted(f"task {task.id} ({task.name}) was already completed by {task.completed_by}; "
                                   f"reload to see the case")
    if task.status == TaskStatus.CANCELLED:
        raise Conflict(f"task {task.id} ({task.name}) is no longer open (its deadline passed and the case "
                       f"was escalated); reload to see the case")


def claim_task(session: Session, task_id: int, username: str, now: datetime) -> Task:
    """Take an open task of one's role; a task held by someone else is refused."""
    user = get_user(session, username)
    task = get_task(session, task_id)
    _require_role(user, task)
    _require_open(task)
    if task.assignee == username:
        return task
    claimed = session.execute(update(Task).where(Task.id == task_id, Task.status == TaskStatus.OPEN,
                                                 Task.assignee.is_(None)).values(assignee=username)
                           .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        session.refresh(task)
        _require_open(task)
        raise TaskClaimedByOther(f"task {task_id} is already claimed by {task.assignee}")
    set_committed_value(task, "assignee", username)   # what the UPDATE just wrote
    audit.record(session, audit.EventKind.TASK_CLAIMED, username, now, case=task.case, element_id=task.element_id,
                 payload={"task_id": task.id})
    return task


def release_task(session: Session, task_id: int, username: str, now: datetime) -> Task:
    """Give a claimed task back to the role's queue (only its holder may)."""
    get_user(session, username)
    task = get_task(session, task_id)
    _require_open(task)
    if task.assignee != username:
        raise PermissionDenied(f"task {task_id} is not claimed by '{username}'")
    task.assignee = None
    audit.record(session, audit.EventKind.TASK_RELEASED, username, now, case=task.case, element_id=task.element_id,
                 payload={"task_id": task.id})
    return task


SUPERVISOR_ROLES = frozenset({"office_director", "general_manager", "leadership"})
TASK_REASSIGNED = "task_reassigned"


def reassign_task(session: Session, task_id: int, to_username: str, reason: str, username: str,
                  now: datetime) -> Task:
    """A supervisor gives an open task to another holder of its role, saying why (audited)."""
    if not get_user(session, username).role_keys & SUPERVISOR_ROLES:
        raise PermissionDenied(f"only {', '.join(sorted(SUPERVISOR_ROLES))} may reassign tasks")
    reason = (reason or "").strip()
    if not reason:
        raise PlanFlowError("a reassignment needs a reason")
    task = get_task(session, task_id)
    lock_case(session, task.case_id)
    session.refresh(task)
    _require_open(task)
    target = get_user(session, to_username)
    if not target.active or not target.has_role(task.role):
        raise PermissionDenied(f"'{to_username}' does not hold role '{task.role}' of task {task_id} ({task.name})")
    if task.assignee == to_username:
        return task
    previous, task.assignee = task.assignee, to_username
    audit.record(session, TASK_REASSIGNED, username, now, case=task.case, element_id=task.element_id,
                 payload={"task_id": task.id, "from": previous, "to": to_username, "reason": reason[:2000]})
    notifications.on_reassigned(session, task, previous, username, reason[:2000], now)
    return task


def lock_case(session: Session, case_id: int) -> Case:
    """Load a case for change, holding its row lock until commit (SQLite: the write lock)."""
    case = session.execute(select(Case).where(Case.id == case_id).with_for_update(of=Case)
                           .options(undefer(Case.workflow_state))
                           .execution_options(populate_existing=True)).scalar_one_or_none()
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


# Built once: the step path runs them at every task completion.
_LOCK_CASE_OF_TASK = select(Case).where(Case.id == select(Task.case_id).where(Task.id == bindparam("task_id"))
                                        .scalar_subquery()).with_for_update(of=Case) \
    .options(undefer(Case.workflow_state)).execution_options(populate_existing=True)
_TASK_AFTER_LOCK = select(Task).where(Task.id == bindparam("task_id")).options(lazyload(Task.case)) \
    .execution_options(populate_existing=True)


def lock_task_case(session: Session, task_id: int) -> tuple[Case, Task]:
    """A task and its case, the case locked for change, the task read after the lock (so it is current)."""
    case = session.execute(_LOCK_CASE_OF_TASK, {"task_id": task_id}).scalar_one_or_none()
    if case is None:
        raise NotFound(f"no task {task_id}")
    task = session.execute(_TASK_AFTER_LOCK, {"task_id": task_id}).scalar_one()
    set_committed_value(task, "case", case)   # the case just locked, not a second copy of it
    return case, task


def complete_task(session: Session, task_id: int, username: str, data: dict, now: datetime) -> Completion:
    """Submit a task's form: validate, advance the case, and return what comes next."""
    user = get_user(session, username)
    case, task = lock_task_case(session, task_id)
    _require_role(user, task)
    now = drill_clock.case_now(session, case, now)  # a drill task is done at its drill's simulated time
    _require_open(task)
    if task.assignee not in (None, username):
        raise TaskClaimedByOther(f"task {task_id} is claimed by {task.assignee}; only they may complete it")
    plan = spec_cache.get(case.plan_version)
    cleaned = validate_submission(plan.forms.get(task.form_key, {"components": []}), data)

    def submit(workflow):
        spiff_task = runtime.find_spiff_task(workflow, task.spiff_task_id)
        if spiff_task is None or spiff_task.state != TaskState.READY:
            raise CaseChanged(f"case {case.number} changed and task {task_id} is not ready any more; reload")
        audit.record(session, audit.EventKind.TASK_COMPLETED, username, now, case=case,
                     element_id=task.element_id, payload={"task_id": task.id, "data": cleaned})
        spiff_task.data.update(cleaned)
        spiff_task.run()

    task.status = TaskStatus.COMPLETED
    task.assignee = task.assignee or username
    task.completed_by, task.completed_at = username, now
    outcome = runtime.advance(session, case, plan, now, username, submit)
    case.incident = None
    flush_case(session, case)
    return Completion(task, outcome.new_tasks, outcome.completed)


def submit_task(session_factory, task_id: int, username: str, data: dict, now: datetime) -> Completion:
    """Complete a task in its own transaction; if the engine fails, keep the case as it was and record an incident.

    The incident (on the case and in the audit trail) is what a process owner sees and
    fixes — typically an expression in the plan; the case can be worked again afterwards.
    """
    try:
        with transaction(session_factory) as session:
            return complete_task(session, task_id, username, data, now)
    except CaseEngineError as exc:
        with transaction(session_factory) as session:
            task = get_task(session, task_id)
            record_incident(session, task.case_id, str(exc), username, now, element_id=task.element_id)
        raise


def record_incident(session: Session, case_id: int, message: str, actor: str, now: datetime,
                    element_id: str | None = None) -> None:
    """Note on the case that the engine could not advance it, and why."""
    case = lock_case(session, case_id)
    case.incident = message
    audit.record(session, audit.EventKind.INCIDENT, actor, now, case=case, element_id=element_id,
                 payload={"error": message})
    notifications.on_incident(session, case, message, now)


def retry_case(session: Session, number: str, actor: str, now: datetime) -> runtime.SyncOutcome:
    """Run a case with an incident again from where it stopped (after its cause was fixed)."""
    case = lock_case(session, get_case(session, number).id)
    if case.incident is None:
        raise Conflict(f"case {number} has no incident to retry")
    audit.record(session, audit.EventKind.CASE_RETRIED, actor, now, case=case, payload={"incident": case.incident})
    outcome = runtime.advance(session, case, spec_cache.get(case.plan_version), now, actor,
                              lambda workflow: workflow.refresh_timers())
    case.incident = None
    flush_case(session, case)
    return outcome


def incidents(session: Session) -> list[Case]:
    """Running cases whose last engine step failed, for a process owner to look at."""
    return list(session.execute(select(Case).where(Case.incident.is_not(None)).order_by(Case.number)).scalars())


def flush_case(session: Session, case: Case) -> None:
    """Write the case; a concurrent writer that got there first turns into CaseChanged."""
    number = case.number
    try:
        session.flush()
    except StaleDataError:
        raise CaseChanged(f"case {number} was changed by someone else meanwhile; reload") from None


def case_tasks(session: Session, case_id: int) -> list[Task]:
    """Every task row of a case, oldest first."""
    return list(session.execute(select(Task).where(Task.case_id == case_id).order_by(Task.id)).scalars())


def case_history(session: Session, case_id: int) -> list[AuditEvent]:
    """The case's audit events in order: what happened, who, when."""
    return list(session.execute(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                .order_by(AuditEvent.seq)).scalars())


def works_on_case(user: User, case: Case, tasks: list[Task]) -> bool:
    """Whether a user takes part in a case: started it, or holds a role one of its tasks was for."""
    return case.started_by == user.username or any(user.has_role(t.role) or t.completed_by == user.username
                                                   for t in tasks)
