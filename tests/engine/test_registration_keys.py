"""Registering once per request key: a repeated request gets the first case back and writes nothing."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from engine.cases import registration_keys
from engine.cases import use_cases as cases
from engine.db import transaction
from engine.errors import FormInvalid
from engine.models import AuditEvent, Case, CaseNumberCounter, CaseStatus, RegistrationKey
from engine.people import users
from engine.records import retention
from tests.support import secret_hash

REGISTRATION = {"complainant": "王女士", "contact": "13812345678", "channel": "phone", "category": "service",
                "content": "快递延误且客服态度差", "claimed_amount": 500}
KEY = "6f1c2f4e-5a7b-4f0e-9d1a-3c2b1a0f9e8d"


def register(desk, key, data=REGISTRATION, username="intake1"):
    return registration_keys.start_case(desk.session_factory, key, "general_complaint", data, username, desk.now)


def written(desk) -> dict:
    """How many cases, audit events, registration keys and case numbers there are."""
    with transaction(desk.session_factory, readonly=True) as session:
        def count(column):
            return session.execute(select(func.count(column))).scalar_one()
        return {"cases": count(Case.id), "events": count(AuditEvent.seq), "keys": count(RegistrationKey.key),
                "numbers": session.execute(select(func.coalesce(func.sum(CaseNumberCounter.last), 0))).scalar_one()}


def test_a_repeated_key_gets_the_first_case_back_and_writes_nothing(desk):
    first = register(desk, KEY)
    before = written(desk)
    again = register(desk, KEY)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.case.number == first.case.number
    assert written(desk) == before == {**before, "cases": 1, "keys": 1, "numbers": 1}


def test_the_key_order_of_the_data_does_not_make_another_request(desk):
    first = register(desk, KEY)
    again = register(desk, KEY, dict(reversed(list(REGISTRATION.items()))))
    assert again.replayed and again.case.number == first.case.number


def test_a_key_used_for_another_request_is_refused_and_writes_nothing(desk):
    first = register(desk, KEY)
    before = written(desk)
    with pytest.raises(registration_keys.RegistrationKeyReused,
                       match="already used for a different request") as refused:
        register(desk, KEY, {**REGISTRATION, "content": "另一件投诉"})
    assert refused.value.number == first.case.number
    assert written(desk) == before


def test_keys_of_one_user_never_answer_for_another(desk):
    with transaction(desk.session_factory) as session:
        users.add_user(session, "intake2", ["intake"], None, password_hash=secret_hash())
    mine = register(desk, KEY)
    theirs = register(desk, KEY, username="intake2")
    assert not theirs.replayed and theirs.case.number != mine.case.number
    assert (theirs.case.started_by, written(desk)["keys"]) == ("intake2", 2)
    assert register(desk, KEY, username="intake2").case.number == theirs.case.number


@pytest.mark.parametrize("key", ["", "   ", "k" * 201, "clé", "ключ", "tab\there", "nul\x00", "line\nbreak"])
def test_a_key_that_is_not_1_to_200_printable_ascii_characters_is_refused(desk, key):
    with pytest.raises(registration_keys.InvalidRegistrationKey, match="1 to 200 printable ASCII"):
        register(desk, key)
    assert written(desk)["cases"] == 0


def test_a_key_of_200_printable_characters_with_spaces_is_kept(desk):
    key = "A b~" * 50
    assert not register(desk, key).replayed and register(desk, key).replayed


def test_without_a_key_every_request_registers_a_case(desk):
    numbers = {register(desk, None).case.number for _ in range(2)}
    assert len(numbers) == 2 and written(desk)["keys"] == 0


def test_a_refused_registration_keeps_no_key_so_the_corrected_request_registers(desk):
    with pytest.raises(FormInvalid):
        register(desk, KEY, {"contact": "1"})
    assert (written(desk)["cases"], written(desk)["keys"]) == (0, 0)
    assert not register(desk, KEY).replayed


def test_two_requests_racing_with_one_key_register_one_case(desk, db_url):
    """Both threads pass the key lookup before either commits where the database lets them (PostgreSQL);
    SQLite's write lock makes the second wait at its first statement, so there the barrier times out."""
    barrier = threading.Barrier(2, timeout=3)
    starts, results, errors = [], [], []

    def start(session):
        starts.append(threading.get_ident())
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return cases.start_case(session, "general_complaint", REGISTRATION, "intake1", desk.now)

    def send():
        try:
            results.append(registration_keys.register_once(
                desk.session_factory, "intake1", KEY, registration_keys.fingerprint("general_complaint", REGISTRATION),
                start, desk.now))
        except Exception as exc:   # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len({r.case.number for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False, True]
    # The loser's case and its case number went with its rolled-back transaction.
    assert {k: v for k, v in written(desk).items() if k != "events"} == {"cases": 1, "keys": 1, "numbers": 1}
    if db_url.startswith("postgresql"):
        assert len(starts) == 2   # both registered a case; the key's primary key rolled one back
    else:
        assert len(starts) == 1   # the second waited for the write lock, then found the key


def test_a_purged_case_takes_its_key_with_it(desk, audit_dir):
    number = register(desk, KEY).case.number
    with transaction(desk.session_factory) as session:
        session.execute(update(Case).where(Case.number == number).values(
            status=CaseStatus.COMPLETED, completed_at=desk.now - timedelta(days=400)))
    with transaction(desk.session_factory) as session:
        assert retention.purge(session, desk.now, 365, "compliance1").deleted == [number]
    assert written(desk)["keys"] == 0
    assert register(desk, KEY).case.number != number
