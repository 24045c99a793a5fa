"""Case numbers: two registrations racing for the first number of a year both get one, in order."""
from __future__ import annotations

import threading

import pytest

from engine.cases import use_cases as cases
from engine.db import transaction


def test_the_first_two_registrations_of_a_year_racing_get_numbers_one_and_two(session_factory, db_url, now):
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite takes the write lock at the start of the transaction: registrations cannot overlap")
    first_holds_its_number = threading.Event()
    numbers, errors = {}, []

    def first():
        with transaction(session_factory) as session:
            numbers["first"] = cases.next_number(session, "RACE", now)
            first_holds_its_number.set()
            threading.Event().wait(0.5)   # the second registration now waits on this one's counter row

    def second():
        first_holds_its_number.wait(10)
        try:
            with transaction(session_factory) as session:
                numbers["second"] = cases.next_number(session, "RACE", now)
        except Exception as exc:  # noqa: BLE001 — the defect was an IntegrityError here
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    year = now.year
    assert numbers == {"first": f"RACE-{year}-000001", "second": f"RACE-{year}-000002"}
