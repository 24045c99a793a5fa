"""A database written before signed per-case chains is upgraded by `planflow init`, only if its old trail verifies."""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from engine.cli import main
from engine.db import make_engine, make_session_factory, transaction
from engine.migrations.pre_alembic import baseline_metadata
from engine.models import AuditEvent
from engine.records import audit
from tests.conftest import SERVER_URL

LEGACY_DDL = [
    "DROP TABLE audit_events",
    "DROP TABLE audit_chain_head",
    "CREATE TABLE audit_events (seq INTEGER NOT NULL, occurred_at TIMESTAMP, actor VARCHAR(80), kind VARCHAR(40), "
    "case_id INTEGER, case_number VARCHAR(40), element_id VARCHAR(200), payload JSON, prev_hash VARCHAR(64), "
    "hash VARCHAR(64), PRIMARY KEY (seq))",
    "CREATE TABLE audit_chain_head (id INTEGER NOT NULL, last_seq INTEGER, last_hash VARCHAR(64), PRIMARY KEY (id))",
]
START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
# (case_id, case_number, kind): two cases interleaved with events that have no case.
LEGACY_EVENTS = [(None, None, "plan_deployed"), (1, "TS-2026-000001", "case_started"),
                 (2, "TS-2026-000002", "case_started"), (1, "TS-2026-000001", "task_completed"),
                 (None, None, "calendar_loaded"), (2, "TS-2026-000002", "task_claimed")]


@pytest.fixture(params=["sqlite", "postgresql"])
def legacy_url(request, tmp_path):
    """A database of its own whose audit tables have the old form."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
        yield url
        return
    if not SERVER_URL:
        pytest.skip("PLANFLOW_TEST_POSTGRES_URL is not set")
    schema = f"planflow_upgrade_{os.getpid()}"
    with make_engine(SERVER_URL).begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{SERVER_URL}{'&' if '?' in SERVER_URL else '?'}options=-csearch_path%3D{schema}"
    with make_engine(SERVER_URL).begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


def legacy_hash(seq, occurred_at, actor, kind, case_id, case_number, element_id, payload, prev_hash) -> str:
    canonical = json.dumps([seq, occurred_at.isoformat(), actor, kind, case_id, case_number, element_id, payload,
                            prev_hash], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def write_legacy_trail(url: str, tamper: bool = False):
    engine = make_engine(url)
    baseline_metadata().create_all(engine)   # a release before migrations: its tables, no alembic_version
    with engine.begin() as conn:
        for statement in LEGACY_DDL:
            conn.execute(text(statement))
        prev = "0" * 64
        for seq, (case_id, number, kind) in enumerate(LEGACY_EVENTS, start=1):
            at = START + timedelta(minutes=seq)
            payload = {"n": seq}
            digest = legacy_hash(seq, at, "intake1", kind, case_id, number, None, payload, prev)
            conn.execute(text("INSERT INTO audit_events VALUES (:seq, :at, 'intake1', :kind, :case_id, :number, NULL, "
                              ":payload, :prev, :hash)"),
                         {"seq": seq, "at": at.replace(tzinfo=None), "kind": kind, "case_id": case_id, "number": number,
                          "payload": json.dumps({"n": 0} if tamper and seq == 4 else payload), "prev": prev,
                          "hash": digest})
            prev = digest
        conn.execute(text("INSERT INTO audit_chain_head VALUES (1, :n, :h)"), {"n": len(LEGACY_EVENTS), "h": prev})
    engine.dispose()
    return prev


def init(url: str):
    result = CliRunner().invoke(main, ["init"], env={"PLANFLOW_DATABASE_URL": url}, catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def test_an_intact_old_trail_is_rechained_per_case_and_signed(legacy_url):
    old_head = write_legacy_trail(legacy_url)
    code, out = init(legacy_url)
    assert code == 0 and "audit trail upgraded: 6 event(s)" in out
    assert init(legacy_url) == (0, out.splitlines()[-1] + "\n")  # once only
    factory = make_session_factory(make_engine(legacy_url))
    with transaction(factory, readonly=True) as session:
        rows = session.execute(select(AuditEvent.seq, AuditEvent.case_id, AuditEvent.chain_seq)
                               .order_by(AuditEvent.seq)).all()
        upgraded = session.execute(select(AuditEvent).where(AuditEvent.kind == "audit_upgraded")).scalar_one()
    assert rows[:6] == [(1, None, 1), (2, 1, 1), (3, 2, 1), (4, 1, 2), (5, None, 2), (6, 2, 2)]
    assert upgraded.seq == 7 and upgraded.payload == {"legacy_events": 6, "legacy_head": [6, old_head]}
    with transaction(factory) as session:  # the upgraded database takes new events as any other
        audit.record(session, audit.EventKind.CALENDAR_LOADED, "admin", START + timedelta(days=1))
    with transaction(factory, readonly=True) as session:
        report = audit.verify_chain(session)
    assert report.ok and report.events_checked == 8


def test_an_old_trail_that_does_not_verify_is_left_as_it_is(legacy_url):
    write_legacy_trail(legacy_url, tamper=True)
    code, out = init(legacy_url)
    assert code != 0 and "does not verify under its previous rule at event 4" in out
    engine = make_engine(legacy_url)
    with engine.connect() as conn:
        columns = [row[0] for row in conn.execute(text("SELECT * FROM audit_events")).cursor.description]
    assert "chain_seq" not in columns
