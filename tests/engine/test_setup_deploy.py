"""Plans deployed in the browser stay deployed: set-up and file deploys never silently replace them."""
from __future__ import annotations

import re
import shlex
import shutil

import pytest
from click.testing import CliRunner

from engine.calendar.clock import utcnow
from engine.cli import main
from engine.db import make_engine, make_session_factory, transaction
from engine.plans import drafts
from engine.plans import versions as plans
from tests.support import PLAN_PATHS, ROOT


def setup_deploy_steps() -> list[list[str]]:
    """The `planflow deploy` lines of the Makefile's `db` target (what `make run` and `make worker` run)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^db:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    return [shlex.split(line.strip())[1:] for line in recipe.splitlines() if "$(PLANFLOW) deploy" in line]


@pytest.fixture
def planflow(tmp_path, monkeypatch):
    """Run `planflow ARGS…` in the checkout against a fresh database; returns (exit code, stdout, stderr)."""
    url = f"sqlite:///{tmp_path / 'setup.sqlite3'}"
    monkeypatch.chdir(PLAN_PATHS[0].parent)
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(main, list(args), env={"PLANFLOW_DATABASE_URL": url}, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr
    invoke.sessions = lambda: make_session_factory(make_engine(url))
    return invoke


def deploy_renamed_in_browser(planflow, new_name: str) -> int:
    factory = planflow.sessions()
    with transaction(factory) as session:
        xml = plans.current_version(session, "general_complaint").bpmn_xml
        renamed = re.sub(r'(<bpmn:process id="general_complaint"[^>]*name=")[^"]*"', rf'\g<1>{new_name}"', xml, 1)
        assert renamed != xml
        return drafts.deploy_draft(session, "general_complaint", renamed, 0, "process_owner1", utcnow()).version


def current(planflow):
    with transaction(planflow.sessions()) as session:
        version = plans.current_version(session, "general_complaint")
        return version.version, version.name, version.deployed_by


def run_setup(planflow) -> list[str]:
    outputs = []
    for step in setup_deploy_steps():
        code, out, err = planflow(*step)
        assert code == 0, err
        outputs.append(out)
    return outputs


def test_setup_deploys_the_plans_into_an_empty_database(planflow):
    assert setup_deploy_steps(), "the Makefile's db target deploys the plans"
    planflow("init")
    run_setup(planflow)
    assert current(planflow) == (1, current(planflow)[1], "setup")


def test_a_restart_keeps_the_version_deployed_in_the_browser(planflow):
    planflow("init")
    run_setup(planflow)
    assert deploy_renamed_in_browser(planflow, "Complaints, renamed") == 2
    outputs = run_setup(planflow)
    assert current(planflow) == (2, "Complaints, renamed", "process_owner1")
    assert "general_complaint: version 2 kept" in "".join(outputs)


def test_a_file_deploy_over_a_browser_version_is_refused_naming_both_versions(planflow):
    planflow("init")
    run_setup(planflow)
    deploy_renamed_in_browser(planflow, "Complaints, renamed")
    code, _, err = planflow("deploy", "processes", "forms", "--as", "cli")
    assert code == 3
    assert "general_complaint" in err and "version 2" in err and "process_owner1" in err
    assert "version 3" in err and "--replace" in err
    assert current(planflow)[0] == 2, "nothing was stored"


def test_replace_deploys_the_files_over_a_browser_version(planflow):
    planflow("init")
    run_setup(planflow)
    deploy_renamed_in_browser(planflow, "Complaints, renamed")
    code, out, err = planflow("deploy", "processes", "forms", "--as", "cli", "--replace")
    assert code == 0, err
    assert current(planflow)[:1] == (3,) and current(planflow)[2] == "cli"


def test_a_file_deploy_over_a_file_version_needs_no_flag(planflow, tmp_path):
    planflow("init")
    run_setup(planflow)
    changed = shutil.copytree(PLAN_PATHS[0], tmp_path / "processes")
    xml = (changed / "general_complaint.bpmn").read_text(encoding="utf-8")
    (changed / "general_complaint.bpmn").write_text(
        re.sub(r'(<bpmn:process id="general_complaint"[^>]*name=")[^"]*"', r'\g<1>From git"', xml, 1),
        encoding="utf-8")
    code, _, err = planflow("deploy", str(changed), "forms", "--as", "cli")
    assert code == 0, err
    assert current(planflow)[:2] == (2, "From git")
