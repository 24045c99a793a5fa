"""Restored workflows kept in memory between steps, keyed by the token of the state they were saved as.

Restoring a case's workflow from its stored state is the dearest part of a step. A web
or worker process that just saved a case usually gets its next step too, so the saved
workflow object is kept under the random token written into that state. The token is
new at every save, so a hit means the database still holds exactly the state this
object was saved as: a step by another process, a rolled-back step or a different
database all carry other tokens and miss.

An object enters the cache only when the transaction that saved it commits (a rolled
back step never leaves its half-run workflow behind), and leaves it when a step takes it:
one step at a time owns a cached workflow, and a step that fails simply never puts it back.

With PLANFLOW_VERIFY_STATE set (the test suite sets it), every hit is checked against a
fresh restore of the stored state, so the whole suite proves the two are the same.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict

from sqlalchemy import event
from sqlalchemy.orm import Session

TOKEN_KEY = "planflow_state_token"
_PENDING = "planflow_pending_workflows"


def _size_from_env() -> int:
    return int(os.environ.get("PLANFLOW_WORKFLOW_CACHE", "64"))


def verifying() -> bool:
    return os.environ.get("PLANFLOW_VERIFY_STATE", "") not in ("", "0")


class WorkflowCache:
    """A bounded, thread-safe map from state token to the workflow saved as that state."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def take(self, token: str | None):
        """The workflow saved under `token`, removed from the cache (None when it is not there)."""
        if token is None or self.size <= 0:
            return None
        with self._lock:
            workflow = self._entries.pop(token, None)
            if workflow is None:
                self.misses += 1
            else:
                self.hits += 1
            return workflow

    def put(self, token: str, workflow) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[token] = workflow
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def keep_after_commit(self, session: Session | None, token: str, workflow) -> None:
        """Cache `workflow` under `token` once `session`'s transaction commits; forget it on rollback."""
        if session is None or self.size <= 0:
            return
        # Keyed by object: when one transaction saves a workflow twice, only the last state counts.
        session.info.setdefault(_PENDING, {})[id(workflow)] = (self, token, workflow)


cache = WorkflowCache(_size_from_env())


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    for owner, token, workflow in session.info.pop(_PENDING, {}).values():
        owner.put(token, workflow)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous_transaction) -> None:
    session.info.pop(_PENDING, None)
