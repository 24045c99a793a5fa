"""Send code and case data across the process boundary and turn the answer back into values or errors.

The server only normalises the text (strip, dedent) and packs plain data; checking,
compiling and running happen in a sandbox process (pool.py, child.py). An expression asked
again with the same request gets the value a sandbox process gave before (memo.py).
"""
from __future__ import annotations

import sys

from engine.sandbox import memo, pool, wire
from engine.sandbox.errors import (
    SandboxCrashed,
    SandboxRefused,
    SandboxRuntimeError,
    SandboxTimeout,
    SandboxTooLarge,
)
from engine.sandbox.interpreter import apply_changes, normalize
from engine.sandbox.limits import DEFAULT_TIME_LIMIT

_KINDS = {kind.__name__: kind for kind in (SandboxRefused, SandboxTimeout, SandboxTooLarge, SandboxRuntimeError,
                                           SandboxCrashed)}


def check(source, mode: str) -> None:
    """Raise SandboxRefused if source breaks the sandbox's rules (checked in a sandbox process)."""
    source = normalize(source, mode)
    answer = pool.shared().run({"op": "check", "source": source, "mode": mode}, {}, _limit(None))
    _raise_error(answer, source)


def evaluate(source, data: dict, functions: dict, extra: dict | None, time_limit: float | None):
    """The value of an expression, computed in a sandbox process."""
    source = normalize(source, "eval")
    answer = _run("eval", source, data, functions, extra, time_limit)
    if "value" not in answer:
        raise SandboxCrashed("the sandbox process gave no value")
    return answer["value"]


def execute(source, data: dict, functions: dict, extra: dict | None, time_limit: float | None) -> None:
    """Run a script in a sandbox process; its new, changed and deleted variables update data."""
    source = normalize(source, "exec")
    answer = _run("exec", source, data, functions, extra, time_limit)
    results, removed = answer.get("set"), answer.get("removed")
    if not isinstance(results, dict) or not isinstance(removed, list) \
            or not all(isinstance(name, str) for name in [*results, *removed]):
        raise SandboxCrashed("the sandbox process gave a malformed answer")
    apply_changes(data, results, removed)


def selftest() -> dict:
    """What a sandbox process reports when it tries to open a file, fork, connect, signal, exec."""
    return pool.shared().run({"op": "selftest"}, {}, 5.0)["value"]


def protections() -> dict:
    """What confines the sandbox processes on this machine."""
    return pool.shared().protections()


def _run(op, source, data, functions, extra, time_limit):
    limit = _limit(time_limit)
    names = _names_read.get((op, source))
    request, opaque = _request(op, source, data, names, functions, extra, limit)
    key = _memo_key(op, names, request, opaque)
    remembered = memo.shared.get(key)
    if remembered is not memo.MISSING:
        return {"value": remembered}
    answer = pool.shared().run({**request, "want_names": names is None}, functions, limit, opaque)
    _raise_error(answer, source)
    _remember_names(op, source, answer.get("names"))
    if op == "eval" and memo.shared.size and answer.get("engine_calls") == 0 and "value" in answer:
        if names is None:
            key = _key_of_next_run(request, opaque, _names_read.get((op, source)))
        memo.shared.put(key, answer["value"])
    return answer


def _request(op, source, data, names, functions, extra, limit):
    """The request for a sandbox process, and the server's objects its stand-ins stand for."""
    opaque = {}
    if names is not None:   # only the fields the code can name: less to send, and less data leaves the server
        data = {name: data[name] for name in names if name in data}
    try:
        request = {"op": op, "source": source, "data": wire.encode(data, opaque),
                   "extra": wire.encode(extra, opaque) if extra else None, "functions": sorted(functions),
                   "time_limit": limit, "memory_limit": _memory_limit()}
    except (ValueError, RecursionError):
        raise SandboxRefused("the case data is nested too deeply to be evaluated") from None
    return request, opaque


def _key_of_next_run(request, opaque, names):
    """After a first run, which was sent every field: the key of the next, which is sent only those named.

    Cut from what was sent (not packed again from the case data, which may have changed since).
    """
    data = request["data"]
    if names is None or not isinstance(data, dict) or wire.TAG in data:
        return None
    return _memo_key("eval", names, {**request, "data": {name: data[name] for name in names if name in data}}, opaque)


def _memo_key(op, names, request, opaque):
    """The memo's key for an expression's request, or None when its answer is not to be remembered.

    Only requests that send just the named fields are keyed (the first run sends them all), and
    none with stand-ins: a stand-in numbers an object within one request, it does not name it.
    """
    if op != "eval" or names is None or opaque:
        return None
    return memo.shared.key(request)


# (op, source) -> the global names the code reads, as a sandbox process compiled it.
_names_read: dict[tuple[str, str], tuple[str, ...]] = {}
_MAX_REMEMBERED = 4096


def _remember_names(op, source, names) -> None:
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return
    if len(_names_read) >= _MAX_REMEMBERED:
        _names_read.clear()
    _names_read[(op, source)] = tuple(names)


def _limit(time_limit):
    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    if not limit > 0:
        raise ValueError(f"time_limit must be positive, not {time_limit!r}")
    return float(limit)


def _memory_limit() -> int:
    """MAX_MEMORY_GROWTH as set on the package now (tests and operators may lower it)."""
    return int(sys.modules["engine.sandbox"].MAX_MEMORY_GROWTH)


def _raise_error(answer: dict, source: str) -> None:
    error = answer.get("error")
    if error is None:
        return
    if not isinstance(error, dict) or error.get("kind") not in _KINDS or not isinstance(error.get("reason"), str):
        raise SandboxCrashed("the sandbox process gave a malformed answer")
    kind, reason = _KINDS[error["kind"]], error["reason"][:2000]
    line = error.get("line") if type(error.get("line")) is int else None
    if kind is SandboxRuntimeError:
        error_type = error.get("error_type")
        raise kind(reason, line=line, source=source, error_type=error_type if isinstance(error_type, str) else None)
    raise kind(reason, line=line, source=source)
