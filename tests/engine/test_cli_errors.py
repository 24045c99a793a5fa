"""Every expected failure of `planflow` is one line on stderr and a non-zero exit; --debug shows the traceback."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.exc import OperationalError

from engine.cli import main, supervise
from engine.db import make_engine
from tests.support import PLAN_PATHS, ROOT

UNREACHABLE = "postgresql+psycopg://planflow@127.0.0.1:9/nothing?connect_timeout=2"


@pytest.fixture
def planflow(tmp_path):
    """`planflow ARGS…` in-process on a fresh SQLite file; exceptions escaping the command fail the test."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"

    def invoke(*args, database=url):
        result = CliRunner().invoke(main, list(args), env={"PLANFLOW_DATABASE_URL": database},
                                    catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr
    return invoke


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err


@pytest.mark.parametrize("args", [("tasks", "--as", "x"), ("init",), ("worker", "--once"), ("audit", "verify")])
def test_an_unreachable_database_is_one_line(planflow, args):
    code, _, err = planflow(*args, database=UNREACHABLE)
    assert code == 5 and one_line(err) and "database" in err, err


def test_debug_shows_the_traceback(planflow):
    code, _, err = planflow("--debug", "tasks", "--as", "x", database=UNREACHABLE)
    assert code == 5 and "Traceback" in err and "OperationalError" in err
    planflow("init")
    code, _, err = planflow("--debug", "token", "create", "nobody")
    assert code == 2 and "Traceback" in err and err.endswith("error: unknown user 'nobody'\n")


def test_a_file_that_is_not_utf8_is_one_line(planflow, tmp_path):
    planflow("init")
    bad = tmp_path / "plan.bpmn"
    bad.write_bytes(b"<?xml version='1.0'?>\xff\xfe<definitions/>")
    code, _, err = planflow("deploy", str(bad))
    assert code == 2 and one_line(err) and "UTF-8" in err, err
    calendar = tmp_path / "calendar.yaml"
    calendar.write_bytes(b"\xff\xfe\x00bad")
    code, _, err = planflow("calendar", "load", str(calendar))
    assert code == 2 and one_line(err), err


def test_a_missing_or_unreadable_file_is_one_line(planflow, tmp_path):
    planflow("init")
    code, _, err = planflow("calendar", "load", str(tmp_path / "missing.yaml"))
    assert code == 2 and one_line(err) and "missing.yaml" in err, err
    code, _, err = planflow("calendar", "load", str(tmp_path))
    assert code == 2 and one_line(err), err


def test_bad_json_and_an_unknown_user_are_one_line(planflow):
    planflow("init")
    planflow("deploy", *map(str, PLAN_PATHS))
    code, _, err = planflow("start", "general_complaint", "--data", "[1, 2", "--as", "nobody")
    assert code == 2 and one_line(err)
    code, _, err = planflow("token", "create", "nobody")
    assert code == 2 and one_line(err) and "nobody" in err
    code, _, err = planflow("user", "unlock", "nobody")
    assert code == 2 and one_line(err) and "nobody" in err


def test_the_installed_command_prints_one_line_when_the_database_is_unreachable():
    result = subprocess.run([sys.executable, "-m", "engine.cli", "tasks", "--as", "x"], cwd=ROOT, capture_output=True,
                            text=True, env={"PLANFLOW_DATABASE_URL": UNREACHABLE, "PATH": "/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 5 and one_line(result.stderr), result.stderr


def test_the_worker_logs_a_database_outage_once_a_minute_and_recovers():
    clock = [0.0]
    lines: list[str] = []
    outage_until = 150.0
    worked: list[float] = []

    def work():
        if clock[0] < outage_until:
            with make_engine(UNREACHABLE).connect():  # a real failing connection
                pass
        worked.append(clock[0])

    def sleep(seconds):
        clock[0] += seconds

    supervise(work, interval=5.0, echo=lines.append, clock=lambda: clock[0], sleep=sleep,
              stop=lambda: clock[0] >= 200)
    outage = [line for line in lines if "database" in line and "unreachable" in line]
    assert len(outage) == 3  # at 0, 60 and 120 seconds, not every 5 seconds
    assert lines[-1] == "database reachable again"
    assert worked and worked[0] >= outage_until


def test_an_admin_unlocks_a_locked_account_from_the_command_line(planflow, tmp_path):
    from datetime import timedelta

    from engine.calendar.clock import utcnow
    from engine.db import make_session_factory, transaction
    from engine.people import logins

    planflow("init")
    assert planflow("user", "add", "li", "--role", "handler", "--password", "s3cret")[0] == 0
    factory = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'cli.sqlite3'}"))
    moment = utcnow() - timedelta(days=2)
    for _ in range(logins.LOCK_AFTER):
        with transaction(factory) as session:
            logins.sign_in(session, "li", "wrong", "10.0.0.1", moment)
        moment += timedelta(minutes=4)
    with pytest.raises(logins.AccountLocked), transaction(factory) as session:
        logins.sign_in(session, "li", "s3cret", "10.0.0.1", utcnow())
    code, out, _ = planflow("user", "unlock", "li")
    assert code == 0 and "unlocked" in out
    with transaction(factory) as session:
        assert logins.sign_in(session, "li", "s3cret", "10.0.0.1", utcnow()).username == "li"


def test_password_change_and_role_removal_from_the_command_line(planflow, tmp_path):
    planflow("init")
    planflow("user", "add", "li", "--role", "handler", "--role", "intake", "--password", "s3cret")
    assert planflow("user", "password", "li", "--password", "n3w")[0] == 0
    assert planflow("user", "remove-role", "li", "intake")[0] == 0
    from engine.db import make_session_factory, transaction
    from engine.people import users
    factory = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'cli.sqlite3'}"))
    with transaction(factory) as session:
        user = users.get_user(session, "li")
        assert user.role_keys == {"handler"} and users.check_password(user.password_hash, "n3w")
        assert user.session_version == 2


def wait_until(condition, seconds: float) -> None:
    """Poll `condition` until it holds; fail after `seconds`."""
    import time
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still not true after {seconds} s")
        time.sleep(0.2)


def test_a_running_worker_rides_out_a_broken_database_and_fires_once_it_is_back(tmp_path):
    import contextlib
    import os
    import signal
    import sqlite3
    import time
    from datetime import timedelta

    from sqlalchemy import select

    from engine.calendar.clock import utcnow
    from engine.db import create_schema, make_session_factory, transaction
    from engine.models import Timer, TimerStatus
    from tests.samples import one_task_plan, write_plan
    from tests.support import Desk

    path = tmp_path / "worker.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    desk = Desk.open(make_session_factory(engine), utcnow() - timedelta(days=2),
                     [write_plan(tmp_path / "plans", one_task_plan())])
    desk.start("mini", {}, "handler1")  # its 24-hour deadline passed a day ago
    engine.dispose()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path.rename(tmp_path / "kept.sqlite3")
    path.write_bytes(b"this is not a database " * 100)  # the outage
    worker = subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--interval", "0.2"], cwd=ROOT,
                              env={**os.environ, "PLANFLOW_DATABASE_URL": f"sqlite:///{path}"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(worker.stderr), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("database is unreachable" in line for line in lines), 60)
        time.sleep(2)  # some ten more failed sweeps, which must not be logged again
        assert worker.poll() is None, lines
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        (tmp_path / "kept.sqlite3").rename(path)  # the database is back
        factory = make_session_factory(make_engine(f"sqlite:///{path}"))

        def fired():
            with transaction(factory, readonly=True) as session:
                return session.execute(select(Timer.status)).scalar_one() == TimerStatus.FIRED
        wait_until(fired, 60)
        # The timer commits before the sweep ends (the worker still writes its heartbeat): wait for the sweep.
        wait_until(lambda: any("database reachable again" in line for line in lines), 30)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=30)
        reader.join(timeout=10)
    err = "".join(lines)
    outage = [line for line in err.splitlines() if "database is unreachable" in line]
    assert len(outage) == 1, err
    assert "database reachable again" in err and "Traceback" not in err.split("KeyboardInterrupt")[0], err
