"""Adopt a database made before migrations existed: bring it to the baseline revision, once.

Releases before Alembic created tables with `create_all` and added later columns on start.
Such a database has PlanFlow's tables but no alembic_version. It is brought to exactly the
baseline here (missing baseline tables created, missing columns added with the value existing
rows get, missing indexes created; an old-form audit trail upgraded by its own rule), and only
then stamped, so every later revision runs on it as on any other database.

The baseline's tables are read from the baseline revision itself, not from today's models:
a later revision that adds a column must find it absent.
"""
from __future__ import annotations

import enum
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from engine.migrations.schema import BASELINE, script_directory

# The value rows that predate a NOT NULL column get, as the models' defaults were at the baseline.
FILL = {
    ("audit_chain_head", "last_seq"): 0, ("audit_chain_head", "anchored_seq"): 0,
    ("case_number_counters", "last"): 0,
    ("notifications", "locale"): "zh_CN", ("notifications", "urgent"): False, ("notifications", "digest"): False,
    ("notifications", "status"): "pending", ("notifications", "attempts"): 0,
    ("plan_versions", "name"): "",
    ("users", "display_name"): "", ("users", "active"): True, ("users", "locale"): "zh_CN",
    ("users", "session_version"): 0, ("users", "failed_logins"): 0,
    ("webhooks", "style"): "planflow", ("webhooks", "locale"): "zh_CN", ("webhooks", "active"): True,
    ("cases", "status"): "running", ("cases", "revision"): 1,
    ("notification_preferences", "daily_digest"): False,
    ("message_subscriptions", "status"): "waiting",
    ("tasks", "status"): "open", ("tasks", "due_provisional"): False,
    ("timers", "status"): "waiting", ("timers", "attempts"): 0,
    ("deadline_warnings", "status"): "waiting",
    ("worker_heartbeats", "last_sweep_seconds"): 0.0, ("worker_heartbeats", "sweeps"): 0,
    ("worker_heartbeats", "timers_fired"): 0,
}


class _Recorder:
    """Stands in for alembic's `op` while the baseline's upgrade() runs, collecting its tables into a MetaData."""

    def __init__(self):
        self.metadata = sa.MetaData()

    def create_table(self, name, *items, **kwargs):
        return sa.Table(name, self.metadata, *items, **kwargs)

    def create_index(self, name, table, columns, unique=False, **kwargs):
        table = self.metadata.tables[table]
        return sa.Index(name, *(table.c[c] if isinstance(c, str) else c for c in columns), unique=unique, **kwargs)


@contextmanager
def _recording(module):
    recorder, original = _Recorder(), module.op
    module.op = recorder
    try:
        yield recorder
    finally:
        module.op = original


def baseline_metadata() -> sa.MetaData:
    """The tables, columns and indexes the baseline revision creates."""
    module = script_directory().get_revision(BASELINE).module
    with _recording(module) as recorder:
        module.upgrade()
    return recorder.metadata


def has_planflow_tables(engine: Engine) -> bool:
    """True when any table of the baseline exists (the database is not empty)."""
    present = set(inspect(engine).get_table_names())
    return bool(present & set(baseline_metadata().tables))


def bring_to_baseline(engine: Engine) -> int | None:
    """Make a pre-migration database match the baseline; the number of audit events re-chained, if any were old.

    The old audit form has its own upgrade (engine.records.audit.upgrade), which verifies the
    trail first and refuses a broken one: then nothing is stamped and the error goes up.
    """
    from engine.records.audit import upgrade as audit_upgrade

    metadata = baseline_metadata()
    with engine.begin() as connection:
        metadata.create_all(connection)   # tables the old release did not have yet
        _add_missing_columns(connection, metadata)
    upgraded = audit_upgrade.upgrade_legacy_trail(engine)
    _settle_columns(engine, metadata)
    return upgraded


def _add_missing_columns(connection, metadata: sa.MetaData) -> None:
    inspector = inspect(connection)
    for table in metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing = [column for column in table.columns if column.name not in present]
        if any(not column.nullable and (table.name, column.name) not in FILL for column in missing):
            continue   # nothing to fill existing rows with: the table has an upgrade of its own (audit trail)
        for column in missing:
            fill = FILL.get((table.name, column.name))
            clause = f" DEFAULT {_literal(fill)}" if fill is not None else ""
            not_null = "" if column.nullable else " NOT NULL"
            connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" '
                                    f'{column.type.compile(dialect=connection.dialect)}{clause}{not_null}'))
        existing = {index["name"] for index in inspect(connection).get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in existing:
                index.create(connection)


def _settle_columns(engine: Engine, metadata: sa.MetaData) -> None:
    """Give every column the baseline's NOT NULL and no server default, and every table its indexes.

    Columns added later (by the stopgap of earlier releases, by the audit upgrade, or just
    above with the value for existing rows) were added nullable or with a DEFAULT. PostgreSQL
    alters them in place; SQLite cannot, so such a table is rebuilt from the baseline's own
    definition and its rows copied over, with foreign keys off while it is (see migrating).
    """
    from engine.migrations.schema import migrating

    with migrating(engine) as connection:
        inspector = inspect(connection)
        for table in metadata.sorted_tables:
            columns = {column["name"]: column for column in inspector.get_columns(table.name)}
            to_not_null = [c.name for c in table.columns if not c.nullable and columns[c.name]["nullable"]]
            to_no_default = [c.name for c in table.columns if _stray_default(columns[c.name].get("default"))]
            for name in to_not_null:
                fill = FILL.get((table.name, name))
                if fill is not None:
                    connection.execute(text(f'UPDATE "{table.name}" SET "{name}" = {_literal(fill)} '
                                            f'WHERE "{name}" IS NULL'))
            if (to_not_null or to_no_default) and connection.dialect.name == "sqlite":
                _rebuild_sqlite_table(connection, table)
                continue
            for name in to_no_default:
                connection.execute(text(f'ALTER TABLE "{table.name}" ALTER COLUMN "{name}" DROP DEFAULT'))
            for name in to_not_null:
                connection.execute(text(f'ALTER TABLE "{table.name}" ALTER COLUMN "{name}" SET NOT NULL'))
            existing = {index["name"] for index in inspector.get_indexes(table.name)}
            for index in table.indexes:   # those of a table left to its own upgrade above (audit trail)
                if index.name not in existing:
                    index.create(connection)


def _stray_default(default) -> bool:
    """A server default the baseline does not have (the baseline has none but PostgreSQL's id sequences)."""
    return default is not None and "nextval(" not in str(default)


def _rebuild_sqlite_table(connection, table: sa.Table) -> None:
    """SQLite's way to change a column: a new table as the baseline defines it, the rows copied in, names swapped."""
    scratch = sa.MetaData()   # the other tables too, so the copy's foreign keys resolve
    for other in table.metadata.sorted_tables:
        if other is not table:
            other.to_metadata(scratch)
    staging = table.to_metadata(scratch, name=f"_baseline_{table.name}")
    connection.execute(sa.schema.CreateTable(staging))
    names = ", ".join(f'"{column.name}"' for column in table.columns)
    connection.execute(text(f'INSERT INTO "{staging.name}" ({names}) SELECT {names} FROM "{table.name}"'))
    # AUTOINCREMENT remembers the highest id ever given, also of rows since deleted: carry it over
    last_id = connection.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :name"),
                                 {"name": table.name}).scalar() if _has_sqlite_sequence(connection) else None
    connection.execute(text(f'DROP TABLE "{table.name}"'))
    connection.execute(text(f'ALTER TABLE "{staging.name}" RENAME TO "{table.name}"'))
    if last_id is not None:
        updated = connection.execute(text("UPDATE sqlite_sequence SET seq = MAX(seq, :last) WHERE name = :name"),
                                     {"last": last_id, "name": table.name}).rowcount
        if not updated:   # the table was empty: no row was copied to set it
            connection.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :last)"),
                               {"last": last_id, "name": table.name})
    for index in table.indexes:
        index.create(connection)


def _has_sqlite_sequence(connection) -> bool:
    return connection.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first() is not None


def _literal(value) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
