"""Test drivers that walk a plan step by step, persisted or purely in memory."""
from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from engine import cases, plans, runtime, timers, users
from engine.calendar import WorkingCalendar
from engine.clock import engine_time
from engine.deadlines import using_calendar
from engine.db import transaction
from engine.models import Task, TaskStatus
from engine.roles import ROLES

ROOT = Path(__file__).resolve().parent.parent
# PLANFLOW_TEST_PLANS=DIR runs the suite against another folder holding processes/ and forms/.
PLANS_ROOT = Path(os.environ.get("PLANFLOW_TEST_PLANS", ROOT))
PLAN_PATHS = [PLANS_ROOT / "processes", PLANS_ROOT / "forms"]


_SECRET_HASH = []


def secret_hash() -> str:
    """The hash of the test password "secret", computed once: scrypt is slow on purpose."""
    if not _SECRET_HASH:
        _SECRET_HASH.append(users.hash_password("secret"))
    return _SECRET_HASH[0]


def username_for(role: str) -> str:
    return f"{role}1"


class Desk:
    """A deployed system with one user per role; `now` moves only when a test says so."""

    def __init__(self, session_factory, now: datetime):
        self.session_factory = session_factory
        self.now = now

    @classmethod
    def open(cls, session_factory, now: datetime, paths=PLAN_PATHS) -> "Desk":
        desk = cls(session_factory, now)
        with transaction(session_factory) as session:
            plans.deploy(session, plans.Bundle.from_paths(paths), "process_owner1", now)
            for role in ROLES:
                users.add_user(session, username_for(role), [role], None, password_hash=secret_hash())
        return desk

    def do(self, use_case, *args, **kwargs):
        with transaction(self.session_factory) as session:
            return use_case(session, *args, **kwargs)

    def start(self, plan_key: str, data: dict, as_user: str = "intake1") -> str:
        return self.do(cases.start_case, plan_key, data, as_user, self.now).number

    def open_tasks(self, number: str) -> list[Task]:
        with transaction(self.session_factory, readonly=True) as session:
            case = cases.get_case(session, number)
            return list(session.execute(select(Task).where(Task.case_id == case.id, Task.status == TaskStatus.OPEN)
                                        .order_by(Task.id)).scalars())

    def task(self, number: str, element_id: str) -> Task:
        matches = [t for t in self.open_tasks(number) if t.element_id == element_id]
        assert matches, f"{element_id} is not open in {number}: {[t.element_id for t in self.open_tasks(number)]}"
        return matches[0]

    def complete(self, number: str, element_id: str, data: dict, as_user: str | None = None):
        task = self.task(number, element_id)
        return self.do(cases.complete_task, task.id, as_user or username_for(task.role), data, self.now)

    def pass_time(self, delta: timedelta) -> timers.SweepResult:
        self.now = self.now + delta
        return timers.sweep(self.session_factory, self.now)


class PersistedWalk:
    """Drives a plan through the database; the spec cache is dropped between steps, as after a restart."""

    def __init__(self, desk: Desk, plan_key: str, data: dict):
        self.desk = desk
        self.number = desk.start(plan_key, data)

    @property
    def now(self):
        return self.desk.now

    def ready(self) -> list[tuple[str, str, datetime | None]]:
        return sorted((t.element_id, t.role, t.due_at) for t in self.desk.open_tasks(self.number))

    def complete(self, element_id: str, data: dict) -> None:
        plans.spec_cache.clear()
        self.desk.complete(self.number, element_id, data)

    def pass_time(self, delta: timedelta) -> None:
        plans.spec_cache.clear()
        self.desk.pass_time(delta)

    def finished(self) -> bool:
        with transaction(self.desk.session_factory, readonly=True) as session:
            return cases.get_case(session, self.number).status.value == "completed"


class InMemoryWalk:
    """Drives the same plan straight through in one SpiffWorkflow object, never saved."""

    def __init__(self, plan: plans.ParsedPlan, data: dict, now: datetime, calendar: WorkingCalendar | None = None):
        self.now = now
        self.calendar = calendar or WorkingCalendar()
        self.workflow = runtime.new_workflow(plan)
        start_tasks = self.workflow.get_tasks(state=runtime.TaskState.READY)
        data = cases.with_received_at(data, now)
        with self._running():
            runtime.run_engine(self.workflow, lambda: [t.data.update(data) for t in start_tasks])

    @contextmanager
    def _running(self):
        with engine_time(self.now), using_calendar(self.calendar):
            yield

    def ready(self):
        return sorted((t.task_spec.bpmn_id, t.task_spec.lane, runtime.deadline_of(t))
                      for t in runtime.ready_user_tasks(self.workflow))

    def complete(self, element_id: str, data: dict) -> None:
        [task] = [t for t in runtime.ready_user_tasks(self.workflow) if t.task_spec.bpmn_id == element_id]

        def submit():
            task.data.update(data)
            task.run()

        with self._running():
            runtime.run_engine(self.workflow, submit)

    def pass_time(self, delta: timedelta) -> None:
        self.now = self.now + delta
        with self._running():
            runtime.run_engine(self.workflow, self.workflow.refresh_timers)

    def finished(self) -> bool:
        return self.workflow.is_completed()
