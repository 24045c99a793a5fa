"""`/metrics` in Prometheus text format: request latency from the web processes, the rest from the database.

Under gunicorn every web process records its requests into files in
PROMETHEUS_MULTIPROC_DIR (set by `planflow serve`), and the process answering a scrape
adds all of them up, so one scrape sees every process. Case, task and timer figures are
counted in the database at scrape time; the timer workers' lateness and sweep histograms
come from their heartbeat rows (engine/ops/heartbeat.py), wherever the workers run.
PLANFLOW_METRICS_TOKEN, when set, is required as `Authorization: Bearer <token>`.
"""
from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy.exc import SQLAlchemyError

from engine.calendar.clock import utcnow
from engine.db import transaction
from engine.ops import counts

bp = Blueprint("metrics", __name__)

REQUEST_SECONDS = Histogram(
    "planflow_http_request_duration_seconds", "Time to answer a request, by endpoint, method and status.",
    ["endpoint", "method", "status"], registry=None,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))


def init_app(app) -> None:
    @app.before_request
    def start_clock():
        g.planflow_request_started = time.perf_counter()

    @app.after_request
    def observe(response):
        started = g.pop("planflow_request_started", None)
        if started is not None:
            # The endpoint name, not the path: ids in paths would make a series per case.
            REQUEST_SECONDS.labels(request.endpoint or "unmatched", request.method,
                                   str(response.status_code)).observe(time.perf_counter() - started)
        return response

    app.register_blueprint(bp)


@bp.get("/metrics")
def metrics():
    token = os.environ.get("PLANFLOW_METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return Response("metrics need the bearer token set in PLANFLOW_METRICS_TOKEN\n", status=401,
                            mimetype="text/plain", headers={"WWW-Authenticate": "Bearer"})
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
    registry.register(DatabaseCollector(current_app.extensions["planflow_sessions"]))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class DatabaseCollector:
    """Families counted in the database at each scrape; `planflow_database_up 0` when it cannot be read."""

    def __init__(self, session_factory):
        self.session_factory = session_factory

    def collect(self):
        now = utcnow()
        up = GaugeMetricFamily("planflow_database_up", "Whether the database could be read for this scrape.")
        try:
            with transaction(self.session_factory, readonly=True) as session:
                found = counts.read(session, now)
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from case_families(found)
        yield from task_and_timer_families(found)
        yield from worker_families(found, now)


def case_families(found: counts.Counts):
    started = CounterMetricFamily("planflow_cases_started", "Cases registered, by plan (cases deleted by "
                                  "retention leave the count).", labels=["plan"])
    completed = CounterMetricFamily("planflow_cases_completed", "Cases completed, by plan.", labels=["plan"])
    running = GaugeMetricFamily("planflow_cases_running", "Cases still running, by plan.", labels=["plan"])
    per_plan: dict[str, dict[str, int]] = {}
    for (plan, status), n in found.cases.items():
        per_plan.setdefault(plan, {})[status] = n
    for plan, by_status in sorted(per_plan.items()):
        started.add_metric([plan], sum(by_status.values()))
        completed.add_metric([plan], by_status.get("completed", 0))
        running.add_metric([plan], by_status.get("running", 0))
    incidents = GaugeMetricFamily("planflow_incidents", "Running cases stopped by an incident "
                                  "(`planflow incidents`).")
    incidents.add_metric([], found.incidents)
    return [started, completed, running, incidents]


def task_and_timer_families(found: counts.Counts):
    open_tasks = GaugeMetricFamily("planflow_open_tasks", "Open tasks, by role.", labels=["role"])
    for role, n in sorted(found.open_tasks.items()):
        open_tasks.add_metric([role], n)
    overdue = GaugeMetricFamily("planflow_overdue_tasks", "Open tasks past their deadline, by role.",
                                labels=["role"])
    for role, n in sorted(found.overdue_tasks.items()):
        overdue.add_metric([role], n)
    due = GaugeMetricFamily("planflow_timers_due", "Timers due now and not fired yet (a backlog for the workers).")
    due.add_metric([], found.timers_due)
    return [open_tasks, overdue, due]


def worker_families(found: counts.Counts, now):
    seen = GaugeMetricFamily("planflow_worker_heartbeat_age_seconds", "Seconds since each timer worker's "
                             "last sweep.", labels=["worker"])
    last = GaugeMetricFamily("planflow_worker_last_sweep_seconds", "Duration of each worker's last sweep.",
                             labels=["worker"])
    fired = CounterMetricFamily("planflow_timers_fired", "Timers fired, by worker, since it started.",
                                labels=["worker"])
    lateness = HistogramMetricFamily("planflow_timer_lateness_seconds", "How long after its due time a timer "
                                     "fired (fired_at − due_at), by worker, since it started.", labels=["worker"])
    sweeps = HistogramMetricFamily("planflow_sweep_duration_seconds", "Duration of the timer sweeps, by worker, "
                                   "since it started.", labels=["worker"])
    for row in found.workers:
        seen.add_metric([row.name], max((now - row.last_seen).total_seconds(), 0.0))
        last.add_metric([row.name], row.last_sweep_seconds)
        fired.add_metric([row.name], row.timers_fired)
        for family, key in ((lateness, "lateness_seconds"), (sweeps, "sweep_seconds")):
            stats = (row.stats or {}).get(key)
            if stats:
                family.add_metric([row.name], _buckets(stats), stats["sum"])
    return [seen, last, fired, lateness, sweeps]


def _buckets(stats: dict) -> list[tuple[str, float]]:
    pairs = [(_bound(b), c) for b, c in zip(stats["buckets"], stats["counts"])]
    return pairs + [("+Inf", stats["count"])]


def _bound(value: float) -> str:
    return repr(float(value))
