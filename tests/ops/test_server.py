"""`planflow serve`: a real gunicorn master with worker processes, real HTTP, a real SQLite file."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, headers=None):
    """(status, headers as a list, body) of one request on its own connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def wait_until_serving(port: int, process, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited while starting"
        try:
            if get(port, "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not answer /healthz")


class Output:
    """A process's stderr collected line by line in the background."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=lambda: self.lines.extend(stream), daemon=True)
        self._thread.start()

    def join(self):
        self._thread.join(timeout=10)
        return self.lines


def both_workers_up(port: int, output: Output, timeout: float = 60.0) -> None:
    """Wait until each of the two workers has answered /healthz (a worker still importing the app answers nothing)."""
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(8) as pool:
        while time.monotonic() < deadline:
            list(pool.map(lambda _: get(port, "/healthz"), range(8)))
            answered = set()
            for line in list(output.lines):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("logger") == "gunicorn.access" and record.get("path") == "/healthz":
                    answered.add(record["process"])
            if len(answered) >= 2:
                return
            time.sleep(0.2)
    raise AssertionError("the second worker never answered")


@pytest.fixture
def environment(tmp_path):
    env = {**os.environ, "PLANFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}",
           "PLANFLOW_SECRET_KEY": "test-secret", "PLANFLOW_READY_HEARTBEAT_SECONDS": "0",
           "PLANFLOW_WEB_GRACEFUL_TIMEOUT": "3"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    result = subprocess.run([sys.executable, "-m", "webapp.cli", "init"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return env


def start(environment, *options, **extra_env):
    return subprocess.Popen([sys.executable, "-m", "webapp.cli", "serve", *options], cwd=ROOT,
                            env={**environment, **extra_env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def stop(process, signal_number=signal.SIGTERM) -> int:
    os.killpg(process.pid, signal_number)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


def test_gunicorn_workers_serve_and_metrics_add_up_requests_from_every_worker(environment):
    port = free_port()
    server = start(environment, "--port", str(port), "--workers", "2", "--threads", "1",
                   PLANFLOW_LOG_FORMAT="json")
    output = Output(server.stderr)
    try:
        wait_until_serving(port, server)
        both_workers_up(port, output)
        status, headers, _ = get(port, "/login")
        assert status == 200
        assert [value for name, value in headers if name.lower() == "server"] == ["PlanFlow"]
        with ThreadPoolExecutor(8) as pool:   # one thread per worker: concurrent requests reach both workers
            statuses = list(pool.map(lambda _: get(port, "/login")[0], range(40)))
        assert statuses == [200] * 40
        status, _, body = get(port, "/metrics")
        assert status == 200
        served = {tuple(sorted(s.labels.items())): s.value
                  for family in text_string_to_metric_families(body.decode())
                  for s in family.samples if s.name == "planflow_http_request_duration_seconds_count"}
        assert served[(("endpoint", "auth.login"), ("method", "GET"), ("status", "200"))] == 41
        assert get(port, "/readyz")[0] == 200
    finally:
        code = stop(server)
    lines = output.join()
    assert code == 0, lines
    records = [json.loads(line) for line in lines]   # every line is JSON
    logins = [r for r in records if r["logger"] == "gunicorn.access" and r.get("path") == "/login"]
    assert len(logins) == 41 and {r["status"] for r in logins} == {"200"}
    assert len({r["process"] for r in logins}) == 2, "both workers served"
    assert any("Booting worker" in r["message"] for r in records)


def test_serve_refuses_a_bad_setting_with_one_line(tmp_path):
    env = {**os.environ, "PLANFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PLANFLOW_WEB_WORKERS": "zero"}
    result = subprocess.run([sys.executable, "-m", "webapp.cli", "serve"], cwd=ROOT, capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: PLANFLOW_WEB_WORKERS='zero' must be a whole number of at least 1")


def test_serve_before_init_says_to_run_init(tmp_path):
    env = {**os.environ, "PLANFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    result = subprocess.run([sys.executable, "-m", "webapp.cli", "serve"], cwd=ROOT, capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 2 and "run `planflow init` first" in result.stderr


def test_serve_dev_runs_werkzeug_with_the_reloader(environment):
    port = free_port()
    server = start(environment, "--dev", "--port", str(port))
    output = Output(server.stderr)
    try:
        wait_until_serving(port, server)
        status, headers, _ = get(port, "/healthz")
        assert status == 200
        assert [value for name, value in headers if name.lower() == "server"] == ["PlanFlow"]
    finally:
        stop(server)
    assert any("Restarting with" in line for line in output.join())  # Werkzeug's reloader started the server
