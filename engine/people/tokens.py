"""API tokens: random secrets shown once; the database keeps only their hash."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import ApiToken, User
from engine.people.users import get_user

PREFIX = "pf_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, username: str, now: datetime) -> str:
    """A new token for the user; the caller shows it once, it cannot be recovered."""
    user = get_user(session, username)
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(username=user.username, token_hash=_digest(token), created_at=now))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a token belongs to, or None."""
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token))).scalar_one_or_none()
    if row is None:
        return None
    user = session.execute(select(User).where(User.username == row.username)).scalar_one_or_none()
    return user if user is not None and user.active else None
