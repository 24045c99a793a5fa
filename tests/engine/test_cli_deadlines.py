"""What the `planflow` command shows people about deadlines: local time, and the provisional flag."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from engine.cli import main
from tests.engine.test_deadlines import YEAR_2027
from tests.samples import one_task_plan, write_plan

# Counted from a receipt in a year without the notice: Thu 4 Feb 2027 (1); 春节 5–10 Feb off by
# statute; Thu 11 (2), Fri 12 (3) — due at the end of Fri 12 Feb, 16:00 UTC, provisional.
TIMER = "working_days(3, since='2027-02-03T10:00')"


@pytest.fixture
def planflow(tmp_path):
    """Run `planflow ARGS…` on a fresh database holding the mini plan and a handler; returns (code, out, err)."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    runner = CliRunner()

    def invoke(*args, zone="Asia/Shanghai"):
        result = runner.invoke(main, list(args), catch_exceptions=False,
                               env={"PLANFLOW_DATABASE_URL": url, "PLANFLOW_TIMEZONE": zone})
        return result.exit_code, result.stdout, result.stderr

    assert invoke("init")[0] == 0
    assert invoke("deploy", str(write_plan(tmp_path / "plans", one_task_plan(timer=TIMER))))[0] == 0
    assert invoke("user", "add", "li", "--role", "handler", "--password", "pw")[0] == 0
    assert invoke("user", "add", "owner", "--role", "process_owner", "--password", "pw")[0] == 0
    code, _, err = invoke("start", "mini", "--data", "{}", "--as", "li")
    assert code == 0, err
    return invoke


def test_tasks_show_due_times_in_local_time_with_the_provisional_flag(planflow):
    code, out, _ = planflow("tasks", "--as", "li")
    assert code == 0
    assert "due 2027-02-12 24:00 (provisional)" in out and "+00:00" not in out
    [task] = json.loads(planflow("tasks", "--as", "li", "--json")[1])
    assert task["due_at"] == "2027-02-12T16:00:00+00:00"  # the machine output keeps ISO with its offset


def test_local_time_follows_the_time_zone_setting(planflow):
    _, out, _ = planflow("tasks", "--as", "li", zone="Europe/Berlin")
    assert "due 2027-02-12 17:00 (provisional)" in out


def test_complete_line_shows_the_next_due_time_locally_and_flags_it_provisional(planflow):
    [task] = json.loads(planflow("tasks", "--as", "li", "--json")[1])
    assert planflow("claim", str(task["id"]), "--as", "li")[0] == 0
    code, out, _ = planflow("complete", str(task["id"]), "--data", '{"note": "loop"}', "--as", "li")
    assert code == 0
    assert "next: Verify → handler (due 2027-02-12 24:00, provisional)" in out


def test_calendar_load_lists_the_moves_in_local_time(planflow, tmp_path):
    notice = tmp_path / "2027.yaml"
    notice.write_text(YEAR_2027, encoding="utf-8")
    code, out, _ = planflow("calendar", "load", str(notice), "--as", "owner")
    # With the (test) notice: Thu 4 (1), Sun 14 worked (2), Mon 15 (3).
    assert code == 0 and "due 2027-02-12 24:00 → 2027-02-15 24:00" in out


def test_calendar_show_lists_the_statutory_holidays_of_a_year_without_the_notice(planflow):
    code, out, _ = planflow("calendar", "show", "2027")
    assert code == 0 and "statutory holidays" in out
    assert "2027-02-05 周五  休  春节  (statute)" in out and "2027-02-09 周二  休  春节（补假）  (statute)" in out
