"""Serving the web app: gunicorn in production, Werkzeug's reloader with `--dev`.

`planflow serve` starts a gunicorn master that forks PLANFLOW_WEB_WORKERS processes of
PLANFLOW_WEB_THREADS threads each (gthread workers: a slow client holds a thread, never
the whole process, and the thread count caps the connections served at once). Each
worker builds its own app and database pool after the fork.
"""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.ops import logs


@dataclass(frozen=True)
class ServerSettings:
    bind: str = "127.0.0.1:5000"
    workers: int = 2
    threads: int = 8
    timeout: int = 60            # a worker silent this long is killed and replaced
    graceful_timeout: int = 30   # on stop or restart, requests in flight get this long to finish
    keepalive: int = 5
    trusted_proxies: int = 0     # reverse proxies in front whose X-Forwarded-* headers are believed
    log_format: str = "text"

    @classmethod
    def from_env(cls, environ=None, **overrides) -> "ServerSettings":
        """PLANFLOW_BIND, PLANFLOW_WEB_WORKERS, …; `overrides` (command-line options) win when not None."""
        env = os.environ if environ is None else environ
        values = {
            "bind": env.get("PLANFLOW_BIND", cls.bind),
            "workers": _count(env, "PLANFLOW_WEB_WORKERS", cls.workers, minimum=1),
            "threads": _count(env, "PLANFLOW_WEB_THREADS", cls.threads, minimum=1),
            "timeout": _count(env, "PLANFLOW_WEB_TIMEOUT", cls.timeout, minimum=1),
            "graceful_timeout": _count(env, "PLANFLOW_WEB_GRACEFUL_TIMEOUT", cls.graceful_timeout, minimum=0),
            "keepalive": _count(env, "PLANFLOW_WEB_KEEPALIVE", cls.keepalive, minimum=0),
            "trusted_proxies": _count(env, "PLANFLOW_TRUSTED_PROXIES", cls.trusted_proxies, minimum=0),
            "log_format": logs.log_format(env),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        for key in ("workers", "threads", "timeout"):
            if values[key] < 1:
                raise ValueError(f"--{key} must be at least 1 (got {values[key]})")
        return cls(**values)

    def with_host_port(self, host: str | None, port: int | None) -> "ServerSettings":
        """The bind address with `--host` and/or `--port` replacing its parts."""
        if host is None and port is None:
            return self
        old_host, _, old_port = self.bind.rpartition(":")
        return ServerSettings(**{**asdict(self), "bind": f"{host or old_host or '127.0.0.1'}:{port or old_port}"})


def _count(env, name: str, default: int, minimum: int) -> int:
    text = env.get(name)
    if text is None or text.strip() == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(f"{name}={text!r} must be a whole number of at least {minimum}")
    return value


def build_app(settings: ServerSettings, session_factory=None):
    """The WSGI app as served: PlanFlow's app, behind ProxyFix when proxies are trusted."""
    from webapp import create_app

    app = create_app(session_factory=session_factory)
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)
    return app


def metrics_dir() -> Path:
    """PROMETHEUS_MULTIPROC_DIR, emptied for this server; a private temporary folder when unset.

    gunicorn's workers are separate processes: each writes its request counts and latencies
    to files in this folder and `/metrics` adds them up (prometheus-client's multiprocess
    mode). Files of an earlier run would be added in too, so the folder starts empty.
    """
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess folder was set")
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return folder
    folder = Path(tempfile.mkdtemp(prefix="planflow-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def serve_production(settings: ServerSettings) -> None:
    """Run gunicorn in this process until it is stopped (SIGTERM: graceful, SIGINT: at once)."""
    metrics_dir()
    from gunicorn.app.base import BaseApplication
    from gunicorn.http import wsgi as gunicorn_wsgi

    from webapp.security import SERVER

    # gunicorn writes its own `Server: gunicorn` line before the app's headers; name PlanFlow there instead.
    gunicorn_wsgi.SERVER = SERVER

    class PlanFlowServer(BaseApplication):
        def load_config(self):
            options = {
                "bind": [settings.bind], "workers": settings.workers, "threads": settings.threads,
                "worker_class": "gthread", "timeout": settings.timeout,
                "graceful_timeout": settings.graceful_timeout, "keepalive": settings.keepalive,
                "proc_name": "planflow-web", "accesslog": "-", "errorlog": "-",
                "logconfig_dict": logs.gunicorn_logconfig(settings.log_format),
                # X-Forwarded-Proto is read by ProxyFix (PLANFLOW_TRUSTED_PROXIES), not by gunicorn.
                "forwarded_allow_ips": "", "child_exit": _child_exit,
            }
            if "control_socket_disable" in self.cfg.settings:  # gunicorn ≥ 25: no control socket in $HOME
                options["control_socket_disable"] = True
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return _without_server_header(build_app(settings))

    PlanFlowServer().run()


def _child_exit(_server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _without_server_header(app):
    """The app's own `Server` header dropped: gunicorn sends one already (set to PlanFlow above)."""
    def strip(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, [(k, v) for k, v in headers if k.lower() != "server"], exc_info)
        return app(environ, start)
    return strip


def serve_dev(settings: ServerSettings, session_factory=None) -> None:
    """Werkzeug's development server with the reloader: one process, restarted when a source file changes."""
    from webapp import security

    logs.configure(settings.log_format)
    host, _, port = settings.bind.rpartition(":")
    security.serve(build_app(settings, session_factory), host or "127.0.0.1", int(port), reload=True)
