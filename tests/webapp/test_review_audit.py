"""Compliance pages and the audit trail: the monthly report prints the last checkpoint; any break is shown."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from engine.models import AuditEvent
from engine.records import audit
from tests.webapp.conftest import REGISTRATION


@pytest.fixture
def audit_dir(tmp_path, monkeypatch):
    folder = tmp_path / "audit"
    monkeypatch.setenv("PLANFLOW_AUDIT_DIR", str(folder))
    return folder


def test_monthly_report_prints_the_last_checkpoint_of_the_month(login, web_desk, audit_dir):
    web_desk.start("general_complaint", REGISTRATION)
    month = web_desk.now.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    client = login("compliance")
    assert "本月结束前没有检查点" in client.get(f"/review/monthly?month={month}").get_data(as_text=True)
    checkpoint = audit.anchor(web_desk.session_factory, web_desk.now + timedelta(hours=1))
    page = client.get(f"/review/monthly?month={month}").get_data(as_text=True)
    assert "审计检查点" in page and checkpoint["global"][1] in page and checkpoint["key_id"] in page
    csv = client.get(f"/review/monthly.csv?month={month}").get_data(as_text=True)
    assert f"{month},audit_checkpoint,{checkpoint['at']},{checkpoint['global'][1]}" in csv


def test_a_case_whose_last_events_were_deleted_shows_the_chain_broken(login, web_desk, audit_dir):
    number = web_desk.start("general_complaint", REGISTRATION)
    with web_desk.session_factory.begin() as session:
        last = session.execute(select(AuditEvent.seq).where(AuditEvent.case_number == number)
                               .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        session.execute(delete(AuditEvent).where(AuditEvent.seq == last))
    response = login("compliance").get(f"/review/cases/{number}")
    assert response.status_code == 200 and "审计链断裂" in response.get_data(as_text=True)
