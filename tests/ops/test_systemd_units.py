"""The systemd units in deploy/systemd start a working deployment with exactly their command lines.

Each unit's ExecStart, Environment and RuntimeDirectory are read from the file; only the
install paths are replaced (the venv by this test's, /etc/planflow/planflow.env by the
shipped example with a test database, the runtime folder by a temporary one).
"""
from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from engine.db import make_engine
from tests.conftest import SERVER_URL
from tests.ops.test_server import free_port, get
from tests.support import ROOT

UNITS = ROOT / "deploy" / "systemd"
INSTALLED_VENV = "/opt/planflow/venv"
# PostgreSQL as in production when the test server is configured; else a SQLite file, so the units are still run.
BACKENDS = ["postgresql"] if SERVER_URL else ["sqlite"]


def unit_settings(path: Path) -> dict[str, list[str]]:
    """The [Service] section's settings, each key with every value it is given, in order."""
    settings: dict[str, list[str]] = {}
    section = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service":
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


class Deployment:
    """One host's services, run as systemd would run them, in a temporary folder."""

    def __init__(self, tmp: Path, database_url: str, port: int):
        self.tmp, self.port = tmp, port
        self.specifiers = {"%t": str(tmp / "run"), "%H": socket.gethostname(), "%%": "%"}
        configured = env_file(UNITS / "planflow.env.example")
        configured.update({"PLANFLOW_DATABASE_URL": database_url, "PLANFLOW_SECRET_KEY": "unit-test-secret",
                           "PLANFLOW_BIND": f"127.0.0.1:{port}", "PLANFLOW_WEB_WORKERS": "2",
                           "PLANFLOW_WEB_GRACEFUL_TIMEOUT": "3", "PLANFLOW_WORKER_INTERVAL": "0.2",
                           "PLANFLOW_READY_HEARTBEAT_SECONDS": "10"})
        for key in ("PLANFLOW_ATTACHMENTS_DIR", "PLANFLOW_AUDIT_DIR", "PLANFLOW_AUDIT_KEY_FILE"):
            configured[key] = configured[key].replace("/var/lib/planflow", str(tmp / "state"))
        self.configured = configured
        self.processes: list[subprocess.Popen] = []

    def _expand(self, value: str, instance: str = "") -> str:
        for specifier, replacement in {**self.specifiers, "%i": instance}.items():
            value = value.replace(specifier, replacement)
        return value

    def command(self, unit: str, instance: str = "") -> tuple[list[str], dict[str, str]]:
        """The unit's ExecStart as an argument list, and the environment systemd would give it."""
        settings = unit_settings(UNITS / unit)
        assert settings["EnvironmentFile"] == ["/etc/planflow/planflow.env"]
        [exec_start] = settings["ExecStart"]
        argv = shlex.split(self._expand(exec_start, instance))
        assert argv[0].startswith(INSTALLED_VENV + "/bin/")
        argv[0] = str(Path(sys.prefix) / "bin" / Path(argv[0]).name)
        env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **self.configured}
        for assignment in settings.get("Environment", []):
            key, _, value = self._expand(assignment, instance).partition("=")
            env[key] = value
        for folder in settings.get("RuntimeDirectory", []):
            (self.tmp / "run" / folder).mkdir(parents=True, exist_ok=True)
        (self.tmp / "state").mkdir(exist_ok=True)
        return argv, env

    def start(self, unit: str, instance: str = "") -> subprocess.Popen:
        argv, env = self.command(unit, instance)
        process = subprocess.Popen(argv, env=env, cwd=self.tmp / "state", stdout=subprocess.DEVNULL,
                                   stderr=open(self.tmp / f"{unit}{instance}.log", "w"), start_new_session=True)
        self.processes.append(process)
        return process

    def stop_all(self) -> list[int]:
        codes = []
        for process in self.processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                codes.append(process.wait(timeout=20))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes.append(None)
        return codes

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'deployed.sqlite3'}"
        return
    schema = f"planflow_units_{os.getpid()}"
    with make_engine(SERVER_URL).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{SERVER_URL}{'&' if '?' in SERVER_URL else '?'}options=-csearch_path%3D{schema}"
    with make_engine(SERVER_URL).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not {what} after {seconds} s")


def test_the_web_unit_and_a_worker_unit_serve_a_ready_deployment(tmp_path, database_url):
    deployment = Deployment(tmp_path, database_url, free_port())
    argv, env = deployment.command("planflow-web.service")
    upgrade = subprocess.run([argv[0], "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr   # what the deployment guide has you run first
    web = deployment.start("planflow-web.service")
    port = deployment.port
    try:
        wait_for(lambda: get(port, "/healthz")[0] == 200, 40, "serving")
        status, _, body = get(port, "/readyz")
        assert status == 503 and b'"failed":["worker"]' in body.replace(b" ", b"")   # no worker yet
        deployment.start("planflow-worker@.service", "1")
        wait_for(lambda: get(port, "/readyz")[0] == 200, 40, "ready once the worker's heartbeat is recent")
        status, _, body = get(port, "/metrics")
        assert status == 200
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for family in text_string_to_metric_families(body.decode()) for s in family.samples}
        worker = f"{socket.gethostname()}-1"   # PLANFLOW_WORKER_NAME=%H-%i
        assert samples[("planflow_database_up", ())] == 1
        assert samples[("planflow_worker_heartbeat_age_seconds", (("worker", worker),))] < 10
        assert samples[("planflow_sweep_duration_seconds_count", (("worker", worker),))] >= 1
        assert web.poll() is None
    finally:
        codes = deployment.stop_all()
    assert codes[0] == 0, deployment.log("planflow-web.service")
    assert (tmp_path / "run" / "planflow-web").is_dir()   # the multiprocess metrics folder was used
    assert any((tmp_path / "run" / "planflow-web").glob("*.db"))
