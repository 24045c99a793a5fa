"""Serving settings: environment, command-line options over it, and the proxy headers PlanFlow believes."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.models import LoginFailure
from webapp.server import ServerSettings, build_app


def test_settings_come_from_the_environment_and_options_win():
    env = {"PLANFLOW_BIND": "0.0.0.0:8000", "PLANFLOW_WEB_WORKERS": "4", "PLANFLOW_WEB_THREADS": "16",
           "PLANFLOW_WEB_TIMEOUT": "90", "PLANFLOW_TRUSTED_PROXIES": "1", "PLANFLOW_LOG_FORMAT": "JSON"}
    settings = ServerSettings.from_env(env, workers=3, threads=None)
    assert (settings.bind, settings.workers, settings.threads, settings.timeout, settings.trusted_proxies,
            settings.log_format) == ("0.0.0.0:8000", 3, 16, 90, 1, "json")
    assert settings.with_host_port(None, 9000).bind == "0.0.0.0:9000"
    assert settings.with_host_port("127.0.0.1", None).bind == "127.0.0.1:8000"
    assert ServerSettings.from_env({}) == ServerSettings()


@pytest.mark.parametrize("name, value", [("PLANFLOW_WEB_WORKERS", "0"), ("PLANFLOW_WEB_THREADS", "-2"),
                                         ("PLANFLOW_WEB_TIMEOUT", "soon"), ("PLANFLOW_TRUSTED_PROXIES", "1.5")])
def test_a_bad_number_is_refused_by_name(name, value):
    with pytest.raises(ValueError, match=f"{name}='{value}' must be a whole number"):
        ServerSettings.from_env({name: value})


def login_failure_address(session_factory, trusted_proxies: int) -> str:
    app = build_app(ServerSettings(trusted_proxies=trusted_proxies), session_factory)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    app.test_client().post("/login", data={"username": "nobody", "password": "wrong"},
                           headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    with session_factory() as session:
        return session.execute(select(LoginFailure.address).order_by(LoginFailure.id.desc())).scalars().first()


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(session_factory):
    assert login_failure_address(session_factory, 0) == "10.0.0.2"   # nothing trusted: the header is ignored
    assert login_failure_address(session_factory, 1) == "203.0.113.7"
