"""Each timer worker writes a heartbeat row after every sweep, with its own counts and histograms."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.calendar.clock import utcnow
from engine.cases import timers
from engine.db import transaction
from engine.models import Timer, TimerStatus, WorkerHeartbeat
from engine.ops import heartbeat
from tests.samples import one_task_plan, write_plan
from tests.support import ROOT, Desk


@pytest.fixture
def overdue(session_factory, tmp_path):
    """A desk whose cases started two days ago by the real clock: their 24-hour timers are a day late."""
    return Desk(session_factory, utcnow() - timedelta(days=2)).open(
        session_factory, utcnow() - timedelta(days=2), [write_plan(tmp_path / "plans", one_task_plan())])


def rows(factory) -> list[WorkerHeartbeat]:
    with transaction(factory, readonly=True) as session:
        return list(session.execute(select(WorkerHeartbeat).order_by(WorkerHeartbeat.name)).scalars())


def test_a_sweep_writes_the_heartbeat_with_fired_timers_and_their_lateness(overdue, monkeypatch):
    monkeypatch.setenv("PLANFLOW_WORKER_NAME", "worker-a")
    monkeypatch.setattr(heartbeat, "_figures", None)
    for _ in range(3):
        overdue.start("mini", {}, "handler1")
    before = utcnow()
    timers.run_worker(overdue.session_factory, 0, once=True)
    [row] = rows(overdue.session_factory)
    assert (row.name, row.pid, row.timers_fired) == ("worker-a", os.getpid(), 3)
    assert row.sweeps >= 2 and row.last_seen >= before and row.last_sweep_seconds >= 0
    lateness = row.stats["lateness_seconds"]
    assert lateness["count"] == 3 and lateness["counts"][-1] == 0  # a day late: beyond the last bucket (1 h)
    assert 3 * 86_000 < lateness["sum"] < 3 * 87_000
    sweeps = row.stats["sweep_seconds"]
    assert sweeps["count"] == row.sweeps and sweeps["counts"][-1] == row.sweeps


def test_a_firing_counts_when_committed_and_not_when_rolled_back(overdue, monkeypatch):
    monkeypatch.setattr(heartbeat, "_figures", None)
    overdue.start("mini", {}, "handler1")

    def mark_fired(factory, fail: bool):
        with transaction(factory) as session:
            row = session.execute(select(Timer)).scalar_one()
            row.status, row.fired_at = TimerStatus.FIRED, row.due_at + timedelta(seconds=2)
            session.flush()
            if fail:
                raise RuntimeError("lost before commit")

    def rolled_back(factory):
        with pytest.raises(RuntimeError):
            mark_fired(factory, fail=True)
        return timers.SweepResult()

    heartbeat.sweep_and_beat(rolled_back, overdue.session_factory)
    [row] = rows(overdue.session_factory)
    assert (row.timers_fired, row.stats["lateness_seconds"]["count"]) == (0, 0)
    heartbeat.sweep_and_beat(lambda factory: mark_fired(factory, fail=False), overdue.session_factory)
    [row] = rows(overdue.session_factory)
    lateness = row.stats["lateness_seconds"]
    assert (row.timers_fired, lateness["count"], lateness["sum"]) == (1, 1, 2.0)
    assert lateness["counts"][:6] == [0, 0, 0, 0, 0, 1]   # 2 s: in the 2.5 s bucket, not the 1.5 s one


def test_two_worker_processes_each_keep_their_own_row_and_count_each_timer_once(overdue, db_url):
    for _ in range(20):
        overdue.start("mini", {}, "handler1")
    # w2 logs JSON (PLANFLOW_LOG_FORMAT=json): its report lines are JSON objects on stderr instead of text on stdout.
    workers = [subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--once"], cwd=ROOT,
                                env={**os.environ, "PLANFLOW_DATABASE_URL": db_url, "PLANFLOW_WORKER_NAME": name,
                                     "PLANFLOW_LOG_FORMAT": log_format},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name, log_format in (("w1", "text"), ("w2", "json"))]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    found = rows(overdue.session_factory)
    assert [r.name for r in found] == ["w1", "w2"]
    assert sum(r.timers_fired for r in found) == 20
    assert sum(r.stats["lateness_seconds"]["count"] for r in found) == 20
    text_reports = [line for line in outputs[0][0].splitlines() if line.startswith("fired ")]
    json_reports = [json.loads(line) for line in outputs[1][1].splitlines()]
    assert outputs[1][0] == ""   # every line went to the JSON log on stderr, and each one parsed
    fired = [int(line.split()[1]) for line in text_reports] + [
        int(r["message"].split()[1]) for r in json_reports
        if r["logger"] == "planflow.worker" and r["message"].startswith("fired ")]
    assert sum(fired) == 20


def test_an_unknown_log_format_is_refused_with_the_allowed_values(db_url):
    result = subprocess.run([sys.executable, "-m", "engine.cli", "worker", "--once"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PLANFLOW_DATABASE_URL": db_url,
                                                        "PLANFLOW_LOG_FORMAT": "xml"})
    assert result.returncode == 2
    assert result.stderr.strip() == "error: PLANFLOW_LOG_FORMAT='xml' must be one of: text, json"
