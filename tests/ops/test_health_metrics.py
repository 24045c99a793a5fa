"""/healthz, /readyz and /metrics on the app, against the test's real database."""
from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from engine.calendar.clock import utcnow
from engine.db import make_engine, make_session_factory, transaction
from engine.ops import heartbeat
from tests.samples import one_task_plan, write_plan
from tests.support import Desk
from webapp import create_app

CONFIG = {"TESTING": True, "SECRET_KEY": "test"}


@pytest.fixture
def desk(session_factory, tmp_path):
    """The mini plan (one handler task with a 24-hour deadline), cases started two days ago."""
    return Desk.open(session_factory, utcnow() - timedelta(days=2), [write_plan(tmp_path / "plans", one_task_plan())])


@pytest.fixture
def client(desk):
    return create_app(CONFIG, session_factory=desk.session_factory).test_client()


def samples(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain; version=") and response.content_type.count("charset") == 1
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def unreachable():
    """A database nobody listens for (port 1 refuses at once)."""
    return make_session_factory(make_engine("postgresql+psycopg://planflow@127.0.0.1:1/planflow"))


def test_healthz_answers_without_touching_the_database():
    response = create_app(CONFIG, session_factory=unreachable()).test_client().get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_waits_for_a_worker_heartbeat_and_names_the_failed_check(client, desk, monkeypatch):
    monkeypatch.setenv("PLANFLOW_READY_HEARTBEAT_SECONDS", "30")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["worker"] and response.json["checks"]["database"]["ok"]
    assert response.json["checks"]["migrations"]["ok"]
    heartbeat.beat(desk.session_factory, 0.01, now=utcnow() - timedelta(seconds=45))
    stale = client.get("/readyz")
    assert stale.status_code == 503 and "45 s ago" in stale.json["checks"]["worker"]["detail"]
    heartbeat.beat(desk.session_factory, 0.01)
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json["status"], ready.json["failed"]) == (200, "ready", [])
    monkeypatch.setenv("PLANFLOW_READY_HEARTBEAT_SECONDS", "0")  # no workers to wait for
    heartbeat.beat(desk.session_factory, 0.01, now=utcnow() - timedelta(days=1))
    assert client.get("/readyz").json["checks"].keys() == {"database", "migrations"}


def test_readyz_is_503_when_the_schema_is_behind_the_migrations(client, desk, monkeypatch):
    monkeypatch.setenv("PLANFLOW_READY_HEARTBEAT_SECONDS", "0")
    with transaction(desk.session_factory) as session:
        current = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        session.execute(text("UPDATE alembic_version SET version_num = 'an_older_revision'"))
    try:
        response = client.get("/readyz")
    finally:  # the PostgreSQL schema is shared by the run's tests, and emptying tables leaves this one alone
        with transaction(desk.session_factory) as session:
            session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
    assert response.status_code == 503 and response.json["failed"] == ["migrations"]
    assert "planflow db upgrade" in response.json["checks"]["migrations"]["detail"]


def test_readyz_is_503_when_the_database_is_unreachable():
    response = create_app(CONFIG, session_factory=unreachable()).test_client().get("/readyz")
    assert response.status_code == 503 and response.json["failed"] == ["database"]


def test_metrics_count_cases_tasks_overdue_timers_incidents_and_worker_figures(client, desk, monkeypatch):
    monkeypatch.setattr(heartbeat, "_figures", None)
    monkeypatch.setenv("PLANFLOW_WORKER_NAME", "w1")
    for _ in range(3):
        desk.start("mini", {}, "handler1")
    before = samples(client)
    assert before[("planflow_database_up", ())] == 1
    assert before[("planflow_cases_started_total", (("plan", "mini"),))] == 3
    assert before[("planflow_cases_running", (("plan", "mini"),))] == 3
    assert before[("planflow_open_tasks", (("role", "handler"),))] == 3
    assert before[("planflow_overdue_tasks", (("role", "handler"),))] == 3
    assert before[("planflow_timers_due", ())] == 3
    assert before[("planflow_incidents", ())] == 0
    from engine.cases import timers
    timers.run_worker(desk.session_factory, 0, once=True)
    after = samples(client)
    assert after[("planflow_timers_due", ())] == 0
    assert after[("planflow_open_tasks", (("role", "office_director"),))] == 3   # escalated
    assert after[("planflow_timers_fired_total", (("worker", "w1"),))] == 3
    assert after[("planflow_timer_lateness_seconds_count", (("worker", "w1"),))] == 3
    assert after[("planflow_timer_lateness_seconds_bucket", (("le", "3600.0"), ("worker", "w1")))] == 0
    assert after[("planflow_timer_lateness_seconds_bucket", (("le", "+Inf"), ("worker", "w1")))] == 3
    assert after[("planflow_sweep_duration_seconds_count", (("worker", "w1"),))] >= 2
    assert 0 <= after[("planflow_worker_heartbeat_age_seconds", (("worker", "w1"),))] < 30
    latency = after[("planflow_http_request_duration_seconds_count",
                     (("endpoint", "metrics.metrics"), ("method", "GET"), ("status", "200")))]
    assert latency >= 1


def test_metrics_need_the_token_when_one_is_set(client, monkeypatch):
    monkeypatch.setenv("PLANFLOW_METRICS_TOKEN", "s3cret-token")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert samples(client, Authorization="Bearer s3cret-token")[("planflow_database_up", ())] == 1


def test_metrics_say_the_database_is_down_and_still_answer():
    found = samples(create_app(CONFIG, session_factory=unreachable()).test_client())
    assert found[("planflow_database_up", ())] == 0
