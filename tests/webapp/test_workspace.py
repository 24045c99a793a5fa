"""The case workspace: the complaint, earlier answers under their labels, history in sentences, comments."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.cases import use_cases as cases
from engine.models import AuditEvent
from tests.support import username_for


def answered_to_dept_head(web_desk, number: str) -> int:
    web_desk.complete(number, "Task_FirstContact", {"contact_note": "已电话联系，客户要求赔偿", "grade": "general"})
    web_desk.complete(number, "Task_VerifyNegotiate", {"findings": "快递确实延误三天", "resolution": "道歉并赔偿",
                                                       "compensation_amount": 800})
    return web_desk.task(number, "Task_ApproveDeptHead").id


def test_the_handlers_task_page_shows_the_complaint_and_the_intakes_answers_with_labels(login, registered, web_desk):
    web_desk.complete(registered, "Task_FirstContact", {"contact_note": "已电话联系", "grade": "major"})
    task_id = web_desk.task(registered, "Task_Investigate").id
    page = login("handler").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "投诉内容" in page and "快递延误且客服态度差" in page
    assert "诉求金额（元）" in page and ">500<" in page
    assert "首次联系与分级" in page and "联系情况记录" in page and "已电话联系" in page
    assert "投诉等级" in page and ">重大<" in page, "an option shows by its label, not its value"
    assert ">major<" not in page


def test_the_workspace_reads_in_english_with_the_forms_own_labels(login, registered, web_desk):
    web_desk.complete(registered, "Task_FirstContact", {"contact_note": "called back", "grade": "general"})
    client = login("handler")
    client.post("/language", data={"locale": "en"})
    page = client.get(f"/tasks/{web_desk.task(registered, 'Task_VerifyNegotiate').id}").get_data(as_text=True)
    assert "Complaint content" in page and "Contact note" in page and "Grade" in page
    assert "completed by intake1" in page and "First contact" in page


def test_the_dept_head_sees_the_requested_amount_and_the_handlers_findings(login, registered, web_desk):
    task_id = answered_to_dept_head(web_desk, registered)
    page = login("dept_head").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "诉求金额（元）" in page and ">500<" in page
    assert "核实/调查结果" in page and "快递确实延误三天" in page
    assert "赔偿/补偿金额（元）" in page and ">800<" in page


def test_history_reads_as_sentences(login, registered, web_desk):
    web_desk.complete(registered, "Task_FirstContact", {"contact_note": "已电话联系", "grade": "general"})
    page = login("intake").get(f"/cases/{registered}").get_data(as_text=True)
    assert "王女士 的投诉由 intake1 登记" in page
    assert "首次联系与分级 由 intake1 完成" in page
    assert "核实与协商 已交给 投诉处理人" in page or "核实与协商 已交给" in page
    history = page[page.index('id="case-history"'):]
    assert ">task_ready" not in history and "Task_FirstContact" not in history


def test_identity_in_the_workspace_is_masked_for_roles_that_see_it_masked(login, web_desk):
    number = web_desk.start("general_complaint", {"complainant": "王女士", "contact": "13812345678",
                                                  "channel": "phone", "category": "service", "content": "紧急投诉"})
    web_desk.complete(number, "Task_FirstContact", {"contact_note": "已联系", "grade": "urgent"})
    web_desk.complete(number, "Task_EmergencyActivation", {"measures": "成立专班"})
    task_id = web_desk.task(number, "Task_PublicStatement").id
    page = login("pr").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "王**" in page and "138****5678" in page
    assert "王女士" not in page and "13812345678" not in page


def test_a_comment_is_audited_and_seen_by_everyone_working_the_case(login, registered, web_desk):
    web_desk.complete(registered, "Task_FirstContact", {"contact_note": "已联系", "grade": "general"})
    task_id = web_desk.task(registered, "Task_VerifyNegotiate").id
    handler = login("handler")
    response = handler.post(f"/cases/{registered}/comments", data={"text": "客户下午三点后方便接电话", "task_id": task_id})
    assert response.status_code == 302 and f"/tasks/{task_id}" in response.location
    page = login("intake").get(f"/cases/{registered}").get_data(as_text=True)
    assert "客户下午三点后方便接电话" in page and "handler1" in page
    events = web_desk.do(lambda s: list(s.execute(select(AuditEvent).where(AuditEvent.kind == "comment_added")
                                                  ).scalars()))
    assert [(e.actor, e.case_number, e.payload["text"]) for e in events] == [
        (username_for("handler"), registered, "客户下午三点后方便接电话")]


@pytest.mark.parametrize("role", ["security", "compliance"])
def test_people_not_working_the_case_cannot_comment(login, registered, web_desk, role):
    response = login(role).post(f"/cases/{registered}/comments", data={"text": "hello"})
    assert response.status_code == 403
    assert not web_desk.do(lambda s: s.execute(select(AuditEvent).where(AuditEvent.kind == "comment_added")).first())


def test_the_task_page_says_who_holds_each_open_task_of_the_case_and_when_it_is_due(login, web_desk):
    number = web_desk.start("general_complaint", {"complainant": "王女士", "contact": "13812345678",
                                                  "channel": "phone", "category": "service", "content": "紧急投诉"})
    web_desk.complete(number, "Task_FirstContact", {"contact_note": "已联系", "grade": "urgent"})
    web_desk.complete(number, "Task_EmergencyActivation", {"measures": "成立专班"})
    statement = web_desk.task(number, "Task_PublicStatement")
    web_desk.do(cases.claim_task, statement.id, "pr1", web_desk.now)
    urgent = web_desk.task(number, "Task_UrgentHandle").id
    page = login("handler").get(f"/tasks/{urgent}").get_data(as_text=True)
    held = page[page.index('id="case-open-tasks"'):].split("</section>", 1)[0]
    assert "舆情研判与对外声明" in held and "pr1" in held and "紧急处置" in held and "未认领" in held
    assert "小时后到期" in held or "个工作日后到期" in held


def test_each_earlier_step_says_whether_it_met_its_deadline(login, registered, web_desk):
    from datetime import timedelta
    web_desk.now += timedelta(days=2)  # first contact is due 24 h after receipt
    web_desk.complete(registered, "Task_FirstContact", {"contact_note": "已联系", "grade": "general"})
    task_id = web_desk.task(registered, "Task_VerifyNegotiate").id
    page = login("handler").get(f"/tasks/{task_id}").get_data(as_text=True)
    step = page[page.index('id="steps"'):].split("</article>", 1)[0]
    assert "超期完成" in step and "按时完成" not in step


def test_a_handler_sent_back_by_a_rejected_approval_sees_the_reason_on_the_task_page(login, registered, web_desk):
    answered_to_dept_head(web_desk, registered)
    web_desk.complete(registered, "Task_ApproveDeptHead", {"approved": "no", "rejection_reason": "证据不足，请补充损失凭证"})
    task_id = web_desk.task(registered, "Task_ReviseCompensation").id
    page = login("handler").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "证据不足，请补充损失凭证" in page
