"""Drill pages: the controller starts, steps and ends a drill; the inbox, task and case pages mark drill work."""
from __future__ import annotations

import json
import re

import pytest

from engine.models import Case
from tests.engine.test_drills import SCENARIO


def start(client, **extra) -> int:
    response = client.post("/drills/", data={"plan": "general_complaint", "scenario": json.dumps(SCENARIO),
                                             "participant_intake": "intake1", "participant_handler": "handler1",
                                             **extra})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/drills/(\d+)$", response.headers["Location"]).group(1))


@pytest.mark.parametrize("role, status", [("process_owner", 200), ("office_director", 200), ("handler", 403),
                                          ("compliance", 403)])
def test_the_drill_pages_are_for_process_owners_and_office_directors(login, role, status):
    assert login(role).get("/drills/").status_code == status


def test_a_drill_from_the_controller_page_to_the_report(login, web_desk):
    controller = login("office_director")
    drill_id = start(controller, title="季度演练")
    page = controller.get(f"/drills/{drill_id}").get_data(as_text=True)
    with web_desk.session_factory() as session:
        number = session.query(Case.number).filter(Case.drill_id == drill_id).scalar()
    assert number.startswith("DR-") and number in page and "intake1" in page

    intake = login("intake")
    inbox = intake.get("/?list=mine").get_data(as_text=True)
    assert number in inbox and 'class="badge drill">演练' in inbox
    task_id = web_desk.task(number, "Task_FirstContact").id
    assert 'badge drill' in intake.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'badge drill' in intake.get(f"/cases/{number}").get_data(as_text=True)
    response = intake.post(f"/tasks/{task_id}/complete", data={"data": json.dumps(
        {"contact_note": "已联系", "grade": "general"})})
    assert response.status_code in (200, 302)

    assert controller.post(f"/drills/{drill_id}/observe", data={"text": "处理专员反应慢"}).status_code == 302
    assert controller.post(f"/drills/{drill_id}/step").status_code == 302          # past the answer's deadline
    page = controller.get(f"/drills/{drill_id}").get_data(as_text=True)
    assert "督办答复" in page and "处理专员反应慢" in page
    assert controller.post(f"/drills/{drill_id}/end").status_code == 302
    report = controller.get(f"/drills/{drill_id}/report").get_data(as_text=True)
    assert 'id="figure-escalated">1<' in report and 'id="figure-met">1<' in report
    assert controller.post(f"/drills/{drill_id}/actions", data={"action": "增加答复提醒", "owner": "handler1",
                                                              "due_on": "2026-12-31"}).status_code == 302
    found = json.loads(controller.get(f"/drills/{drill_id}/report.json").get_data(as_text=True))
    assert found["improvement_plan"][0]["action"] == "增加答复提醒"
    csv_text = controller.get(f"/drills/{drill_id}/report.csv").get_data(as_text=True)
    assert "Task_VerifyNegotiate" in csv_text and "escalated" in csv_text
    handler_inbox = login("handler").get("/?list=mine").get_data(as_text=True)
    assert "增加答复提醒" in handler_inbox and number not in handler_inbox   # the ended drill's tasks are gone
    plans = login("process_owner").get("/plans/").get_data(as_text=True)
    assert 'class="drilled"' in plans


def test_a_bad_scale_is_refused_with_a_message_and_starts_nothing(login, web_desk):
    client = login("process_owner")
    response = client.post("/drills/", data={"plan": "general_complaint", "scenario": json.dumps(SCENARIO),
                                             "scale": "fast"})
    assert response.status_code in (400, 409, 422) and "scale" in response.get_data(as_text=True)
    with web_desk.session_factory() as session:
        assert session.query(Case).filter(Case.drill_id.is_not(None)).count() == 0


def test_the_plans_list_shows_the_next_drill_and_an_overdue_one(login, web_desk):
    from engine.drills import lifecycle
    owner = login("process_owner")
    for plan in ("general_complaint", "malicious_complaint"):
        assert owner.post("/drills/interval", data={"plan": plan, "months": "6"}).status_code == 302
    assert owner.post("/drills/interval", data={"plan": "general_complaint", "months": "six"}).status_code == 400
    drill = web_desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {}, "process_owner1", web_desk.now)
    web_desk.do(lifecycle.end_drill, drill.id, "process_owner1", web_desk.now)
    page = login("process_owner").get("/plans/").get_data(as_text=True)
    row = lambda key: page[page.index(f'data-plan="{key}"'):].split("</tr>")[0]
    general, malicious = row("general_complaint"), row("malicious_complaint")
    assert "每 6 个月" in general and "下次演练" in general and "演练逾期" not in general
    assert "演练逾期" in malicious


def test_a_drill_tasks_deadline_is_read_against_the_drills_clock_in_the_inbox(login, web_desk):
    from datetime import timedelta

    from engine.drills import lifecycle
    # Simulated a month ago: by the real clock its first contact would be a month overdue; by the drill's it is not.
    month_ago = web_desk.now - timedelta(days=30)
    drill = web_desk.do(lifecycle.start_drill, "general_complaint", SCENARIO, {"intake": "intake1"}, "process_owner1",
                        web_desk.now, sim_start=month_ago)
    number = web_desk.do(lifecycle.drill_cases, drill.id)[0].number
    page = login("intake").get("/?list=mine").get_data(as_text=True)
    row = page[page.rindex("<tr", 0, page.index(number)):].split("</tr>")[0]
    assert "drill" in row and "overdue" not in row and "badge overdue" not in row


def _versions(page: str) -> list[str]:
    return re.findall(r'<tr data-version="(-?\d+)"', page)


def _plan_versions(page: str) -> list[str]:
    """The plans list's version cells (the current version of each plan, marked when a draft is pending)."""
    return re.findall(r'<td class="version">(.*?)</td>', page)


def _saved_draft(owner, old: str, new: str) -> int:
    """Save, in the editor, general_complaint with its first `old` text replaced by `new`; its draft revision."""
    state = owner.get("/plans/general_complaint/editor.json").get_json()
    xml = state["xml"].replace(old, new, 1)
    assert xml != state["xml"]
    return owner.post("/plans/general_complaint/draft", json={"xml": xml, "base_revision": state["revision"]}
                      ).get_json()["revision"]


def test_the_controller_drills_a_saved_draft_and_the_plan_pages_do_not_change(login, web_desk):
    owner = login("process_owner")
    revision = _saved_draft(owner, 'name="首次联系与分级"', 'name="首次联系（草稿改进）"')
    plans_before = _plan_versions(owner.get("/plans/").get_data(as_text=True))
    assert plans_before
    versions_before = _versions(owner.get("/plans/general_complaint").get_data(as_text=True))
    assert versions_before == ["1"]

    page = owner.get("/drills/").get_data(as_text=True)
    assert f'<option value="general_complaint:{revision}">' in page    # the start form offers the draft
    drill_id = start(owner, draft=f"general_complaint:{revision}")
    page = owner.get(f"/drills/{drill_id}").get_data(as_text=True)
    assert re.search(rf'<span id="drill-draft">[^<]*\b{revision}\b[^<]*</span>', page)
    with web_desk.session_factory() as session:
        number = session.query(Case.number).filter(Case.drill_id == drill_id).scalar()
    intake = login("intake")
    assert "首次联系（草稿改进）" in intake.get("/?list=mine").get_data(as_text=True)   # the draft's step, in the inbox

    assert _plan_versions(owner.get("/plans/").get_data(as_text=True)) == plans_before
    assert _versions(owner.get("/plans/general_complaint").get_data(as_text=True)) == versions_before
    real = web_desk.start("general_complaint", SCENARIO)
    assert web_desk.task(real, "Task_FirstContact").name == "首次联系与分级"

    assert owner.post(f"/drills/{drill_id}/end").status_code == 302
    report = owner.get(f"/drills/{drill_id}/report").get_data(as_text=True)
    assert re.search(rf'<span id="drill-report-draft">[^<]*\b{revision}\b[^<]*process_owner1[^<]*</span>', report)
    assert number in report
    found = owner.get(f"/drills/{drill_id}/report.json").get_json()
    assert found["drill"]["draft"]["revision"] == revision and found["drill"]["version"] is None


def test_a_draft_of_another_plan_or_one_a_deploy_would_refuse_starts_no_drill(login, web_desk):
    owner = login("process_owner")
    revision = _saved_draft(owner, 'camunda:formKey="gc_first_contact"', 'camunda:formKey="gc_no_such_form"')
    response = owner.post("/drills/", data={"plan": "general_complaint", "scenario": json.dumps(SCENARIO),
                                            "draft": f"general_complaint:{revision}"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "gc_no_such_form" in page
    response = owner.post("/drills/", data={"plan": "medical_dispute", "scenario": "{}",
                                            "draft": f"general_complaint:{revision}"}, follow_redirects=True)
    assert response.status_code == 200 and "medical_dispute" in response.get_data(as_text=True)
    with web_desk.session_factory() as session:
        assert session.query(Case).filter(Case.drill_id.is_not(None)).count() == 0


def test_the_apis_task_json_says_which_tasks_belong_to_a_drill(login, api, registered, web_desk):
    drill_id = start(login("office_director"))
    with web_desk.session_factory() as session:
        number = session.query(Case.number).filter(Case.drill_id == drill_id).scalar()
    client, headers = api("intake")
    [drill_task] = client.get("/api/v1/tasks?list=mine", headers=headers).get_json()["tasks"]
    [real_task] = client.get("/api/v1/tasks?list=queue", headers=headers).get_json()["tasks"]
    assert (drill_task["case"], drill_task["drill"]) == (number, True)
    assert (real_task["case"], real_task["drill"]) == (registered, False)
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Task"]["properties"]
    assert schema["drill"]["type"] == "boolean"
