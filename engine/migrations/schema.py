"""Bring a database to the schema the models describe, by running the Alembic revisions in versions/.

Works from an installed package: the revisions are found next to this module, no alembic.ini
is needed. `upgrade` is what `planflow db upgrade` and `planflow init` run; a database made
before migrations existed is first brought to the baseline (see pre_alembic) and stamped.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from engine.db import READONLY
from engine.errors import PlanFlowError

HERE = Path(__file__).resolve().parent
BASELINE = "0001_baseline"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration pointing at the revisions inside the package (and at `connection`, if given)."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def heads() -> list[str]:
    """The revisions nothing follows; exactly one while the chain is linear."""
    return list(script_directory().get_heads())


def head() -> str:
    found = heads()
    if len(found) != 1:
        raise PlanFlowError(f"the migrations have {len(found)} heads ({', '.join(sorted(found))}); "
                           "chain them by editing down_revision")
    return found[0]


def current(engine: Engine) -> str | None:
    """The revision the database is at: None for an empty database or one made before migrations."""
    with engine.connect().execution_options(**{READONLY: True}) as connection:
        return current_in(connection)


def current_in(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None          # the revision the database was at (None: empty or made before migrations)
    after: str
    pre_alembic: bool           # tables were there without a revision: brought to the baseline and stamped
    audit_events_upgraded: int | None   # events of an old-form audit trail re-chained on the way, if any


def upgrade(engine: Engine, revision: str = "head") -> UpgradeResult:
    """Run every revision the database lacks; a database made before migrations is adopted first."""
    from engine.migrations import pre_alembic

    with one_upgrade_at_a_time(engine):
        adopted, audit_upgraded = False, None
        if current(engine) is None and pre_alembic.has_planflow_tables(engine):
            audit_upgraded = pre_alembic.bring_to_baseline(engine)
            adopted = True
        with migrating(engine) as connection:
            # read again inside the transaction: another process may have upgraded meanwhile (SQLite)
            before = MigrationContext.configure(connection).get_current_revision()
            config = alembic_config(connection)
            if adopted and before is None:
                command.stamp(config, BASELINE)
            command.upgrade(config, revision)
            after = MigrationContext.configure(connection).get_current_revision()
        return UpgradeResult(before, after, adopted and before is None, audit_upgraded)


# Any constant: the PostgreSQL advisory lock held while one process upgrades (web processes and
# workers started together may each run `planflow db upgrade`).
_UPGRADE_LOCK = 0x706C616E666C6F77


@contextmanager
def one_upgrade_at_a_time(engine: Engine):
    """Hold PostgreSQL's advisory lock for the whole upgrade; on SQLite each step's BEGIN IMMEDIATE serialises."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _UPGRADE_LOCK})
        lock.commit()   # the lock is the session's: it outlives this transaction
        try:
            yield
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _UPGRADE_LOCK})
            lock.commit()


@contextmanager
def migrating(engine: Engine):
    """One transaction for the revisions.

    On SQLite, foreign keys are off while it runs: a batch operation rebuilds a table by copying
    it and dropping the old one, and with them on, dropping `cases` would cascade to every task
    and timer. They are checked before the commit instead, and switched back on.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:   # outside any transaction, where SQLite honours it
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise PlanFlowError(f"the migration would leave {len(broken)} row(s) pointing at rows that "
                                            f"do not exist (first in table {broken[0][0]}); nothing was changed")
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


def stamp_head(connection: Connection) -> None:
    """Record the newest revision without running any: for a schema just made by `Base.metadata.create_all`."""
    MigrationContext.configure(connection).stamp(script_directory(), "head")


def history() -> list[tuple[str, str | None, str]]:
    """(revision, the revision it follows, its first docstring line), oldest first."""
    revisions = list(script_directory().walk_revisions())
    return [(r.revision, r.down_revision, (r.doc or "").strip().splitlines()[0] if r.doc else "")
            for r in reversed(revisions)]
