"""Users, their roles, and password hashing (scrypt from the standard library)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from engine.errors import PlanFlowError, UnknownUser
from engine.models import User, UserRole
from engine.people.roles import ROLES

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(stored: str, password: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), dklen=32, **_SCRYPT)
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def add_user(session: Session, username: str, roles: list[str], password: str | None, display_name: str = "",
             password_hash: str | None = None) -> User:
    """Create a user holding `roles`; unknown roles and taken names are refused.

    `password_hash` takes an already hashed password (from `hash_password`), e.g. when importing users.
    """
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise PlanFlowError(f"unknown role(s): {', '.join(unknown)} (known: {', '.join(ROLES)})")
    if not roles:
        raise PlanFlowError("a user needs at least one role")
    if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise PlanFlowError("a user name is letters, digits, '.', '_' or '-'")
    if session.execute(select(User).where(User.username == username)).scalar_one_or_none():
        raise PlanFlowError(f"user '{username}' already exists")
    if password_hash is None:
        if not password:
            raise PlanFlowError("a password is required")
        password_hash = hash_password(password)
    user = User(username=username, display_name=display_name or username, password_hash=password_hash,
                roles=[UserRole(role=r) for r in dict.fromkeys(roles)])
    session.add(user)
    session.flush()
    return user


# Built once: every request and step looks its user up.
_USER_WITH_ROLES = select(User).where(User.username == bindparam("username")).options(joinedload(User.roles))


def get_user(session: Session, username: str) -> User:
    user = session.execute(_USER_WITH_ROLES, {"username": username}).unique().scalar_one_or_none()
    if user is None or not user.active:
        raise UnknownUser(f"unknown user '{username}'")
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active or not check_password(user.password_hash, password):
        return None
    return user


def set_locale(session: Session, username: str, locale: str) -> None:
    """Remember the user's language for every page."""
    get_user(session, username).locale = locale


def _end_sessions(user: User) -> None:
    """Invalidate every web session of `user`: they are signed with the previous version."""
    user.session_version = (user.session_version or 0) + 1


def end_sessions(session: Session, username: str) -> None:
    """Log the user out everywhere (the web logout calls this)."""
    _end_sessions(get_user(session, username))


def set_password(session: Session, username: str, password: str) -> None:
    """Change the password; every session of the user ends."""
    if not password:
        raise PlanFlowError("a password is required")
    user = get_user(session, username)
    user.password_hash = hash_password(password)
    _end_sessions(user)


def add_role(session: Session, username: str, role: str) -> None:
    if role not in ROLES:
        raise PlanFlowError(f"unknown role: {role} (known: {', '.join(ROLES)})")
    user = get_user(session, username)
    if role not in user.role_keys:
        user.roles.append(UserRole(role=role))


def remove_role(session: Session, username: str, role: str) -> None:
    """Take a role away; every session of the user ends, so no page keeps what the role allowed."""
    user = get_user(session, username)
    if role not in user.role_keys:
        raise PlanFlowError(f"user '{username}' does not hold role '{role}'")
    if len(user.roles) == 1:
        raise PlanFlowError(f"user '{username}' would be left without a role")
    user.roles = [r for r in user.roles if r.role != role]
    _end_sessions(user)
