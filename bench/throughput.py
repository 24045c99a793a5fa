"""Cases per second through general_complaint: persisted (SQLite, PostgreSQL) against bare in-memory SpiffWorkflow.

Everything runs in one process, in interleaved rounds (in-memory, SQLite, PostgreSQL, again…),
and the figures to compare are the per-round ratios' medians: machines here are noisy,
absolute figures are not. Also printed, per database:
- SQL statements per task completion (the transaction that completes a task);
- the floor (bench/floor.py): the same walk and transactions with only SpiffWorkflow, PlanFlow's
  state format and bare DBAPI statements — the ceiling of any design that commits every action,
  and how much of it PlanFlow reaches; and the floor of a design that journals each step's form
  data instead of saving the state (not PlanFlow's; for planning);
- step cost after 100 rounds of a loop (compensation rejected, revised, rejected…) against the
  same step of a fresh case, the two measured alternately, with the stored state's size.

    .venv/bin/python bench/throughput.py [--cases N] [--rounds R] [--loop-rounds L]

PostgreSQL: PLANFLOW_BENCH_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
the bench works in a schema of its own and drops it afterwards. `--no-postgres` skips it.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.camunda.parser import CamundaParser  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402

from engine.calendar.deadlines import EXPRESSION_FUNCTIONS, using_calendar  # noqa: E402
from engine.calendar.working_days import WorkingCalendar  # noqa: E402
from engine.cases import use_cases as cases  # noqa: E402
from engine.db import create_schema, make_engine, make_session_factory, transaction  # noqa: E402
from engine.models import Case, Task, TaskStatus  # noqa: E402
from engine.people import users  # noqa: E402
from engine.people.roles import ROLES  # noqa: E402
from engine.plans import versions as plans  # noqa: E402
from engine.plans.bpmn import quote_bare_timer_values  # noqa: E402
from engine.plans.versions import spec_cache  # noqa: E402

from bench.floor import FloorPath  # noqa: E402

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = f"planflow_bench_{os.getpid()}"
# Deadlines count from when the complaint was received; both paths get the same receipt time.
REGISTRATION = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "category": "service",
                "content": "快递延误", "claimed_amount": 0, "received_at": datetime.now(timezone.utc).isoformat()}
STEPS = [
    ("Task_FirstContact", {"contact_note": "已联系", "grade": "general"}),
    ("Task_VerifyNegotiate", {"findings": "属实", "resolution": "道歉", "compensation_amount": 0}),
    ("Task_Feedback", {"feedback_note": "已反馈", "feedback_channel": "phone"}),
    ("Task_ReturnVisit", {"satisfied": "yes", "visit_note": "满意"}),
    ("Task_Archive", {"archive_note": "归档", "outcome": "upheld", "prevention_analysis": "no"}),
]
# The loop: a compensation the general manager rejects goes back to the handler, who proposes it again.
TO_APPROVAL = [("Task_FirstContact", STEPS[0][1]),
               ("Task_VerifyNegotiate", {"findings": "属实", "resolution": "赔偿", "compensation_amount": 5000})]
LOOP = [("Task_ApproveGM", {"approved": "no", "rejection_reason": "证据不足"}),
        ("Task_ReviseCompensation", {"findings": "属实", "resolution": "赔偿", "compensation_amount": 5000})]

# The plan's timers call working_days(); the bare engine gets the same functions, unsandboxed.
BARE_ENGINE = PythonScriptEngine(environment=TaskDataEnvironment(dict(EXPRESSION_FUNCTIONS)))
WORKER = "all_roles"


def in_memory_case(spec, subprocess_specs) -> None:
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=BARE_ENGINE)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(REGISTRATION)
    workflow.do_engine_steps()
    for element_id, data in STEPS:
        [task] = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                  if t.task_spec.bpmn_id == element_id]
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()
    assert workflow.is_completed()


def start(session_factory, now: datetime) -> str:
    """Register the bench's complaint; its case number."""
    with transaction(session_factory) as session:
        return cases.start_case(session, "general_complaint", REGISTRATION, "intake1", now).number


def work(session_factory, number: str, element_id: str, data: dict, now: datetime,
         completing=contextlib.nullcontext):
    """Find the case's open task at `element_id` (a read), claim it, then complete it inside `completing()`."""
    with transaction(session_factory, readonly=True) as session:
        case = cases.get_case(session, number)
        [task] = [t for t in session.execute(select(Task).where(
            Task.case_id == case.id, Task.status == TaskStatus.OPEN)).scalars() if t.element_id == element_id]
    with transaction(session_factory) as session:
        cases.claim_task(session, task.id, WORKER, now)
    with completing(), transaction(session_factory) as session:
        return cases.complete_task(session, task.id, WORKER, data, now)


def persisted_case(session_factory, now: datetime, completing=contextlib.nullcontext) -> None:
    """The bench's case walked on PlanFlow: register it, then claim and complete its five tasks (11 transactions)."""
    number = start(session_factory, now)
    for element_id, data in STEPS:
        done = work(session_factory, number, element_id, data, now, completing)
    assert done.case_completed


class Database:
    """One deployed PlanFlow database, counting the statements of task completions."""

    def __init__(self, name: str, url: str, now: datetime):
        self.name, self.now = name, now
        self.engine = make_engine(url)
        create_schema(self.engine)
        self.sessions = make_session_factory(self.engine)
        with transaction(self.sessions) as session:
            plans.deploy(session, plans.Bundle.from_paths([ROOT / "processes", ROOT / "forms"]), "bench", now)
            users.add_user(session, "intake1", ["intake"], "bench")
            users.add_user(session, WORKER, [r for r, role in ROLES.items() if role.works_cases], "bench")
        self.counting = False
        self.statements = 0
        self.completions = 0
        event.listen(self.engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        if self.counting:
            self.statements += 1

    @contextlib.contextmanager
    def counted(self):
        """Count the statements of one task completion."""
        self.counting = True
        try:
            yield
        finally:
            self.counting = False
        self.completions += 1

    def start(self) -> str:
        return start(self.sessions, self.now)

    def work(self, number: str, element_id: str, data: dict):
        return work(self.sessions, number, element_id, data, self.now, self.counted)

    def persisted_case(self) -> None:
        persisted_case(self.sessions, self.now, self.counted)

    def state_size(self, number: str) -> tuple[int, int]:
        """(bytes stored in the case's workflow_state column, read raw; bytes of the same state as JSON)."""
        with transaction(self.sessions, readonly=True) as session:
            stored = session.execute(text("SELECT workflow_state FROM cases WHERE number = :n"),
                                     {"n": number}).scalar_one()
            return len(stored), len(json.dumps(cases.get_case(session, number).workflow_state).encode())

    def close(self) -> None:
        self.engine.dispose()


def rate(run, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        run()
    return n / (time.perf_counter() - started)


def loop_cost(db: Database, loop_rounds: int, samples: int) -> tuple[float, tuple[int, int], tuple[int, int]]:
    """(late/fresh step-cost ratio, fresh state bytes, late state bytes) for the compensation loop."""
    def to_approval() -> str:
        number = db.start()
        for element_id, data in TO_APPROVAL:
            db.work(number, element_id, data)
        return number

    def one_round(number: str) -> float:
        started = time.perf_counter()
        for element_id, data in LOOP:
            db.work(number, element_id, data)
        return time.perf_counter() - started

    looped = to_approval()
    for _ in range(loop_rounds):
        one_round(looped)
    late, fresh = [], []
    fresh_number = None
    for _ in range(samples):
        late.append(one_round(looped))
        fresh_number = to_approval()
        fresh.append(one_round(fresh_number))
    return statistics.median(late) / statistics.median(fresh), db.state_size(fresh_number), db.state_size(looped)


def postgres_url(base: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{SCHEMA}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop-rounds", type=int, default=100)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    bpmn = CamundaParser()
    bpmn.add_bpmn_file(str(ROOT / "processes" / "general_complaint.bpmn"))
    bpmn.add_bpmn_file(str(ROOT / "processes" / "complaint_closure.bpmn"))
    bpmn.add_dmn_file(str(ROOT / "processes" / "compensation_approval.dmn"))
    spec, subprocess_specs = bpmn.get_spec("general_complaint"), bpmn.get_subprocess_specs("general_complaint")
    quote_bare_timer_values([spec, *subprocess_specs.values()])

    now = datetime.now(timezone.utc)
    base_pg = os.environ.get("PLANFLOW_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    with tempfile.TemporaryDirectory() as folder:
        databases = [Database("SQLite", f"sqlite:///{folder}/bench.sqlite3", now)]
        if not args.no_postgres:
            admin = make_engine(base_pg)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
            databases.append(Database("PostgreSQL", postgres_url(base_pg), now))
        try:
            report(args, spec, subprocess_specs, databases)
        finally:
            for db in databases:
                db.close()
            if not args.no_postgres:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
                admin.dispose()


def floor_path(db: Database, journal: bool = False) -> FloorPath:
    with transaction(db.sessions, readonly=True) as session:
        plan = spec_cache.get(plans.current_version(session, "general_complaint"))
    return FloorPath(db.engine, plan, BARE_ENGINE, REGISTRATION, STEPS, journal=journal)


def report(args, spec, subprocess_specs, databases: list[Database]) -> None:
    floors = {db.name: floor_path(db) for db in databases}
    journals = {db.name: floor_path(db, journal=True) for db in databases}
    for db in databases:
        db.persisted_case()   # warm the spec cache and the connection pool
    ratios = {db.name: [] for db in databases}
    rates = {db.name: [] for db in databases}
    floor_ratios = {db.name: [] for db in databases}
    journal_ratios = {db.name: [] for db in databases}
    memory = []
    for _ in range(args.rounds):
        with using_calendar(WorkingCalendar()):
            mem = rate(lambda: in_memory_case(spec, subprocess_specs), args.cases)
        memory.append(mem)
        for db in databases:
            db.statements = db.completions = 0
            persisted = rate(db.persisted_case, args.cases)
            rates[db.name].append(persisted)
            ratios[db.name].append(persisted / mem)
            with using_calendar(WorkingCalendar()):
                floor_ratios[db.name].append(rate(floors[db.name].case, args.cases) / mem)
                journal_ratios[db.name].append(rate(journals[db.name].case, args.cases) / mem)
    for floor in [*floors.values(), *journals.values()]:
        floor.close()
    print(f"general_complaint, {args.cases} cases x {args.rounds} interleaved rounds (medians)")
    print(f"  in-memory SpiffWorkflow : {statistics.median(memory):8.1f} cases/s")
    for db in databases:
        print(f"  persisted on {db.name:<11}: {statistics.median(rates[db.name]):8.1f} cases/s   "
              f"ratio to in-memory {statistics.median(ratios[db.name]):.3f}   "
              f"{db.statements / max(db.completions, 1):.1f} SQL statements per task completion")
    print(f"  (a persisted case: start + claim and complete of {len(STEPS)} tasks, "
          f"{1 + 2 * len(STEPS)} writing transactions)")
    print("the floor: the same walk and transactions with only SpiffWorkflow, PlanFlow's state format and bare "
          "DBAPI statements (bench/floor.py)")
    for db in databases:
        floor = statistics.median(floor_ratios[db.name])
        print(f"  floor on {db.name:<11}: ratio to in-memory {floor:.3f}   "
              f"PlanFlow reaches {statistics.median(ratios[db.name]) / floor:.2f} of it")
    print("  a design that journals each step's form data instead of saving the state (floor only, not PlanFlow's):")
    for db in databases:
        print(f"  journal floor on {db.name:<11}: ratio to in-memory {statistics.median(journal_ratios[db.name]):.3f}")
    print(f"compensation loop: step cost after {args.loop_rounds} rounds vs a fresh case (medians, alternated)")
    for db in databases:
        ratio, fresh_size, late_size = loop_cost(db, args.loop_rounds, samples=7)
        print(f"  {db.name:<11}: {ratio:.2f}x   stored state {fresh_size[0] / 1024:.1f} KB fresh "
              f"({fresh_size[1] / 1024:.1f} KB as JSON), {late_size[0] / 1024:.1f} KB after the loop "
              f"({late_size[1] / 1024:.1f} KB as JSON)")


if __name__ == "__main__":
    main()
