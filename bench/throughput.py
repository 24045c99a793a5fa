"""Cases per second through general_complaint: persisted on SQLite vs bare in-memory SpiffWorkflow.

Both run in the same process, one after the other, on the same path (register, first
contact, verify, feedback, return visit, archive), so the ratio is what to compare:
machines here are noisy, absolute figures are not.

    .venv/bin/python bench/throughput.py [--cases N]
"""
from __future__ import annotations

import argparse
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
from sqlalchemy import select  # noqa: E402

from engine.calendar.deadlines import EXPRESSION_FUNCTIONS, using_calendar  # noqa: E402
from engine.calendar.working_days import WorkingCalendar  # noqa: E402
from engine.cases import use_cases as cases  # noqa: E402
from engine.db import create_schema, make_engine, make_session_factory, transaction  # noqa: E402
from engine.models import Task, TaskStatus  # noqa: E402
from engine.people import users
from engine.people.roles import ROLES  # noqa: E402
from engine.plans import versions as plans
from engine.plans.bpmn import quote_bare_timer_values  # noqa: E402

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


# The plan's timers call working_days(); the bare engine gets the same functions, unsandboxed.
BARE_ENGINE = PythonScriptEngine(environment=TaskDataEnvironment(dict(EXPRESSION_FUNCTIONS)))


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


def persisted_case(session_factory, now) -> None:
    with transaction(session_factory) as session:
        number = cases.start_case(session, "general_complaint", REGISTRATION, "intake1", now).number
    for element_id, data in STEPS:
        with transaction(session_factory, readonly=True) as session:
            case = cases.get_case(session, number)
            [task] = [t for t in session.execute(select(Task).where(
                Task.case_id == case.id, Task.status == TaskStatus.OPEN)).scalars() if t.element_id == element_id]
        with transaction(session_factory) as session:
            cases.claim_task(session, task.id, "all_roles", now)
        with transaction(session_factory) as session:
            done = cases.complete_task(session, task.id, "all_roles", data, now)
    assert done.case_completed


def rate(run, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        run()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    bpmn = CamundaParser()
    bpmn.add_bpmn_file(str(ROOT / "processes" / "general_complaint.bpmn"))
    bpmn.add_bpmn_file(str(ROOT / "processes" / "complaint_closure.bpmn"))
    bpmn.add_dmn_file(str(ROOT / "processes" / "compensation_approval.dmn"))
    spec, subprocess_specs = bpmn.get_spec("general_complaint"), bpmn.get_subprocess_specs("general_complaint")
    quote_bare_timer_values([spec, *subprocess_specs.values()])

    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.sqlite3")
        create_schema(engine)
        session_factory = make_session_factory(engine)
        with transaction(session_factory) as session:
            plans.deploy(session, plans.Bundle.from_paths([ROOT / "processes", ROOT / "forms"]), "bench", now)
            users.add_user(session, "intake1", ["intake"], "bench")
            users.add_user(session, "all_roles", [r for r, role in ROLES.items() if role.works_cases], "bench")
        persisted_case(session_factory, now)  # warm the spec cache and the connection pool
        memory, persisted = [], []
        for _ in range(args.rounds):
            with using_calendar(WorkingCalendar()):
                memory.append(rate(lambda: in_memory_case(spec, subprocess_specs), args.cases))
            persisted.append(rate(lambda: persisted_case(session_factory, now), args.cases))
        engine.dispose()

    mem, per = statistics.median(memory), statistics.median(persisted)
    print(f"general_complaint, {args.cases} cases x {args.rounds} rounds (medians)")
    print(f"  in-memory SpiffWorkflow : {mem:8.1f} cases/s")
    print(f"  persisted on SQLite     : {per:8.1f} cases/s  (start + claim + complete of 5 tasks, "
          f"{1 + 2 * len(STEPS)} transactions per case)")
    print(f"  ratio persisted/in-memory: {per / mem:.2f}")


if __name__ == "__main__":
    main()
