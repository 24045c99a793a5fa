"""Signing in: throttled per account and address, locked after many wrong passwords until unlocked."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.people import logins, users
from tests.conftest import run


@pytest.fixture
def li(session_factory):
    run(session_factory, users.add_user, "li", ["handler"], "s3cret")
    return "li"


def attempt(session_factory, password, now, address="10.0.0.1", username="li"):
    return run(session_factory, logins.sign_in, username, password, address, now)


def test_the_right_password_signs_in_and_resets_the_count(session_factory, li, now):
    for _ in range(3):
        assert attempt(session_factory, "wrong", now) is None
    assert attempt(session_factory, "s3cret", now).username == "li"
    assert run(session_factory, users.get_user, "li").failed_logins == 0


def test_after_five_wrong_passwords_even_the_right_one_must_wait(session_factory, li, now):
    for _ in range(logins.ACCOUNT_LIMIT):
        assert attempt(session_factory, "wrong", now) is None
    with pytest.raises(logins.LoginThrottled, match="try again in 15 minute") as throttled:
        attempt(session_factory, "s3cret", now + timedelta(seconds=1))
    assert 0 < throttled.value.retry_after <= 15 * 60
    assert attempt(session_factory, "s3cret", now + logins.WINDOW + timedelta(seconds=1)).username == "li"


def test_one_address_is_throttled_across_accounts(session_factory, li, now):
    for n in range(logins.ADDRESS_LIMIT):
        assert attempt(session_factory, "wrong", now, username=f"guess{n}") is None
    with pytest.raises(logins.LoginThrottled, match="your address"):
        attempt(session_factory, "s3cret", now)
    assert attempt(session_factory, "s3cret", now, address="10.0.0.2").username == "li"


def test_ten_consecutive_wrong_passwords_lock_the_account_until_an_administrator_unlocks_it(session_factory, li,
                                                                                            now):
    moment = now
    for _ in range(logins.LOCK_AFTER):
        assert attempt(session_factory, "wrong", moment) is None
        moment += timedelta(minutes=4)  # a patient guesser, below the throttle
    with pytest.raises(logins.AccountLocked, match="planflow user unlock"):
        attempt(session_factory, "s3cret", moment + timedelta(days=1))
    run(session_factory, logins.unlock, "li")
    assert attempt(session_factory, "s3cret", moment + timedelta(days=1)).username == "li"


def test_sessions_end_when_the_password_changes_or_a_role_is_removed_or_on_logout(session_factory, li):
    versions = [run(session_factory, users.get_user, "li").session_version]
    run(session_factory, users.end_sessions, "li")
    versions.append(run(session_factory, users.get_user, "li").session_version)
    run(session_factory, users.set_password, "li", "new")
    versions.append(run(session_factory, users.get_user, "li").session_version)
    run(session_factory, users.add_role, "li", "intake")
    run(session_factory, users.remove_role, "li", "handler")
    user = run(session_factory, users.get_user, "li")
    versions.append(user.session_version)
    assert versions == [0, 1, 2, 3] and user.role_keys == {"intake"}
    assert users.check_password(user.password_hash, "new")
    with pytest.raises(Exception, match="without a role"):
        run(session_factory, users.remove_role, "li", "intake")
