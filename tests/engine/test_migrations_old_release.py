"""A database that an earlier PlanFlow release really made and worked in is adopted by `planflow db upgrade`.

The earlier release's own code (taken from this repository's history with `git archive`) creates
the database, deploys the plans, registers a case and completes its first task; today's code
then upgrades it, and the case goes on. Skipped where the history is not there (a shallow clone).
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from engine.cli import main
from engine.db import make_engine
from engine.migrations import schema
from tests.conftest import SERVER_URL
from tests.engine.test_migrations import differences
from tests.support import ROOT

RELEASES = {
    "ff48f7c": "old audit trail, no login throttling, attachments or messages",
    "7ecb256": "the last release before migrations: its start-up added missing columns",
}
START = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "category": "service",
         "content": "快递延误"}


# An earlier release's CLI: a fresh database with general_complaint deployed, the demo users, and one case.
SETUP_AND_START = (["init"],
                   ["deploy", "processes/general_complaint.bpmn", "processes/complaint_closure.bpmn",
                    "processes/compensation_approval.dmn", "forms", "--as", "setup"],
                   ["demo-users"],
                   ["start", "general_complaint", "--as", "intake1", "--data", json.dumps(START)])


def extract(commit: str, into) -> bool:
    found = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True)
    if found.returncode != 0:
        return False
    archive = subprocess.run(["git", "archive", commit, "engine", "processes", "forms"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return True


OLD_RELEASE_SCRIPT = """
import json, sys
from click.testing import CliRunner
from engine.cli import main
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(main, args)
    if result.exit_code != 0:
        sys.exit(f"planflow {' '.join(args)}: {result.output}")
    print(result.output.strip())
"""


def old_planflow(code_root, url: str, audit_key, *commands: list[str]) -> list[str]:
    """Run commands with an earlier release's code, in one process of its own; what each printed."""
    env = {**{k: v for k, v in os.environ.items() if k != "PLANFLOW_AUDIT_KEY"}, "PYTHONPATH": str(code_root),
           "PLANFLOW_DATABASE_URL": url, "PLANFLOW_AUDIT_KEY_FILE": str(audit_key),
           "PLANFLOW_AUDIT_DIR": str(audit_key.parent / "audit")}
    result = subprocess.run([sys.executable, "-c", OLD_RELEASE_SCRIPT, json.dumps(commands)],
                            cwd=code_root, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def planflow(url: str, *args: str) -> str:
    """Today's planflow, in this process."""
    result = CliRunner().invoke(main, list(args), env={"PLANFLOW_DATABASE_URL": url})
    assert result.exit_code == 0, f"planflow {' '.join(args)}: {result.output}"
    return result.output


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    if not SERVER_URL:
        pytest.skip("PLANFLOW_TEST_POSTGRES_URL is not set")
    name = f"planflow_old_release_{os.getpid()}"
    with make_engine(SERVER_URL).begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {name}"))
    yield f"{SERVER_URL}{'&' if '?' in SERVER_URL else '?'}options=-csearch_path%3D{name}"
    with make_engine(SERVER_URL).begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))


@pytest.mark.parametrize("commit", RELEASES)
def test_a_database_an_earlier_release_made_is_upgraded_and_its_case_goes_on(commit, url, tmp_path, monkeypatch):
    old = tmp_path / commit
    if not extract(commit, old):
        pytest.skip(f"release {commit} is not in this clone's history")
    key = tmp_path / "audit_key"
    printed = old_planflow(old, url, key, *SETUP_AND_START,
                           ["claim", "1", "--as", "intake1"],
                           ["complete", "1", "--as", "intake1", "--data",
                            json.dumps({"contact_note": "已联系", "grade": "general"})])
    number = next(line for line in printed if line.startswith("TS-"))

    monkeypatch.delenv("PLANFLOW_AUDIT_KEY", raising=False)
    monkeypatch.setenv("PLANFLOW_AUDIT_KEY_FILE", str(key))   # the key the old release's events were signed with
    monkeypatch.setenv("PLANFLOW_AUDIT_DIR", str(tmp_path / "audit"))
    assert f"brought to {schema.BASELINE} and stamped" in planflow(url, "db", "upgrade")
    engine = make_engine(url)
    assert schema.current(engine) == schema.head()
    assert differences(engine, server_defaults=True) == []
    engine.dispose()

    tasks = json.loads(planflow(url, "tasks", "--as", "handler1", "--json"))
    assert [(t["case"], t["role"]) for t in tasks] == [(number, "handler")]
    planflow(url, "claim", str(tasks[0]["id"]), "--as", "handler1")
    assert "intact" in planflow(url, "audit", "verify")
    planflow(url, "doctor")
    assert planflow(url, "start", "general_complaint", "--as", "intake1", "--data", json.dumps(START)).strip() != number
