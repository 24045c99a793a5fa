"""Database engine and sessions: SQLite embedded by default, PostgreSQL in production.

A case is changed by one transaction at a time. On PostgreSQL the case row is
locked with SELECT … FOR UPDATE; SQLite has no row locks, so a writing transaction
starts with BEGIN IMMEDIATE and takes the database write lock up front — a second
writer waits (busy timeout) instead of failing later on a stale snapshot.
"""
from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import DateTime, create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

READONLY = "planflow_readonly"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (stored as naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware UTC")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


def make_engine(url: str, **kwargs) -> Engine:
    """Create the SQLAlchemy engine, with SQLite set up for several processes at once."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin event below decide how a transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        readonly = connection.get_execution_options().get(READONLY, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextlib.contextmanager
def transaction(session_factory: sessionmaker[Session], readonly: bool = False):
    """One unit of work: commit at the end, roll back on any exception."""
    bind = session_factory.kw["bind"]
    if readonly:
        bind = bind.execution_options(**{READONLY: True})
    session = session_factory(bind=bind)
    try:
        yield session
        if not readonly:
            session.commit()
        # A read-only transaction simply ends with close(): its objects stay readable, detached.
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def create_schema(engine: Engine) -> None:
    """Create every table from the models at once and record the newest migration as applied.

    For tests and benchmarks, where a fresh database a second is worth having: a real
    database is made and kept up to date by the migrations (`planflow db upgrade`), and a
    test checks that both give the same schema.
    """
    from engine import models  # noqa: F401  (registers the tables)
    from engine.migrations import schema

    with engine.begin() as connection:
        at = schema.current_in(connection)
        if at is None and inspect(connection).get_table_names():
            raise RuntimeError("create_schema is for an empty database; this one has tables: planflow db upgrade")
        if at not in (None, schema.head()):
            raise RuntimeError(f"the database is at revision {at}, not the newest: planflow db upgrade")
        Base.metadata.create_all(connection)
        if at is None:
            schema.stamp_head(connection)
