"""Alembic's entry point: run the revisions on the connection PlanFlow hands over, or on PLANFLOW_DATABASE_URL.

`engine.migrations.schema` passes its connection in `config.attributes["connection"]`; the
`alembic` command line (developers, with the alembic.ini at the repository root) has none
and connects to the configured database.
"""
from __future__ import annotations

from alembic import context

from engine import models  # noqa: F401  (registers the tables on Base.metadata)
from engine.cases.state_codec import CompressedState
from engine.config import Settings
from engine.db import Base, UTCDateTime, make_engine


def render_item(kind, obj, autogen_context):
    """Draft PlanFlow's own column types as plain SQL ones: the same DDL, and revisions stay free of engine imports."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    if kind == "type" and isinstance(obj, CompressedState):
        return "sa.LargeBinary()"
    return False


def _configure(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_item=render_item,
                      # drafts use batch operations, so one revision runs on SQLite (no ALTER COLUMN) and PostgreSQL
                      render_as_batch=True, compare_type=True)


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(Settings.from_env().database_url)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("PlanFlow runs its migrations online: `planflow db upgrade`")
run_online()
