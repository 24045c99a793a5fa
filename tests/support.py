"""Test drivers that walk a plan step by step, persisted or purely in memory."""
from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import undefer

from engine.calendar.clock import engine_time
from engine.calendar.deadlines import using_calendar
from engine.calendar.working_days import WorkingCalendar
from engine.cases import liveness, messages, runtime, timers
from engine.cases import use_cases as cases
from engine.db import transaction
from engine.models import Case, CaseStatus, Task, TaskStatus
from engine.people import users
from engine.people.roles import ROLES
from engine.plans import versions as plans
from engine.plans.bpmn import forget_parsed_plans

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
        number = self.do(cases.start_case, plan_key, data, as_user, self.now).number
        self.assert_live(number)
        return number

    def assert_live(self, number: str | None = None) -> None:
        """The liveness invariant: each case (or every running one) is completed, visibly waiting, or an incident."""
        with transaction(self.session_factory, readonly=True) as session:
            query = select(Case).options(undefer(Case.workflow_state))
            query = query.where(Case.number == number) if number else query.where(Case.status == CaseStatus.RUNNING)
            for case in session.execute(query).scalars():
                if case.incident:
                    continue
                workflow = runtime.load(case, plans.spec_cache.get(case.plan_version))
                found = liveness.stored_problems(session, case, workflow)
                assert not found, f"{case.number} breaks the liveness invariant: {found}"

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
        completion = self.do(cases.complete_task, task.id, as_user or username_for(task.role), data, self.now)
        self.assert_live(number)
        return completion

    def pass_time(self, delta: timedelta) -> timers.SweepResult:
        self.now = self.now + delta
        result = timers.sweep(self.session_factory, self.now)
        self.assert_live()
        return result

    def send(self, number: str, message: str, data: dict, as_user: str = "intake1"):
        delivery = self.do(messages.deliver_message, message, {"case": number}, data, as_user, self.now)
        self.assert_live(number)
        return delivery


def forget_parsed() -> None:
    """Forget every parsed plan, as a freshly started process would."""
    plans.spec_cache.clear()
    forget_parsed_plans()


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
        forget_parsed()
        self.desk.complete(self.number, element_id, data)

    def pass_time(self, delta: timedelta) -> None:
        forget_parsed()
        self.desk.pass_time(delta)

    def send(self, message: str, data: dict) -> None:
        forget_parsed()
        self.desk.send(self.number, message, data)

    def data(self) -> dict:
        """The case data as its workflow holds it now."""
        with transaction(self.desk.session_factory, readonly=True) as session:
            case = cases.get_case(session, self.number)
            return case_data(runtime.load(case, plans.spec_cache.get(case.plan_version)))

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
        self.assert_live()

    def assert_live(self) -> None:
        found = liveness.problems(self.workflow)
        assert not found, f"the workflow breaks the liveness invariant: {found}"

    @contextmanager
    def _running(self):
        with engine_time(self.now), using_calendar(self.calendar):
            yield

    def ready(self):
        return sorted((t.task_spec.bpmn_id, t.task_spec.lane, runtime.deadline_of(t))
                      for t in runtime.ready_user_tasks(self.workflow))

    def complete(self, element_id: str, data: dict) -> None:
        # The first one, as Desk.task does (a multi-instance task has one per instance).
        task = next(t for t in runtime.ready_user_tasks(self.workflow) if t.task_spec.bpmn_id == element_id)

        def submit():
            task.data.update(data)
            task.run()

        with self._running():
            runtime.run_engine(self.workflow, submit)
        self.assert_live()

    def pass_time(self, delta: timedelta) -> None:
        self.now = self.now + delta
        with self._running():
            runtime.run_engine(self.workflow, self.workflow.refresh_timers)
        self.assert_live()

    def send(self, message: str, data: dict) -> None:
        """Deliver a message to the waiting element, as `planflow message` does through the database."""
        with self._running():
            runtime.run_engine(self.workflow, lambda: messages.send_to_workflow(self.workflow, message, data))
        self.assert_live()

    def finished(self) -> bool:
        return self.workflow.is_completed()

    def data(self) -> dict:
        return case_data(self.workflow)


def case_data(workflow) -> dict:
    """The data a case ended with, or the data of its latest step while it runs."""
    return workflow.data if workflow.is_completed() else workflow.last_task.data
