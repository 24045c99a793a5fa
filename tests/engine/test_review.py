"""Compliance review figures, checked against counts made independently from the raw tables."""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from engine.calendar.working_days import WorkingCalendar
from engine.cases import use_cases as cases
from engine.db import transaction
from engine.models import AuditEvent, Case
from engine.views import review
from tests.conftest import SHANGHAI

CALENDAR = WorkingCalendar()
REGISTRATION = {"complainant": "王女士", "contact": "13800000000", "channel": "phone", "category": "service",
                "content": "快递延误"}
CONTACT = {"contact_note": "已联系"}
ANSWER = {"findings": "属实", "resolution": "道歉", "compensation_amount": 0}


@pytest.fixture
def history(desk):
    """Three March cases: one on time, one whose first contact escalated, one answered late; one April case."""
    on_time = desk.start("general_complaint", REGISTRATION)
    desk.complete(on_time, "Task_FirstContact", {**CONTACT, "grade": "general"})
    escalated = desk.start("general_complaint", {**REGISTRATION, "contact": "13900000001", "category": "price"})
    late = desk.start("general_complaint", {**REGISTRATION, "contact": "13900000002"})
    desk.complete(late, "Task_FirstContact", {**CONTACT, "grade": "major"})
    desk.pass_time(timedelta(hours=25))  # the escalated case misses its 24 h first contact
    desk.now = datetime(2026, 4, 8, 10, 0, tzinfo=SHANGHAI)
    desk.start("general_complaint", REGISTRATION)
    return {"on_time": on_time, "escalated": escalated, "late": late, "desk": desk}


def find(desk, **filters):
    with transaction(desk.session_factory, readonly=True) as session:
        return [c.number for c in review.find_cases(session, review.CaseFilter(**filters), desk.now, CALENDAR)]


def test_case_list_filters_by_every_criterion(history):
    desk = history["desk"]
    assert len(find(desk, plan="general_complaint")) == 4
    assert find(desk, escalated=True) == [history["escalated"]]
    assert find(desk, grade="major") == [history["late"]]
    assert find(desk, category="price") == [history["escalated"]]
    assert find(desk, handler="intake1", sort="number", descending=False) == [history["on_time"], history["late"]]
    assert find(desk, complainant="13900000002") == [history["late"]]
    march = find(desk, started_from=date(2026, 3, 1), started_to=date(2026, 3, 31))
    assert sorted(march) == sorted([history["on_time"], history["escalated"], history["late"]])
    assert history["late"] in find(desk, overdue=True)


def test_csv_export_masks_contact_for_roles_that_may_not_see_it(history):
    desk = history["desk"]
    with transaction(desk.session_factory, readonly=True) as session:
        rows = review.find_cases(session, review.CaseFilter(), desk.now, CALENDAR)
        masked, clear = review.cases_csv(rows, see_contact=False), review.cases_csv(rows, see_contact=True)
    assert "138****0000" in masked and "13800000000" not in masked
    assert "13800000000" in clear and masked.startswith("\ufeffnumber,plan,version")


def test_deadlines_show_met_escalated_and_missed_with_lateness_in_working_days(history):
    desk = history["desk"]
    at = datetime(2026, 3, 12, 10, 0, tzinfo=SHANGHAI)  # Thursday: the major answer (due 10 March) is still open
    with transaction(desk.session_factory, readonly=True) as session:
        late_case = session.execute(select(Case).where(Case.number == history["late"])).scalar_one()
        investigate = [t for t in cases.case_tasks(session, late_case.id) if t.element_id == "Task_Investigate"][0]
        escalated = session.execute(select(Case).where(Case.number == history["escalated"])).scalar_one()
        outcomes = review.deadline_outcomes(session, escalated.id, at, CALENDAR)
        overdue = review.deadline_outcomes(session, late_case.id, at, CALENDAR)
    first = outcomes[0]
    assert (first.element_id, first.outcome) == ("Task_FirstContact", "escalated")
    [answer] = [o for o in overdue if o.element_id == "Task_Investigate"]
    assert answer.task_id == investigate.id and answer.due_at == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    # due at the end of Monday 9 March; by Thursday 12th 10:00 the working days 10 and 11 March have passed
    assert answer.outcome == "overdue" and answer.late_working_days == 2 and answer.late_hours == 58.0


def test_monthly_report_equals_counts_made_from_the_raw_tables(history):
    desk = history["desk"]
    with transaction(desk.session_factory, readonly=True) as session:
        report = review.monthly_report(session, 2026, 3, CALENDAR)
        start, end = "2026-02-28 16:00:00", "2026-03-31 16:00:00"  # March in Shanghai, as stored (naive UTC)
        registered = session.execute(text(
            "SELECT count(*) FROM cases WHERE started_at >= :s AND started_at < :e"), {"s": start, "e": end}).scalar()
        by_category = dict(session.execute(text(
            "SELECT category, count(*) FROM cases WHERE started_at >= :s AND started_at < :e GROUP BY category"),
            {"s": start, "e": end}).all())
        escalations = session.execute(text(
            "SELECT count(*) FROM audit_events WHERE kind = 'escalated' AND occurred_at >= :s AND occurred_at < :e"),
            {"s": start, "e": end}).scalar()
        due = session.execute(text(
            "SELECT count(*), sum(CASE WHEN status = 'completed' AND completed_at <= due_at THEN 1 ELSE 0 END) "
            "FROM tasks WHERE due_at >= :s AND due_at < :e AND status != 'open'"), {"s": start, "e": end}).one()
    assert report.registered == registered == 3
    assert report.by_category == by_category
    assert report.by_plan == {"general_complaint": 3}
    assert report.escalations == escalations == 1
    assert (report.deadlines_due, report.deadlines_met) == (due[0], due[1] or 0)
    assert report.repeat_complainants == []


def test_evidence_pack_lets_an_auditor_recompute_every_hash(history):
    desk = history["desk"]
    with transaction(desk.session_factory, readonly=True) as session:
        case = session.execute(select(Case).where(Case.number == history["escalated"])).scalar_one()
        pack = json.loads(json.dumps(review.evidence_pack(session, case, desk.now, CALENDAR), ensure_ascii=False))
    assert pack["chain"]["ok"] and pack["plan_version"]["bpmn_xml"].startswith("<?xml")
    for event in pack["events"]:
        payload_hash = hashlib.sha256(json.dumps([event["salt"], event["payload"]], sort_keys=True, ensure_ascii=False,
                                                 separators=(",", ":")).encode("utf-8")).hexdigest()
        canonical = json.dumps([event["chain_seq"], event["occurred_at"], event["actor"], event["kind"],
                                event["case_id"], event["case_number"], event["element_id"], payload_hash,
                                event["prev_hash"]], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == event["hash"]
    assert [e["kind"] for e in pack["events"]].count("escalated") == 1


def test_tampering_shows_in_the_evidence_pack_as_chain_broken_at_event_n(history):
    desk = history["desk"]
    with transaction(desk.session_factory) as session:
        seq = session.execute(select(AuditEvent.seq).where(AuditEvent.case_number == history["late"])
                              .order_by(AuditEvent.seq).limit(1)).scalar_one()
        session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(actor="mallory"))
    with transaction(desk.session_factory, readonly=True) as session:
        case = session.execute(select(Case).where(Case.number == history["late"])).scalar_one()
        pack = review.evidence_pack(session, case, desk.now, CALENDAR)
    assert not pack["chain"]["ok"] and pack["chain"]["broken_at"] == seq
