"""Registering a complaint once per request key: a repeated request answers with the case the first one made.

A client that lost the answer to a registration (a broken connection, a double click, a browser
resubmitting) sends it again with the same key. Without a key it would register the complaint
twice: two cases, two sets of deadlines and escalations. The key is kept per user, with the
case it registered and a fingerprint of the request, in the registration's own transaction.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine.cases import use_cases
from engine.db import transaction
from engine.errors import PlanFlowError
from engine.models import Case, RegistrationKey

MAX_KEY_LENGTH = 200


class InvalidRegistrationKey(PlanFlowError):
    code = "bad_idempotency_key"


class RegistrationKeyReused(PlanFlowError):
    """The key already registered a case from a different request; nothing was registered now."""

    code = "idempotency_key_reused"

    def __init__(self, number: str):
        self.number = number
        super().__init__(f"this Idempotency-Key was already used for a different request (it registered case "
                         f"{number}); send a new key to register a new complaint, or the same request to get "
                         f"case {number} again")


@dataclass(frozen=True)
class Registration:
    case: Case
    replayed: bool   # the key had registered this case before: nothing was written now


def checked_key(key: str) -> str:
    """The key if it is 1 to MAX_KEY_LENGTH printable ASCII characters; InvalidRegistrationKey otherwise."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.strip() or not all(" " <= ch <= "~" for ch in key):
        raise InvalidRegistrationKey(f"an Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, "
                                     "not blank (a fresh UUID for each registration will do)")
    return key


def fingerprint(plan_key: str, data: dict, files: dict[str, list[tuple[str | None, bytes]]] | None = None) -> str:
    """SHA-256 of the request's plan and data as canonical JSON, with its files' names and hashes if it has any."""
    request: dict = {"plan": plan_key, "data": data}
    if files:
        request["files"] = {key: [[name, hashlib.sha256(content).hexdigest()] for name, content in received]
                            for key, received in files.items()}
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def register_once(session_factory: sessionmaker[Session], username: str, key: str | None, request_fingerprint: str,
                  start: Callable[[Session], Case], now: datetime) -> Registration:
    """The case `start` registers in a new transaction, or the case an earlier request with `key` registered.

    Without a key, `start` simply runs. Two requests with one key may race: on SQLite the write
    lock taken at BEGIN makes the second wait and then find the key; on PostgreSQL both may
    register a case, the key's primary key lets one commit, and the other's transaction (its
    case and case number included) is rolled back whole and answered as a replay.
    """
    if key is None:
        with transaction(session_factory) as session:
            return Registration(start(session), replayed=False)
    key = checked_key(key)
    try:
        with transaction(session_factory) as session:
            earlier = _earlier(session, username, key, request_fingerprint)
            if earlier is not None:
                return earlier
            case = start(session)   # its row is written by now: case.id is known
            session.add(RegistrationKey(username=username, key=key, case_id=case.id,
                                        fingerprint=request_fingerprint, created_at=now))
            session.flush()
            return Registration(case, replayed=False)
    except IntegrityError:
        with transaction(session_factory, readonly=True) as session:
            earlier = _earlier(session, username, key, request_fingerprint)
        if earlier is None:   # not the key's constraint: a real failure
            raise
        return earlier


def start_case(session_factory: sessionmaker[Session], key: str | None, plan_key: str, data: dict, username: str,
               now: datetime) -> Registration:
    """use_cases.start_case, once per (username, key)."""
    return register_once(session_factory, username, key, fingerprint(plan_key, data),
                         lambda session: use_cases.start_case(session, plan_key, data, username, now), now)


def _earlier(session: Session, username: str, key: str, request_fingerprint: str) -> Registration | None:
    """The registration `username` made with `key`, if any; RegistrationKeyReused if it was for another request."""
    row = session.get(RegistrationKey, (username, key))
    if row is None:
        return None
    case = session.get(Case, row.case_id)
    if row.fingerprint != request_fingerprint:
        raise RegistrationKeyReused(case.number)
    return Registration(case, replayed=True)
