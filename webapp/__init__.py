"""PlanFlow's web app: the task inbox, complaint registration, case pages and the JSON API."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from engine.config import PROJECT_ROOT, Settings
from engine.db import make_engine, make_session_factory

csrf = CSRFProtect()


def _secret_key() -> str:
    """PLANFLOW_SECRET_KEY, else a key generated once into the instance folder (never committed)."""
    if os.environ.get("PLANFLOW_SECRET_KEY"):
        return os.environ["PLANFLOW_SECRET_KEY"]
    key_file = PROJECT_ROOT / "instance" / "secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


def create_app(test_config: dict | None = None, session_factory=None) -> Flask:
    """Create the app; `session_factory` defaults to the configured database."""
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    app.config.from_mapping(
        SECRET_KEY=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("PLANFLOW_SECURE_COOKIES", "0") == "1",
        REMEMBER_COOKIE_HTTPONLY=True,
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        INBOX_PAGE_SIZE=50,
    )
    app.config.from_mapping(test_config or {})
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key()
    if session_factory is None:
        session_factory = make_session_factory(make_engine(Settings.from_env().database_url))
    app.extensions["planflow_sessions"] = session_factory

    from webapp import api, attachments, auth, cases, errors, i18n, inbox, limits, plans, review, security, team, workspace
    from webapp import notifications
    from webapp import drills, health, metrics

    attachments.init_app(app)  # first: its upload body limit must apply before anything reads the body
    metrics.init_app(app)  # next: the request clock starts before the other hooks run
    limits.init_app(app)
    security.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(plans.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(workspace.bp)
    app.register_blueprint(team.bp)
    app.register_blueprint(drills.bp)
    app.register_blueprint(attachments.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(health.bp)
    csrf.exempt(api.bp)  # the API authenticates every request with a bearer token, not a cookie
    return app
