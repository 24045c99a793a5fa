"""Whether this deployment can do its work: the database answers, its schema is the newest, a timer worker is alive.

`/readyz` runs these checks; a load balancer sends traffic only to a process that passes
them, and an operator reads which one failed from the answer.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from engine.db import transaction
from engine.models import WorkerHeartbeat

HEARTBEAT_ENV = "PLANFLOW_READY_HEARTBEAT_SECONDS"
DEFAULT_HEARTBEAT_SECONDS = 60.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


def heartbeat_max_age(environ=None) -> timedelta | None:
    """PLANFLOW_READY_HEARTBEAT_SECONDS (default 60): the oldest heartbeat that counts; 0 turns the check off."""
    value = (environ if environ is not None else os.environ).get(HEARTBEAT_ENV, str(DEFAULT_HEARTBEAT_SECONDS))
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ValueError(f"{HEARTBEAT_ENV}={value!r} must be a number of seconds (0: do not check the workers)")
    return timedelta(seconds=seconds) if seconds else None


def _first_line(error: Exception) -> str:
    message = str(getattr(error, "orig", None) or error).strip().splitlines()
    return message[0] if message else error.__class__.__name__


def database(engine: Engine) -> Check:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return Check("database", False, f"unreachable: {_first_line(error)}")
    return Check("database", True, "reachable")


def schema(engine: Engine) -> Check:
    """The database is at the newest migration (`planflow db upgrade` brings it there)."""
    from engine.migrations import schema as migrations

    try:
        at, newest = migrations.current(engine), migrations.head()
    except SQLAlchemyError as error:
        return Check("migrations", False, f"cannot read the schema revision: {_first_line(error)}")
    if at != newest:
        return Check("migrations", False, f"database at {at or 'no revision'}, code expects {newest}: "
                                          "run `planflow db upgrade`")
    return Check("migrations", True, f"at {at}")


def worker(session_factory: sessionmaker, now: datetime, max_age: timedelta) -> Check:
    """Some timer worker swept within `max_age`: without one, deadlines pass and nothing escalates."""
    try:
        with transaction(session_factory, readonly=True) as session:
            last = session.execute(select(func.max(WorkerHeartbeat.last_seen))).scalar_one()
    except SQLAlchemyError as error:
        return Check("worker", False, f"cannot read worker heartbeats: {_first_line(error)}")
    if last is None:
        return Check("worker", False, "no timer worker has ever reported: start `planflow worker`")
    if last.tzinfo is None:  # an aggregate skips the column type on some drivers
        last = last.replace(tzinfo=now.tzinfo)
    age = (now - last).total_seconds()
    if age > max_age.total_seconds():
        return Check("worker", False, f"last timer worker heartbeat {age:.0f} s ago "
                                      f"(more than {max_age.total_seconds():g} s)")
    return Check("worker", True, f"last heartbeat {age:.1f} s ago")


def check_all(session_factory: sessionmaker, now: datetime, max_age: timedelta | None) -> list[Check]:
    """Every check in order; after an unreachable database the others are not tried."""
    engine = session_factory.kw["bind"]
    first = database(engine)
    if not first.ok:
        return [first]
    checks = [first, schema(engine)]
    if max_age is not None:
        checks.append(worker(session_factory, now, max_age))
    return checks
