"""Fixtures: a fresh real database per test (SQLite file, and PostgreSQL when configured)."""
from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

# The suite runs two tests at a time (pytest-xdist) on small machines. A loaded machine must not turn an
# ordinary expression or step into an incident: the limits are raised here (before the engine reads
# them) and tested explicitly where they are the subject.
os.environ.setdefault("PLANFLOW_SANDBOX_TIME_LIMIT", "5")
os.environ.setdefault("PLANFLOW_MAX_ADVANCE_SECONDS", "60")

import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402

from engine.db import Base, create_schema, make_engine, make_session_factory, transaction  # noqa: E402
from engine.plans.versions import spec_cache  # noqa: E402
from tests.support import PLAN_PATHS, Desk  # noqa: E402

# Every cached workflow and every stored-without-specs shortcut is checked against the slow, exact path.
os.environ.setdefault("PLANFLOW_VERIFY_STATE", "1")
# History is pruned at every step where anything can go, so every walk in the suite runs on pruned state.
os.environ.setdefault("PLANFLOW_PRUNE_AFTER", "1")

SERVER_URL = os.environ.get("PLANFLOW_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if SERVER_URL else ["sqlite"]
SHANGHAI = timezone(timedelta(hours=8))

# Each test run works in a schema of its own, so runs sharing one server never see each other.
_SCHEMA = f"planflow_test_{os.getpid()}"
POSTGRES_URL = (f"{SERVER_URL}{'&' if '?' in SERVER_URL else '?'}options=-csearch_path%3D{_SCHEMA}"
                if SERVER_URL else None)
_pg_engine = None


def _postgres_engine():
    """One engine for the whole run; each test empties the tables instead of recreating them."""
    global _pg_engine
    if _pg_engine is None:
        with make_engine(SERVER_URL).begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {_SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {_SCHEMA}"))
        _pg_engine = make_engine(POSTGRES_URL)
        create_schema(_pg_engine)
    return _pg_engine


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_schema():
    yield
    if _pg_engine is not None:
        _pg_engine.dispose()
        with make_engine(SERVER_URL).begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {_SCHEMA} CASCADE"))


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'planflow.sqlite3'}"
    else:
        engine = _postgres_engine()
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        yield POSTGRES_URL


@pytest.fixture
def session_factory(db_url):
    engine = make_engine(db_url) if db_url.startswith("sqlite") else _postgres_engine()
    if db_url.startswith("sqlite"):
        create_schema(engine)
    yield make_session_factory(engine)
    if db_url.startswith("sqlite"):
        engine.dispose()


@pytest.fixture
def now():
    """Monday 2 March 2026, 09:00 in Shanghai: an ordinary working morning."""
    return datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


_sqlite_templates: dict[tuple, Path] = {}


def open_desk(session_factory, db_url: str, now, tmp_path_factory, paths=PLAN_PATHS) -> Desk:
    """Plans of `paths` (default: processes/ and forms/) deployed and one user per role.

    The deployed database is built once per run and copied for each test (deploying a
    dozen plans for every test would dominate the suite's time): on SQLite as a file, on
    PostgreSQL as snapshot tables in the run's schema, copied back into the emptied tables.
    """
    key = tuple(map(str, paths))
    if not db_url.startswith("sqlite"):
        return _open_postgres_desk(session_factory, now, paths, key)
    template = _sqlite_templates.get(key)
    if template is None:
        template = tmp_path_factory.mktemp("template") / "deployed.sqlite3"
        engine = make_engine(f"sqlite:///{template}")
        create_schema(engine)
        Desk.open(make_session_factory(engine), now, paths)
        engine.dispose()
        with contextlib.closing(sqlite3.connect(template)) as conn:  # fold the WAL into the file we copy
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _sqlite_templates[key] = template
    target = Path(db_url.split("///", 1)[1])
    session_factory.kw["bind"].dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return Desk(session_factory, now)


_postgres_templates: dict[tuple, str] = {}


def _open_postgres_desk(session_factory, now, paths, key) -> Desk:
    tables = [table.name for table in Base.metadata.sorted_tables]
    engine = session_factory.kw["bind"]
    prefix = _postgres_templates.get(key)
    if prefix is None:
        desk = Desk.open(session_factory, now, paths)
        prefix = _postgres_templates[key] = f"tpl{len(_postgres_templates)}_"
        with engine.begin() as conn:
            for table in tables:
                conn.execute(text(f'DROP TABLE IF EXISTS "{prefix}{table}"'))
                conn.execute(text(f'CREATE TABLE "{prefix}{table}" AS TABLE "{table}"'))
        return desk
    with engine.begin() as conn:   # the tables were emptied by `db_url`
        for table in tables:
            conn.execute(text(f'INSERT INTO "{table}" SELECT * FROM "{prefix}{table}"'))
        for table in Base.metadata.sorted_tables:
            for column in table.primary_key.columns:
                sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                        {"t": table.name, "c": column.name}).scalar()
                if sequence:
                    conn.execute(text(f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") '
                                      f'FROM "{table.name}"), 0) + 1, false)'), {"s": sequence})
    return Desk(session_factory, now)


@pytest.fixture
def desk(session_factory, db_url, now, tmp_path_factory):
    """Plans of processes/ deployed and one user per role, ready to work cases."""
    return open_desk(session_factory, db_url, now, tmp_path_factory)


@pytest.fixture(autouse=True)
def _fresh_spec_cache():
    spec_cache.clear()
    yield
    spec_cache.clear()


def run(session_factory, use_case, *args, **kwargs):
    """Run one use case in its own transaction and return its result."""
    with transaction(session_factory) as session:
        return use_case(session, *args, **kwargs)
