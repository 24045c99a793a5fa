"""A live `planflow serve` and `planflow worker` survive a payload that crashed them before.

The payload sits in a timer of a plan deployed with `planflow deploy`; it reads case data,
so deploy cannot trial-run it, and it crashes when a case registered through the API
carries `note: "boom"`. Before the process boundary this one request killed the server.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.engine.test_sandbox_boundary import DEEP_TUPLE_HASH
from tests.samples import one_task_plan, write_plan
from tests.support import ROOT

CRASH_ON_BOOM = f"'PT24H' if note != 'boom' else str({DEEP_TUPLE_HASH})"


@pytest.fixture
def environment(tmp_path):
    # A generous time limit: the payload must crash its sandbox process, not run out of time on a busy machine.
    return {**os.environ, "PLANFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}",
            "PLANFLOW_WORKER_INTERVAL": "0.2", "PLANFLOW_SANDBOX_TIME_LIMIT": "5"}


def test_the_server_and_the_worker_answer_after_a_crash_payload_arrives_through_the_api(tmp_path, environment):
    planflow(environment, "init")
    planflow(environment, "deploy", str(write_plan(tmp_path / "plan", one_task_plan(timer=CRASH_ON_BOOM))))
    planflow(environment, "user", "add", "handler1", "--role", "handler", "--password", "live-test-password")
    token = planflow(environment, "token", "create", "handler1").stdout.strip()
    port = _free_port()
    server = _background(environment, "serve", "--port", str(port))
    worker = _background(environment, "worker")
    try:
        _wait_until_serving(port)
        status, answer = _request(port, token, "POST", "/api/v1/cases", {"plan": "mini", "data": {"note": "boom"}})
        print(f"\nanswer to the crash payload: {status} {json.dumps(answer, ensure_ascii=False)[:400]}")
        assert server.poll() is None, "the server survived the payload"
        assert "crashed its sandbox process" in json.dumps(answer, ensure_ascii=False), (status, answer)
        status, created = _request(port, token, "POST", "/api/v1/cases", {"plan": "mini", "data": {"note": "fine"}})
        assert status == 201, created
        status, fetched = _request(port, token, "GET", f"/api/v1/cases/{created['number']}")
        assert status == 200 and fetched["number"] == created["number"]
        time.sleep(0.5)   # a few worker sweeps
        assert server.poll() is None and worker.poll() is None
    finally:
        for process in (server, worker):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_planflow_deploy_reports_a_crash_payload_in_a_timer_as_a_problem(tmp_path, environment):
    planflow(environment, "init")
    folder = write_plan(tmp_path / "plan", one_task_plan(timer=f"str({DEEP_TUPLE_HASH})"))
    result = planflow(environment, "deploy", str(folder), check=False)
    assert result.returncode == 3, (result.returncode, result.stderr)
    assert "Timer_Deadline" in result.stderr and "crashed its sandbox process" in result.stderr


def planflow(environment, *arguments, check=True):
    result = subprocess.run([sys.executable, "-m", "engine.cli", *arguments], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, (arguments, result.returncode, result.stderr)
    return result


def _background(environment, *arguments):
    # webapp.cli: the `planflow` command with `serve` (the engine's own commands stay in engine.cli)
    return subprocess.Popen([sys.executable, "-m", "webapp.cli", *arguments], cwd=ROOT, env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(port, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("planflow serve did not start")


def _request(port, token, method, path, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
