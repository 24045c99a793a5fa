"""The timer sweep cannot be starved by rows that look due but that the engine does not consider due."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine.cases import timers
from engine.db import transaction
from engine.models import Case, Timer, TimerStatus
from tests.samples import one_task_plan, write_plan
from tests.support import Desk


@pytest.fixture
def mini(session_factory, now, tmp_path):
    return Desk.open(session_factory, now, [write_plan(tmp_path / "plans", one_task_plan())])


def timer_of(desk, number) -> Timer:
    with transaction(desk.session_factory, readonly=True) as session:
        return session.execute(select(Timer).join(Case, Case.id == Timer.case_id)
                               .where(Case.number == number)).scalar_one()


def test_rows_the_engine_does_not_consider_due_do_not_hold_back_a_due_timer(mini):
    due = mini.start("mini", {}, "handler1")                    # its deadline passes first
    mini.now += timedelta(hours=1)
    stale = [mini.start("mini", {}, "handler1") for _ in range(6)]  # due an hour later by the engine
    with transaction(mini.session_factory) as session:           # …but their rows claim an earlier fire_at
        session.execute(update(Timer).where(Timer.case_id.in_(
            select(Case.id).where(Case.number.in_(stale)))).values(fire_at=mini.now - timedelta(days=1)))
    mini.now += timedelta(hours=23, seconds=1)                   # 24 h after `due` started, 23 h after the others
    result = timers.sweep(mini.session_factory, mini.now, batch=3)
    assert (result.fired, result.failed) == (1, [])
    assert timer_of(mini, due).status == TimerStatus.FIRED
    for number in stale:
        row = timer_of(mini, number)
        assert row.status == TimerStatus.WAITING and row.fire_at == row.due_at > mini.now  # repaired
    assert timers.sweep(mini.session_factory, mini.now, batch=3).fired == 0
    mini.now += timedelta(hours=1)
    assert timers.sweep(mini.session_factory, mini.now, batch=3).fired == 6
