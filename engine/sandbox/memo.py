"""Values sandbox processes gave for expressions, kept so the same question does not cross the boundary twice.

The server still never evaluates process owners' code: a value found here is one a sandbox
process computed. It is handed back only when nothing it could depend on has changed:
- The key is the request as it goes down the pipe (the normalised source, the case fields
  sent, `extra`, the names of the engine functions, the time and memory limits), as its
  JSON bytes. A sandbox process sees nothing else, so equal bytes are the same question.
  Dict order is kept, not sorted: code can observe it (`list(d)[0]`). Only requests sending
  just the fields the code names are keyed (boundary.py), so other fields do not count.
- An answer for which the process called back an engine function (`working_days`, ...) is
  not kept: those run with the server's clock and calendar, which move.
- Errors are not kept (a timeout or a crash says nothing about the next run).
- Only immutable values are kept (None, bool, numbers, text, Decimal, dates and times, and
  tuples and frozensets of these): a list, dict or set would be shared by every caller
  after it, so such an expression goes to a sandbox process every time.
- Requests with stand-ins for the engine's own objects are not keyed: a stand-in's key
  numbers the object within one request, it does not name it.
A few things in a sandbox process differ from one process to the next whatever the request
(the order of a set of texts, the text of a function): the value kept is one a sandbox
process gave, as any of them could have.

Bounded (least recently used goes first) and thread-safe; `PLANFLOW_SANDBOX_MEMO_SIZE`
entries per server or worker process, 0 turns it off.
"""
from __future__ import annotations

import datetime
import decimal
import json
import os
import threading
from collections import OrderedDict

SIZE = int(os.environ.get("PLANFLOW_SANDBOX_MEMO_SIZE", "4096"))
# A request larger than this is not kept: the worst case stays SIZE x 4 KiB (16 MiB), and a
# condition with the few fields it names is a few hundred bytes.
MAX_KEY_BYTES = 4096
MISSING = object()

_IMMUTABLE = (type(None), bool, int, float, str, decimal.Decimal, datetime.date, datetime.datetime, datetime.time,
              datetime.timedelta)


class Memo:
    """Up to `size` expression values by request, least recently used dropped first; thread-safe."""

    def __init__(self, size: int = SIZE):
        self.size = max(0, size)
        self._values: OrderedDict[bytes, object] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, request: dict) -> bytes | None:
        """The key of an eval request (wire-encoded, without stand-ins), or None if it is not to be kept."""
        if not self.size:
            return None
        key = json.dumps(request, ensure_ascii=False, separators=(",", ":"), check_circular=False).encode()
        return key if len(key) <= MAX_KEY_BYTES else None

    def get(self, key: bytes | None):
        """The value kept for key, or MISSING."""
        if key is None:
            return MISSING
        with self._lock:
            value = self._values.get(key, MISSING)
            if value is not MISSING:
                self._values.move_to_end(key)
            return value

    def put(self, key: bytes | None, value) -> None:
        """Keep value for key if it is immutable plain data."""
        if key is None or not self.size or not _immutable(value):
            return
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def resize(self, size: int) -> None:
        """Keep at most size values from now on (0: none); the least recently used go first."""
        with self._lock:
            self.size = max(0, size)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()   # a thread of the parent may have held it at the fork


def _immutable(value) -> bool:
    kind = type(value)
    if kind in _IMMUTABLE:
        return True
    if kind is tuple or kind is frozenset:
        return all(_immutable(item) for item in value)
    return False


shared = Memo()
os.register_at_fork(after_in_child=shared._after_fork)
