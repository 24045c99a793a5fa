"""The `planflow` command end to end on a real SQLite file: one clear line on every error."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from engine.cli import main
from engine.db import make_engine, transaction, make_session_factory
from engine.models import AuditEvent
from tests.support import PLAN_PATHS


@pytest.fixture
def planflow(tmp_path):
    """Run `planflow ARGS…` against a fresh database; returns (exit code, stdout, stderr)."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(main, list(args), env={"PLANFLOW_DATABASE_URL": url}, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr
    invoke.url = url
    return invoke


def test_a_complaint_is_registered_and_worked_from_the_command_line(planflow):
    assert planflow("init")[0] == 0
    code, out, _ = planflow("deploy", *map(str, PLAN_PATHS), "--json")
    assert code == 0 and {"plan_key": "general_complaint", "version": 1, "created": True} in json.loads(out)
    assert planflow("user", "add", "wang", "--role", "intake", "--password", "pw")[0] == 0
    registration = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "content": "投诉内容"}
    code, number, _ = planflow("start", "general_complaint", "--data", json.dumps(registration), "--as", "wang")
    assert code == 0 and number.strip().startswith("TS-")
    code, out, _ = planflow("tasks", "--as", "wang", "--json")
    [task] = json.loads(out)
    assert (task["element_id"], task["role"], task["case"]) == ("Task_FirstContact", "intake", number.strip())
    assert task["due_at"] is not None
    assert planflow("claim", str(task["id"]), "--as", "wang")[0] == 0
    code, out, _ = planflow("complete", str(task["id"]), "--as", "wang", "--data",
                            json.dumps({"contact_note": "已联系", "grade": "general"}))
    assert code == 0 and "核实与协商 → handler" in out
    code, out, _ = planflow("audit", "verify", number.strip())
    assert code == 0 and "intact" in out


def test_errors_are_one_line_on_stderr_with_a_non_zero_exit(planflow):
    code, _, err = planflow("tasks", "--as", "wang")
    assert code != 0 and err.strip() == "error: the database is not initialised: run `planflow init` first"
    planflow("init")
    code, _, err = planflow("tasks", "--as", "ghost")
    assert code == 2 and err == "error: unknown user 'ghost'\n"
    code, _, err = planflow("start", "general_complaint", "--data", "{oops", "--as", "x")
    assert code == 2 and "not valid JSON" in err and err.count("\n") == 1
    planflow("deploy", *map(str, PLAN_PATHS))
    planflow("user", "add", "wang", "--role", "intake", "--password", "pw")
    code, _, err = planflow("start", "general_complaint", "--data", "{}", "--as", "wang")
    assert code == 4 and "complainant" in err and err.count("\n") == 1


def test_deploy_refusal_lists_every_problem(planflow, tmp_path):
    planflow("init")
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<bpmn:definitions", encoding="utf-8")
    code, _, err = planflow("deploy", str(broken))
    assert code == 3 and "broken.bpmn" in err and "malformed XML" in err


def test_audit_verify_names_the_tampered_event(planflow):
    planflow("init")
    planflow("deploy", *map(str, PLAN_PATHS))
    factory = make_session_factory(make_engine(planflow.url))
    with transaction(factory) as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(actor="mallory"))
    code, out, _ = planflow("audit", "verify")
    assert code == 1 and "broken at event 1" in out


def test_export_writes_the_deployed_plans_as_files(planflow, tmp_path):
    planflow("init")
    planflow("deploy", *map(str, PLAN_PATHS))
    code, out, _ = planflow("export", str(tmp_path / "exported"))
    assert code == 0 and "file(s) written" in out
    assert (tmp_path / "exported/processes/general_complaint.bpmn").exists()
    assert (tmp_path / "exported/forms/gc_register.form").exists()
