"""Compliance pages: read everything, change nothing; escalations and missed deadlines shown; tampering shown."""
from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from engine.cases import timers
from engine.models import AuditEvent
from engine.people.roles import ROLES
from tests.webapp.conftest import REGISTRATION, submit


@pytest.fixture
def escalated_case(web_desk):
    """A case whose 24 h first contact was missed: the worker escalated it to office_director."""
    number = web_desk.start("general_complaint", REGISTRATION)
    timers.sweep(web_desk.session_factory, web_desk.now + timedelta(hours=25))
    return number


@pytest.mark.parametrize("role", [r for r in ROLES if r != "compliance"])
def test_review_pages_are_for_compliance_only(login, role):
    assert login(role).get("/review/cases").status_code == 403


def test_compliance_can_change_nothing(login, web_desk, registered):
    client = login("compliance")
    task = web_desk.task(registered, "Task_FirstContact")
    assert client.post(f"/tasks/{task.id}/claim").status_code == 403
    assert submit(client, task.id, {"contact_note": "x", "grade": "general"}).status_code == 403
    assert client.get("/register").status_code == 403
    assert client.post("/plans/general_complaint/deploy", json={"xml": "", "base_revision": 0}).status_code == 403
    assert web_desk.task(registered, "Task_FirstContact").status.value == "open"


def test_case_list_filters_and_exports_csv(login, escalated_case, registered):
    client = login("compliance")
    page = client.get("/review/cases").get_data(as_text=True)
    assert f'data-case="{escalated_case}"' in page and f'data-case="{registered}"' in page
    only = client.get("/review/cases?escalated=1").get_data(as_text=True)
    assert f'data-case="{escalated_case}"' in only and f'data-case="{registered}"' not in only
    csv = client.get("/review/cases.csv?escalated=1").get_data(as_text=True)
    assert escalated_case in csv and registered not in csv and "138****5678" in csv


def test_case_view_shows_the_escalation_on_the_diagram_and_the_missed_deadline(login, escalated_case):
    client = login("compliance")
    page = client.get(f"/review/cases/{escalated_case}").get_data(as_text=True)
    assert 'data-element="Task_FirstContact" data-outcome="escalated"' in page
    assert 'data-kind="escalated"' in page and "审计链校验通过" in page
    assert "13812345678" not in page and "138****5678" in page, "the timeline masks identity for compliance"
    markers = client.get(f"/review/cases/{escalated_case}/path.json").get_json()["markers"]
    assert "Task_FirstContact" in markers["pf-escalated"] and "Timer_FirstContact24h" in markers["pf-fired"]
    assert "Task_FirstContactEscalated" in markers["pf-active"]


def test_a_deadline_met_late_shows_its_lateness(login, web_desk, registered):
    task = web_desk.task(registered, "Task_FirstContact")
    web_desk.now += timedelta(hours=30)  # completed 6 hours after the 24 h deadline, before any sweep
    web_desk.complete(registered, "Task_FirstContact", {"contact_note": "x", "grade": "general"})
    page = login("compliance").get(f"/review/cases/{registered}").get_data(as_text=True)
    assert 'data-element="Task_FirstContact" data-outcome="missed"' in page and "6.0 小时" in page
    assert task.id


def test_tampering_with_one_audit_row_shows_chain_broken_at_that_event(login, web_desk, escalated_case):
    with web_desk.session_factory.begin() as session:
        seq = session.query(AuditEvent.seq).filter(AuditEvent.case_number == escalated_case,
                                                   AuditEvent.kind == "escalated").scalar()
        session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(payload={"forged": True}))
    page = login("compliance").get(f"/review/cases/{escalated_case}").get_data(as_text=True)
    assert f"审计链在第 {seq} 条记录处断裂" in page


def test_evidence_pack_and_printable_view(login, escalated_case):
    client = login("compliance")
    response = client.get(f"/review/cases/{escalated_case}/evidence.json")
    assert "attachment" in response.headers["Content-Disposition"]
    pack = json.loads(response.get_data(as_text=True))
    assert pack["case"]["number"] == escalated_case and pack["chain"]["ok"]
    printable = client.get(f"/review/cases/{escalated_case}/evidence.html").get_data(as_text=True)
    assert escalated_case in printable and "escalated" in printable


def test_heatmap_counts_cases_per_element(login, web_desk, escalated_case):
    client = login("compliance")
    assert client.get("/review/plans/general_complaint/v1/heatmap").status_code == 200
    body = client.get("/review/plans/general_complaint/v1/heatmap.json").get_json()
    assert body["badges"]["Timer_FirstContact24h"] == "1"


def test_monthly_report_page_and_csv(login, escalated_case, web_desk):
    client = login("compliance")
    month = web_desk.now.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    page = client.get(f"/review/monthly?month={month}").get_data(as_text=True)
    assert 'data-figure="registered">1<' in page
    csv = client.get(f"/review/monthly.csv?month={month}").get_data(as_text=True)
    assert f"{month},registered,,1" in csv and "by_plan,general_complaint,1" in csv
