"""A database made by an earlier release gets the columns and indexes added since, with their defaults."""
from __future__ import annotations

from sqlalchemy import inspect, text

from engine.db import create_schema, make_engine, make_session_factory, transaction
from engine.people import users
from tests.support import secret_hash


def test_init_adds_the_columns_a_later_release_added_and_existing_users_still_log_in(session_factory, db_url):
    engine = session_factory.kw["bind"]
    with transaction(session_factory) as session:
        users.add_user(session, "wang", ["intake"], None, password_hash=secret_hash())
    with engine.begin() as connection:   # the users table as the previous release made it
        for column in ("session_version", "failed_logins", "locked_at"):
            connection.execute(text(f'ALTER TABLE users DROP COLUMN {column}'))
        connection.execute(text("DROP INDEX ix_tasks_escalated"))
    create_schema(engine)
    names = {column["name"] for column in inspect(engine).get_columns("users")}
    assert {"session_version", "failed_logins", "locked_at"} <= names
    assert "ix_tasks_escalated" in {index["name"] for index in inspect(engine).get_indexes("tasks")}
    with transaction(session_factory, readonly=True) as session:
        user = users.get_user(session, "wang")
        assert user.session_version == 0 and user.failed_logins == 0 and user.locked_at is None
