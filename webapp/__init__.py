"""PlanFlow's web app. For now one page: what is deployed and running (the inbox comes next)."""
from __future__ import annotations

from flask import Flask, render_template_string
from sqlalchemy import func, select

from engine.config import Settings
from engine.db import make_engine, make_session_factory, transaction
from engine.models import Case, CaseStatus, PlanVersion

_OVERVIEW = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>PlanFlow</title></head>
<body>
<h1>PlanFlow</h1>
<p>投诉应急预案流程平台 — complaint emergency plans as BPMN processes.</p>
<h2>已部署预案 / Deployed plans</h2>
<table border="1" cellpadding="4">
<tr><th>Plan</th><th>Name</th><th>Version</th><th>Running cases</th></tr>
{% for row in plans %}<tr><td>{{ row.plan_key }}</td><td>{{ row.name }}</td><td>{{ row.version }}</td>
<td>{{ row.running }}</td></tr>{% else %}<tr><td colspan="4">No plan deployed yet.</td></tr>{% endfor %}
</table>
</body></html>"""


def create_app(test_config: dict | None = None, session_factory=None) -> Flask:
    """Create the Flask app; `session_factory` defaults to the configured database."""
    app = Flask(__name__)
    app.config.from_mapping(test_config or {})
    if session_factory is None:
        session_factory = make_session_factory(make_engine(Settings.from_env().database_url))
    app.extensions["planflow_sessions"] = session_factory

    @app.get("/")
    def overview():
        with transaction(session_factory, readonly=True) as session:
            latest = select(PlanVersion.plan_key, func.max(PlanVersion.version).label("version")) \
                .group_by(PlanVersion.plan_key).subquery()
            versions = session.execute(select(PlanVersion).join(
                latest, (PlanVersion.plan_key == latest.c.plan_key) & (PlanVersion.version == latest.c.version))
                .order_by(PlanVersion.plan_key)).scalars().all()
            running = dict(session.execute(
                select(PlanVersion.plan_key, func.count(Case.id)).join(Case, Case.plan_version_id == PlanVersion.id)
                .where(Case.status == CaseStatus.RUNNING).group_by(PlanVersion.plan_key)).all())
            rows = [{"plan_key": v.plan_key, "name": v.name, "version": v.version,
                     "running": running.get(v.plan_key, 0)} for v in versions]
        return render_template_string(_OVERVIEW, plans=rows)

    return app
