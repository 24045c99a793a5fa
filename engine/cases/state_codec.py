"""A case's workflow state as stored: JSON compressed with zlib, behind a one-byte format prefix.

A finished general_complaint case's 17 KB of JSON is stored in about 3 KB. The prefix says how
the rest was written, so a later codec can be added beside this one and old rows still read.
"""
from __future__ import annotations

import json
import zlib

from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

ZLIB_JSON = 0x01   # the prefix of compact UTF-8 JSON compressed with zlib
# Measured on general_complaint states: level 3 is as fast as 1 and a little smaller; 6 and up
# save another 7 % for half as much time again.
LEVEL = 3


class StateUnreadable(ValueError):
    """Stored bytes that are not a workflow state this PlanFlow can read."""


def encode(state: dict) -> bytes:
    """The bytes stored for `state`."""
    text = json.dumps(state, separators=(",", ":"), ensure_ascii=False)
    return bytes([ZLIB_JSON]) + zlib.compress(text.encode("utf-8"), LEVEL)


def decode(blob: bytes) -> dict:
    """The state stored as `blob`; StateUnreadable, naming what is wrong, when it is not one."""
    if not blob:
        raise StateUnreadable("the stored workflow state is empty (0 bytes)")
    if blob[0] != ZLIB_JSON:
        raise StateUnreadable(f"the stored workflow state has format prefix 0x{blob[0]:02x}, which this PlanFlow "
                              f"does not know (it reads 0x{ZLIB_JSON:02x}, zlib-compressed JSON); "
                              "was it written by a newer PlanFlow, or not by PlanFlow at all?")
    try:
        state = json.loads(zlib.decompress(blob[1:]).decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise StateUnreadable(f"the stored workflow state ({len(blob)} bytes, zlib-compressed JSON) "
                              f"is corrupt: {exc}") from None
    if not isinstance(state, dict):
        raise StateUnreadable(f"the stored workflow state is JSON {type(state).__name__}, not an object")
    return state


class UnreadableState(dict):
    """What a row whose state cannot be decoded loads as: its bytes, kept, and the problem, raised on first use.

    Loading the row must not fail: the use cases lock the case (state included) to record an
    incident on it, and the doctor reads every case at once. The state's first real use —
    load() serializing it for SpiffWorkflow — raises StateUnreadable, which load() turns into
    the case's incident. Written back unchanged, the row keeps its original bytes.
    """

    def __init__(self, blob: bytes, problem: StateUnreadable):
        # One item, so that json.dumps (which writes an empty dict without asking it) calls items().
        super().__init__(unreadable=str(problem))
        self.blob, self.problem = blob, problem

    def _refuse(self, *_args, **_kwargs):
        raise StateUnreadable(str(self.problem))

    __getitem__ = __iter__ = __contains__ = keys = values = items = copy = _refuse

    def __bool__(self) -> bool:
        return True

    def get(self, _key, default=None):
        """Nothing is found in it (load() asks for its cache token before reading the state)."""
        return default

    def __repr__(self) -> str:
        return f"UnreadableState({self.problem})"


class CompressedState(TypeDecorator):
    """A workflow-state dict stored as `encode` writes it; read back as exactly the dict written."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: dict | None, dialect) -> bytes | None:
        if value is None:
            return None
        if isinstance(value, UnreadableState):
            return value.blob
        return encode(value)

    def process_result_value(self, value: bytes | None, dialect) -> dict | None:
        if value is None:
            return None
        blob = bytes(value)   # psycopg gives bytea as memoryview
        try:
            return decode(blob)
        except StateUnreadable as problem:
            return UnreadableState(blob, problem)
