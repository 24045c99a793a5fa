"""Schema migrations: they build exactly what the models describe, adopt a database made before them, keep its rows.

Each test works in a database of its own: a SQLite file, or on PostgreSQL a schema of its own
that is dropped afterwards (other runs share the server's database).
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, select, text

from engine import models
from engine.cli import main
from engine.db import Base, create_schema, make_engine, make_session_factory, transaction
from engine.migrations import pre_alembic, schema
from engine.people import users
from engine.records import audit
from tests.conftest import SERVER_URL
from tests.engine.test_audit_upgrade import write_legacy_trail
from tests.support import ROOT, secret_hash

BACKENDS = ["sqlite", "postgresql"]
WHEN = datetime(2026, 3, 2, 1, 0)


@pytest.fixture
def new_url(request, tmp_path):
    """A factory of empty databases on the test's backend, each cleaned up afterwards."""
    schemas = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.sqlite3'}"
        if not SERVER_URL:
            pytest.skip("PLANFLOW_TEST_POSTGRES_URL is not set")
        name = f"planflow_migrations_{os.getpid()}_{len(schemas)}"
        with make_engine(SERVER_URL).begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {name}"))
        schemas.append(name)
        return f"{SERVER_URL}{'&' if '?' in SERVER_URL else '?'}options=-csearch_path%3D{name}"

    yield make
    if schemas:
        with make_engine(SERVER_URL).begin() as conn:
            for name in schemas:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))


def differences(engine, server_defaults: bool = False) -> list:
    """What autogenerate would put in a new revision: the models against the database.

    Server defaults are compared where the migrations made every table: a database adopted
    from before migrations keeps on SQLite the DEFAULT its added columns were filled with.
    """
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "compare_server_default": server_defaults})
        return compare_metadata(context, Base.metadata)


def describe(engine) -> dict:
    """Everything the database says about its tables, for comparing two databases built two ways.

    Column order is left out: a column a revision adds comes last, wherever the model declares it.
    """
    inspector = inspect(engine)
    found = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        found[table] = {
            "columns": sorted((c["name"], str(c["type"]), c["nullable"], str(c.get("default")), c.get("autoincrement"))
                              for c in inspector.get_columns(table)),
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted((fk["constrained_columns"], fk["referred_table"], fk["referred_columns"],
                                    sorted(fk.get("options", {}).items())) for fk in inspector.get_foreign_keys(table)),
            "indexes": sorted((i["name"], i["column_names"], bool(i["unique"]),
                               sorted((k, str(v)) for k, v in i.get("dialect_options", {}).items()))
                              for i in inspector.get_indexes(table)),
            "unique": sorted(sorted(u["column_names"]) for u in inspector.get_unique_constraints(table)),
        }
    if engine.dialect.name == "sqlite":   # what reflection leaves out: AUTOINCREMENT, an index's WHERE
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT type, name, sql FROM sqlite_master "
                                           "WHERE name NOT LIKE 'sqlite_%' AND name != 'alembic_version'")).all()
        found["autoincrement"] = sorted(name for kind, name, sql in rows if kind == "table" and "AUTOINCREMENT" in sql)
        found["index_sql"] = sorted((name, sql) for kind, name, sql in rows if kind == "index" and sql)
    return found


def planflow(url: str, *args: str):
    result = CliRunner().invoke(main, list(args), env={"PLANFLOW_DATABASE_URL": url})
    return result.exit_code, result.output


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_from_empty_build_the_schema_the_models_describe(new_url, backend):
    engine = make_engine(new_url(backend))
    result = schema.upgrade(engine)
    assert (result.before, result.after, result.pre_alembic) == (None, schema.head(), False)
    assert differences(engine, server_defaults=True) == []
    engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_and_the_test_suites_create_all_give_the_same_database(new_url, backend):
    migrated, created = make_engine(new_url(backend)), make_engine(new_url(backend))
    schema.upgrade(migrated)
    create_schema(created)
    assert describe(migrated) == describe(created)
    assert schema.current(created) == schema.current(migrated) == schema.head()
    migrated.dispose()
    created.dispose()


def test_the_migrations_form_one_chain():
    assert len(schema.heads()) == 1
    chain = schema.history()
    assert chain[0][:2] == (schema.BASELINE, None)
    assert [follows for _, follows, _ in chain[1:]] == [revision for revision, _, _ in chain[:-1]]


def make_pre_alembic_database(url: str) -> None:
    """The tables as the release before migrations made them, with rows, missing what its predecessors lacked."""
    engine = make_engine(url)
    baseline = pre_alembic.baseline_metadata()
    baseline.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (username, display_name, password_hash, active, locale, session_version, "
                          "failed_logins) VALUES ('wang', 'Wang', :h, TRUE, 'en', 3, 0)"), {"h": secret_hash()})
        conn.execute(text("INSERT INTO user_roles (user_id, role) VALUES (1, 'intake')"))
        conn.execute(text("INSERT INTO plan_versions (plan_key, version, name, content_hash, bpmn_xml, assets, "
                          "deployed_by, deployed_at) VALUES ('p', 1, 'P', 'abc', '<x/>', '{}', 'setup', :at)"),
                     {"at": WHEN})
        # columns and index an earlier release did not have yet (the stopgap used to add them on start)
        for column in ("session_version", "failed_logins", "locked_at"):
            conn.execute(text(f"ALTER TABLE users DROP COLUMN {column}"))
        # and one as that stopgap added it: nullable, with a DEFAULT
        conn.execute(text("ALTER TABLE users ADD COLUMN session_version INTEGER DEFAULT 0"))
        conn.execute(text("ALTER TABLE plan_versions DROP COLUMN name"))
        conn.execute(text("ALTER TABLE plan_versions ADD COLUMN name VARCHAR(200) DEFAULT ''"))
        conn.execute(text("DROP INDEX ix_tasks_escalated"))
        conn.execute(text("DROP TABLE plan_drafts"))   # a table it did not have yet
    engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_database_from_before_migrations_is_brought_to_head_and_keeps_its_rows(new_url, backend):
    url = new_url(backend)
    make_pre_alembic_database(url)
    code, out = planflow(url, "db", "upgrade")
    assert code == 0, out
    assert f"brought to {schema.BASELINE} and stamped" in out
    engine = make_engine(url)
    assert schema.current(engine) == schema.head()
    assert differences(engine, server_defaults=True) == []
    fresh = make_engine(new_url(backend))
    create_schema(fresh)
    assert describe(engine) == describe(fresh)
    fresh.dispose()
    factory = make_session_factory(engine)
    with transaction(factory, readonly=True) as session:
        user = users.authenticate(session, "wang", "secret")
        assert user is not None and user.role_keys == {"intake"} and user.locale == "en"
        assert (user.session_version, user.failed_logins, user.locked_at) == (0, 0, None)
        plan = session.execute(select(models.PlanVersion)).scalar_one()
        assert (plan.plan_key, plan.version, plan.deployed_at) == ("p", 1, WHEN.replace(tzinfo=timezone.utc))
        assert plan.name == ""
    with transaction(factory) as session:   # the new columns take writes like any other
        users.get_user(session, "wang").failed_logins = 2
    assert planflow(url, "db", "upgrade")[1].splitlines() == [f"database at {schema.head()}: "
                                                              f"{url.split('@')[-1]}"]   # once only
    engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_init_upgrades_as_db_upgrade_does_and_current_tells_where_the_database_stands(new_url, backend):
    url = new_url(backend)
    assert planflow(url, "db", "current") == (1, "none (not migrated: run `planflow db upgrade`)\n")
    code, out = planflow(url, "init")
    assert code == 0 and f"schema upgraded: empty -> {schema.head()}" in out
    assert planflow(url, "db", "current") == (0, f"{schema.head()} (up to date)\n")
    code, out = planflow(url, "db", "history")
    assert code == 0 and out.splitlines()[0].startswith(f"{schema.BASELINE}  (after nothing)")


def test_a_database_behind_head_is_told_so_and_upgraded(new_url):
    url = new_url("sqlite")
    engine = make_engine(url)
    schema.upgrade(engine, schema.BASELINE)
    if schema.head() == schema.BASELINE:
        assert planflow(url, "db", "current")[0] == 0
        return
    assert planflow(url, "db", "current") == (1, f"{schema.BASELINE} (behind {schema.head()}: "
                                                 "run `planflow db upgrade`)\n")
    # every other command refuses, in one line, instead of failing on a column that is not there yet
    assert planflow(url, "tasks", "--as", "intake1") == (
        2, f"error: the database schema is at {schema.BASELINE}, this PlanFlow needs {schema.head()}: "
           "run `planflow db upgrade` first\n")
    assert schema.upgrade(engine).after == schema.head()
    assert differences(engine) == []
    engine.dispose()


def test_the_baseline_downgrades_to_an_empty_database_and_up_again(new_url):
    engine = make_engine(new_url("sqlite"))
    schema.upgrade(engine, schema.BASELINE)
    with engine.begin() as connection:
        from alembic import command
        command.downgrade(schema.alembic_config(connection), "base")
    assert inspect(engine).get_table_names() == ["alembic_version"]
    schema.upgrade(engine)
    assert differences(engine) == []
    engine.dispose()


def rebuild_cases_table(connection) -> None:
    """What a revision that changes a column of `cases` does on SQLite: copy the table, drop the old one, rename."""
    operations = Operations(MigrationContext.configure(connection))
    with operations.batch_alter_table("cases", recreate="always") as batch:
        batch.add_column(sa.Column("scratch", sa.Integer(), nullable=True))


def test_a_revision_that_rebuilds_a_table_on_sqlite_keeps_the_rows_that_point_at_it(new_url):
    engine = make_engine(new_url("sqlite"))
    schema.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO plan_versions (plan_key, version, name, content_hash, bpmn_xml, assets, "
                          "deployed_by, deployed_at) VALUES ('p', 1, 'P', 'abc', '<x/>', '{}', 'setup', :at)"),
                     {"at": WHEN})
        conn.execute(text("INSERT INTO cases (number, plan_version_id, status, started_by, started_at, workflow_state, "
                          "serializer_version, library_version, revision) "
                          "VALUES ('TS-1', 1, 'running', 'wang', :at, '{}', '1', '3.2', 1)"), {"at": WHEN})
        conn.execute(text("INSERT INTO tasks (case_id, spiff_task_id, element_id, name, role, status, created_at, "
                          "due_sort, due_provisional) VALUES (1, 'x', 'e', 'n', 'intake', 'open', :at, :at, FALSE)"),
                     {"at": WHEN})
    with schema.migrating(engine) as connection:
        rebuild_cases_table(connection)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tasks")).scalar() == 1
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1   # on again for the next user
    engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_processes_upgrading_at_once_leave_one_database_at_head(new_url, backend):
    url = new_url(backend)
    processes = [subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "db", "upgrade"], cwd=ROOT,
                                  env={**os.environ, "PLANFLOW_DATABASE_URL": url},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert sum(f"schema upgraded: empty -> {schema.head()}" in out for out in outputs) == 1
    engine = make_engine(url)
    assert schema.current(engine) == schema.head()
    engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_refused_audit_upgrade_leaves_the_old_database_unstamped(new_url, backend):
    url = new_url(backend)
    write_legacy_trail(url, tamper=True)
    for _ in range(2):   # refused each time, nothing half done in between
        code, out = planflow(url, "db", "upgrade")
        assert code == 2 and "does not verify under its previous rule at event 4" in out
    engine = make_engine(url)
    assert schema.current(engine) is None
    assert "chain_seq" not in {c["name"] for c in inspect(engine).get_columns("audit_events")}
    engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_old_audit_trail_is_upgraded_on_adoption_and_its_tables_end_as_the_baseline_makes_them(new_url, backend):
    url = new_url(backend)
    write_legacy_trail(url)   # the old trail's tables: no indexes, columns the upgrade adds as nullable
    engine = make_engine(url)
    code, out = planflow(url, "db", "upgrade")
    assert code == 0 and "audit trail upgraded: 6 event(s)" in out, out
    assert differences(engine, server_defaults=True) == []
    fresh = make_engine(new_url(backend))
    create_schema(fresh)
    assert describe(engine) == describe(fresh)
    fresh.dispose()
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        audit.record(session, audit.EventKind.CALENDAR_LOADED, "admin", datetime(2026, 3, 3, tzinfo=timezone.utc))
    with transaction(factory, readonly=True) as session:
        assert audit.verify_chain(session).ok
        seqs = session.execute(select(models.AuditEvent.seq).order_by(models.AuditEvent.seq)).scalars().all()
    assert seqs == [1, 2, 3, 4, 5, 6, 7, 8]   # 7: the upgrade's own event
    engine.dispose()


def test_a_table_rebuilt_on_adoption_never_gives_an_id_again_that_a_deleted_row_had(new_url):
    url = new_url("sqlite")
    engine = make_engine(url)
    pre_alembic.baseline_metadata().create_all(engine)
    with engine.begin() as conn:
        for seq in (1, 2, 3):
            conn.execute(text("INSERT INTO audit_events (chain_seq, occurred_at, actor, kind, payload, prev_hash, hash) "
                              "VALUES (:n, :at, 'wang', 'test', '{}', 'p', 'h')"), {"n": seq, "at": WHEN})
        conn.execute(text("DELETE FROM audit_events WHERE seq = 3"))   # e.g. purged with its case
        # a column as the stopgap of an earlier release added it, with a DEFAULT: the table gets rebuilt
        conn.execute(text("ALTER TABLE audit_events DROP COLUMN signature"))
        conn.execute(text("ALTER TABLE audit_events ADD COLUMN signature VARCHAR(128) DEFAULT ''"))
    assert planflow(url, "db", "upgrade")[0] == 0
    assert differences(engine, server_defaults=True) == []
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_events (chain_seq, occurred_at, actor, kind, payload, prev_hash, hash) "
                          "VALUES (4, :at, 'wang', 'test', '{}', 'p', 'h')"), {"at": WHEN})
        assert conn.execute(text("SELECT seq FROM audit_events ORDER BY seq")).scalars().all() == [1, 2, 4]
    engine.dispose()


def test_the_test_suites_create_schema_never_stamps_over_migrations_that_did_not_run(new_url):
    old = make_engine(new_url("sqlite"))
    pre_alembic.baseline_metadata().create_all(old)
    with pytest.raises(RuntimeError, match="has tables"):
        create_schema(old)
    assert schema.current(old) is None
    behind = make_engine(new_url("sqlite"))
    schema.upgrade(behind, schema.BASELINE)
    if schema.head() != schema.BASELINE:
        with pytest.raises(RuntimeError, match=f"at revision {schema.BASELINE}"):
            create_schema(behind)
    fresh = make_engine(new_url("sqlite"))
    create_schema(fresh)
    create_schema(fresh)   # at the newest revision already: nothing to do, no error
    assert schema.current(fresh) == schema.head()
    for engine in (old, behind, fresh):
        engine.dispose()
