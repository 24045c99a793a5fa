"""`/healthz` (the process answers) and `/readyz` (it can do its work), for load balancers and systemd checks."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from engine.calendar.clock import utcnow
from engine.ops import readiness

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Up: no database call, so a database outage does not get every web process restarted."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready: database reachable, migrations current, a worker heartbeat recent; 503 naming what failed."""
    checks = readiness.check_all(current_app.extensions["planflow_sessions"], utcnow(),
                                 readiness.heartbeat_max_age())
    failed = [check.name for check in checks if not check.ok]
    body = {"status": "not ready" if failed else "ready", "failed": failed,
            "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks}}
    return jsonify(body), 503 if failed else 200
