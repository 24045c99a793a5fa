"""Users and roles: hashed passwords, known roles only."""
from __future__ import annotations

import pytest

from engine.errors import PlanFlowError, UnknownUser
from engine.people import users
from tests.conftest import run


def test_password_is_stored_hashed_and_checked(session_factory):
    user = run(session_factory, users.add_user, "li", ["handler", "intake"], "s3cret")
    assert "s3cret" not in user.password_hash and user.password_hash.startswith("scrypt$")
    assert run(session_factory, users.authenticate, "li", "s3cret").role_keys == {"handler", "intake"}
    assert run(session_factory, users.authenticate, "li", "wrong") is None
    assert run(session_factory, users.authenticate, "nobody", "s3cret") is None


@pytest.mark.parametrize("name, roles, message", [
    ("li", ["tea_maker"], "unknown role"),
    ("li", [], "at least one role"),
    ("li wei", ["handler"], "user name"),
])
def test_bad_users_are_refused_with_a_reason(session_factory, name, roles, message):
    with pytest.raises(PlanFlowError, match=message):
        run(session_factory, users.add_user, name, roles, "pw")


def test_a_taken_name_is_refused(session_factory):
    run(session_factory, users.add_user, "li", ["handler"], "pw")
    with pytest.raises(PlanFlowError, match="already exists"):
        run(session_factory, users.add_user, "li", ["pr"], "pw")


def test_unknown_user_is_a_clear_error(session_factory):
    with pytest.raises(UnknownUser, match="unknown user 'ghost'"):
        run(session_factory, users.get_user, "ghost")
