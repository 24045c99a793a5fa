"""The `planflow` command: the engine's commands (engine/cli.py) plus `serve`, which runs the web app."""
from __future__ import annotations

import logging

import click

from engine.cli import Context, domain_errors, main, pass_ctx
from engine.ops import logs
from webapp import server


@main.command()
@click.option("--bind", default=None, help="host:port to listen on (PLANFLOW_BIND, default 127.0.0.1:5000).")
@click.option("--host", default=None, help="Listen on this host (replaces the host part of --bind).")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Listen on this port.")
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="Web processes (PLANFLOW_WEB_WORKERS, default 2).")
@click.option("--threads", default=None, type=click.IntRange(min=1),
              help="Threads per process, the requests it serves at once (PLANFLOW_WEB_THREADS, default 8).")
@click.option("--timeout", default=None, type=click.IntRange(min=1),
              help="Seconds before a stuck process is replaced (PLANFLOW_WEB_TIMEOUT, default 60).")
@click.option("--dev", is_flag=True, help="Werkzeug's development server, reloading on code changes.")
@pass_ctx
@domain_errors
def serve(ctx: Context, bind, host, port, workers, threads, timeout, dev):
    """Serve the web app with gunicorn (or, with --dev, the development server)."""
    settings = server.ServerSettings.from_env(bind=bind, workers=workers, threads=threads,
                                              timeout=timeout).with_host_port(host, port)
    factory = ctx.session_factory()  # fails here, with one line, when the database is not set up
    if dev:
        server.serve_dev(settings, factory)
        return
    factory.kw["bind"].dispose()  # each gunicorn worker opens its own connections after the fork
    logs.configure(settings.log_format)
    logging.getLogger("planflow.web").info("serving on http://%s (%d process(es) × %d thread(s))", settings.bind,
                                           settings.workers, settings.threads)
    server.serve_production(settings)


if __name__ == "__main__":
    main()
