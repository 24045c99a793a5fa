"""Two processes completing tasks of different cases append to the audit trail without waiting for each other.

PostgreSQL only: SQLite takes one write lock per database, so writers queue there by design.
"""
from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from engine.cases import use_cases as cases
from engine.db import make_engine, make_session_factory, transaction
from engine.records import audit
from tests.conftest import run

REGISTRATION = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "content": "快递延误"}
WAIT_SECONDS = 15.0


def complete_and_hold(url: str, task_id: int, now, start, both_appended, events) -> None:
    """In a child process: complete a task, hold the transaction open until the other appended too, commit.

    If the other cannot append while this transaction is open (it waits for a lock this one
    holds), the barrier times out and this one commits first: the test then sees it.
    """
    factory = make_session_factory(make_engine(url))
    start.wait(timeout=30)
    with transaction(factory) as session:
        cases.complete_task(session, task_id, "intake1", {"contact_note": "已联系", "grade": "general"}, now)
        session.flush()  # the audit appends and their head-row locks are in the database now
        events.put(("appended", task_id, time.monotonic()))
        try:
            both_appended.wait(timeout=WAIT_SECONDS)
        except threading.BrokenBarrierError:
            pass
    events.put(("committed", task_id, time.monotonic()))


def test_tasks_of_different_cases_complete_in_parallel(desk, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers by design")
    numbers = [desk.start("general_complaint", REGISTRATION) for _ in range(2)]
    task_ids = [desk.task(number, "Task_FirstContact").id for number in numbers]
    context = multiprocessing.get_context("spawn")
    start, both_appended, events = context.Event(), context.Barrier(2), context.Queue()
    workers = [context.Process(target=complete_and_hold, args=(db_url, task_id, desk.now, start, both_appended, events))
               for task_id in task_ids]
    for worker in workers:
        worker.start()
    time.sleep(1.0)  # both children connected and waiting at the start line
    start.set()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    seen = [events.get(timeout=5) for _ in range(4)]
    appended = [at for what, _, at in seen if what == "appended"]
    committed = [at for what, _, at in seen if what == "committed"]
    assert len(appended) == len(committed) == 2
    # Each appended while the other still held its transaction open: neither waited for the other.
    assert max(appended) < min(committed)
    assert run(desk.session_factory, audit.verify_chain).ok
