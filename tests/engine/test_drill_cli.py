"""`planflow drill …` end to end on a real SQLite file."""
from __future__ import annotations

import json

from engine.calendar.clock import utcnow
from engine.db import create_schema, make_engine, make_session_factory, transaction
from engine.plans import drafts
from engine.plans import versions as plans
from tests.engine.test_cli import planflow  # noqa: F401 — the fixture
from tests.engine.test_drills import SCENARIO
from tests.support import PLAN_PATHS


def exported(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_drill_is_started_stepped_injected_ended_and_reported_from_the_command_line(planflow):  # noqa: F811
    create_schema(make_engine(planflow.url))   # as the suite's databases are made (migrations are tested apart)
    assert planflow("deploy", *map(str, PLAN_PATHS))[0] == 0
    assert planflow("demo-users", "--password", "pw")[0] == 0
    code, out, err = planflow("drill", "start", "general_complaint", "--as", "office_director1",
                              "--scale", "P1D=PT2M", "--data", json.dumps(SCENARIO),
                              "--participant", "intake=intake1", "--participant", "handler=handler1",
                              "--sim-start", "2026-03-05T10:00:00+08:00", "--json")
    assert code == 0, err
    started = json.loads(out)
    assert started["case"].startswith("DR-")
    drill = str(started["id"])

    code, out, _ = planflow("tasks", "--as", "intake1", "--json")
    [task] = json.loads(out)
    assert task["case"] == started["case"] and task["assignee"] == "intake1"
    assert planflow("complete", str(task["id"]), "--as", "intake1", "--data",
                    json.dumps({"contact_note": "已联系", "grade": "general"}))[0] == 0

    code, out, err = planflow("drill", "inject", drill, "--as", "office_director1", "--title", "媒体开始报道",
                              "--data", '{"media_attention": true}', "--json")
    assert code == 0 and json.loads(out)["status"] == "sent", err
    assert planflow("drill", "pause", drill, "--as", "office_director1")[0] == 0
    code, out, _ = planflow("drill", "step", drill, "--as", "office_director1", "--json")   # to the next deadline
    view = json.loads(out)
    assert code == 0 and view["status"] == "paused"
    assert [(t["name"], t["role"]) for t in view["open_tasks"]] == [("督办答复", "office_director")]
    assert planflow("drill", "observe", drill, "答复超时", "--as", "office_director1")[0] == 0
    assert planflow("drill", "action", drill, "增加答复到期提醒", "--owner", "handler1", "--due", "2026-12-31",
                    "--as", "office_director1")[0] == 0
    assert planflow("drill", "end", drill, "--as", "office_director1")[0] == 0

    code, out, _ = planflow("drill", "report", drill, "--json")
    found = json.loads(out)
    assert code == 0
    assert (found["figures"]["met"], found["figures"]["escalated"], found["figures"]["injects"]) == (1, 1, 1)
    assert found["improvement_plan"][0]["owner"] == "handler1"
    code, out, _ = planflow("drill", "report", drill, "--csv")
    assert code == 0 and out.splitlines()[0].startswith("case,task_id,element_id")

    code, _, err = planflow("drill", "step", drill, "--as", "office_director1")
    assert code == 2 and "has ended" in err
    code, _, err = planflow("drill", "start", "general_complaint", "--as", "office_director1", "--scale", "fast")
    assert code == 2 and "scale" in err


def test_a_draft_is_drilled_from_the_command_line_and_the_plan_stays_as_deployed(planflow, tmp_path):  # noqa: F811
    create_schema(make_engine(planflow.url))
    assert planflow("deploy", *map(str, PLAN_PATHS))[0] == 0
    assert planflow("demo-users", "--password", "pw")[0] == 0
    with transaction(make_session_factory(make_engine(planflow.url))) as session:
        xml = plans.current_version(session, "general_complaint").bpmn_xml
        edited = xml.replace('name="首次联系与分级"', 'name="首次联系（草稿）"', 1)
        revision = drafts.save_draft(session, "general_complaint", edited, 0, "process_owner1", utcnow())
    assert planflow("export", str(tmp_path / "before"), "--all-versions")[0] == 0
    code, out, err = planflow("drill", "start", "general_complaint", "--as", "office_director1", "--draft",
                              str(revision), "--data", json.dumps(SCENARIO), "--participant", "intake=intake1",
                              "--json")
    assert code == 0, err
    started = json.loads(out)
    assert started["draft"] == revision and started["case"].startswith("DR-")
    code, out, _ = planflow("tasks", "--as", "intake1", "--json")
    [task] = json.loads(out)
    assert task["case"] == started["case"] and task["name"] == "首次联系（草稿）"
    assert planflow("export", str(tmp_path / "after"), "--all-versions")[0] == 0    # the deployed plans, unchanged
    assert exported(tmp_path / "after") == exported(tmp_path / "before")
    assert planflow("drill", "end", str(started["id"]), "--as", "office_director1")[0] == 0
    code, out, _ = planflow("drill", "report", str(started["id"]), "--json")
    assert code == 0 and json.loads(out)["drill"]["draft"]["revision"] == revision

    code, _, err = planflow("drill", "start", "general_complaint", "--as", "office_director1", "--draft", "42")
    assert code == 2 and "no draft revision 42" in err
