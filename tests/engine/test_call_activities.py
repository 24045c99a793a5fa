"""Reusable processes called from plans: deployed with the plan, pinned with its version."""
from __future__ import annotations

import json

import pytest

from engine.errors import DeployRejected
from engine.plans import versions as plans
from tests.samples import NOTE_FORM, called_plan, calling_plan
from tests.support import Desk


def write(folder, files: dict[str, str]):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "mini_note.form").write_text(json.dumps(NOTE_FORM), encoding="utf-8")
    return folder


def test_a_called_process_runs_inside_the_case_with_its_own_lane_roles(session_factory, tmp_path, now):
    folder = write(tmp_path / "p", {"caller.bpmn": calling_plan(), "closing_steps.bpmn": called_plan()})
    desk = Desk.open(session_factory, now, [folder])
    number = desk.start("caller", {}, "handler1")
    desk.complete(number, "Task_Handle", {"note": "handled"})
    [task] = desk.open_tasks(number)
    assert (task.element_id, task.role, task.name) == ("Task_Archive", "office_director", "Archive")
    assert desk.complete(number, "Task_Archive", {"note": "archived"}).case_completed


def test_the_called_process_is_pinned_with_the_calling_version(session_factory, tmp_path, now):
    folder = write(tmp_path / "p", {"caller.bpmn": calling_plan(), "closing_steps.bpmn": called_plan()})
    desk = Desk.open(session_factory, now, [folder])
    old = desk.start("caller", {}, "handler1")
    write(folder, {"closing_steps.bpmn": called_plan(task_name="Archive v2")})
    results = {r.plan_key: (r.version, r.created) for r in
               desk.do(plans.deploy, plans.Bundle.from_paths([folder]), "owner", now)}
    assert results == {"caller": (2, True), "closing_steps": (2, True)}
    new = desk.start("caller", {}, "handler1")
    desk.complete(old, "Task_Handle", {"note": "x"})
    desk.complete(new, "Task_Handle", {"note": "x"})
    assert desk.open_tasks(old)[0].name == "Archive"
    assert desk.open_tasks(new)[0].name == "Archive v2"


def test_a_called_process_deployed_earlier_is_used_when_not_in_the_bundle(session_factory, tmp_path, now):
    desk = Desk.open(session_factory, now, [write(tmp_path / "a", {"closing_steps.bpmn": called_plan()})])
    desk.do(plans.deploy, plans.Bundle.from_paths([write(tmp_path / "b", {"caller.bpmn": calling_plan()})]),
            "owner", now)
    number = desk.start("caller", {}, "handler1")
    desk.complete(number, "Task_Handle", {"note": "x"})
    assert [t.role for t in desk.open_tasks(number)] == ["office_director"]


def test_calling_an_unknown_process_is_refused_at_deploy(session_factory, tmp_path, now):
    folder = write(tmp_path / "p", {"caller.bpmn": calling_plan(called="nowhere")})
    with pytest.raises(DeployRejected, match="called process 'nowhere' is neither in this deploy nor deployed"):
        Desk.open(session_factory, now, [folder])
