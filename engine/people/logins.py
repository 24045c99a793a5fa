"""Signing in with a password: throttled per account and per address, locked after many wrong passwords.

Throttling slows guessing down (a few wrong passwords per window, then wait); the lock
stops a slow, patient guesser: after LOCK_AFTER consecutive wrong passwords the account
refuses even the right one until an administrator unlocks it (`planflow user unlock NAME`).
Failures are rows in the database, so every web process sees the same counts.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.errors import PermissionDenied, PlanFlowError
from engine.models import LoginFailure, User
from engine.people.users import check_password, get_user

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5      # wrong passwords per account per window
ADDRESS_LIMIT = 20     # wrong passwords from one address per window, whatever the accounts
LOCK_AFTER = 10        # consecutive wrong passwords that lock the account


class LoginThrottled(PlanFlowError):
    """Too many wrong passwords lately; `retry_after` seconds until the next try is accepted."""

    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class AccountLocked(PermissionDenied):
    code = "account_locked"


def _retry_after(session: Session, column, value: str, limit: int, now: datetime) -> int | None:
    """Seconds until `value` is under `limit` failures in the window again, or None if it is now."""
    since = now - WINDOW
    times = session.execute(select(LoginFailure.failed_at).where(column == value, LoginFailure.failed_at > since)
                            .order_by(LoginFailure.failed_at.desc()).limit(limit)).scalars().all()
    if len(times) < limit:
        return None
    return max(1, math.ceil((times[-1] + WINDOW - now).total_seconds()))


def sign_in(session: Session, username: str, password: str, address: str, now: datetime) -> User | None:
    """The user whose password this is, or None (the failure is counted); LoginThrottled or AccountLocked.

    A wrong password returns instead of raising, so that the failure it records is committed.
    """
    address = (address or "unknown")[:64]
    for column, value, limit, whose in ((LoginFailure.username, username[:80], ACCOUNT_LIMIT, "this account"),
                                        (LoginFailure.address, address, ADDRESS_LIMIT, "your address")):
        wait = _retry_after(session, column, value, limit, now)
        if wait is not None:
            raise LoginThrottled(f"too many wrong passwords for {whose}; try again in {math.ceil(wait / 60)} "
                                 "minute(s)", wait)
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is not None and user.locked_at is not None:
        raise AccountLocked(f"account '{username}' is locked after {LOCK_AFTER} wrong passwords; an administrator "
                            "can unlock it (`planflow user unlock NAME`)")
    if user is None or not user.active or not check_password(user.password_hash, password):
        session.add(LoginFailure(username=username[:80], address=address, failed_at=now))
        session.execute(delete(LoginFailure).where(LoginFailure.failed_at < now - 4 * WINDOW))
        if user is not None:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= LOCK_AFTER:
                user.locked_at = now
        return None
    user.failed_logins = 0
    return user


def unlock(session: Session, username: str) -> None:
    """Lift a lock and forget the account's recent wrong passwords."""
    user = get_user(session, username)
    user.locked_at, user.failed_logins = None, 0
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))

