"""Database access for requests: one transaction per use case, as in the engine."""
from __future__ import annotations

from flask import current_app

from engine.db import transaction


def sessions():
    return current_app.extensions["planflow_sessions"]


def run(use_case, *args, **kwargs):
    """Run one engine use case in its own transaction and return its result."""
    with transaction(sessions()) as session:
        return use_case(session, *args, **kwargs)


def reading():
    """A read-only transaction for pages that only show things."""
    return transaction(sessions(), readonly=True)
