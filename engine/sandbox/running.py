"""Run compiled sandbox code under the limits and report how it failed as a SandboxError."""
from __future__ import annotations

import sys

from engine.sandbox.errors import (
    SandboxError,
    SandboxRefused,
    SandboxRuntimeError,
    SandboxTooLarge,
    _Stop,
    clear_pending_stop,
    pending_stop,
)
from engine.sandbox.limits import _SANDBOX_FILENAME, _tracer
from engine.sandbox.safe_builtins import _UNAVAILABLE
from engine.sandbox.sizes import _size
from engine.sandbox.values import _short_repr


def _run(code, source, scope, time_limit, memory_limit):
    if not time_limit > 0:
        raise ValueError(f"time_limit must be positive, not {time_limit!r}")
    previous = sys.gettrace()
    clear_pending_stop()
    sys.settrace(_tracer(time_limit, memory_limit))
    try:
        try:
            result = eval(code, scope)
        finally:
            sys.settrace(previous)   # before handling: nothing below may be charged or stopped
        swallowed = pending_stop()
        if swallowed is not None:    # the code swallowed a stop (`finally: return`): it still ends the run
            raise swallowed
        return result
    except _Stop as stop:
        while isinstance(stop.__context__, _Stop):   # report the first limit hit, not a re-raise
            stop = stop.__context__
        failure = stop.kind, stop.reason, _line_in(stop.__traceback__), None
    except SandboxError:
        raise
    except Exception as error:
        failure = _explain(error) + (_line_in(error.__traceback__), type(error).__name__)
    finally:
        clear_pending_stop()
    kind, reason, line, error_type = failure
    if kind is SandboxRuntimeError:
        raise SandboxRuntimeError(reason, line=line, source=source, error_type=error_type)
    raise kind(reason, line=line, source=source)


def _line_in(traceback):
    line = None
    while traceback is not None:
        # tb_lasti 0: a frame stopped on entry (call depth); the line that matters is its caller's
        if traceback.tb_frame.f_code.co_filename == _SANDBOX_FILENAME and (traceback.tb_lasti or line is None):
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _explain(error):
    """Return (error class, reason) for an exception raised by sandboxed code."""
    if isinstance(error, NameError):
        name = getattr(error, "name", None)
        if name in _UNAVAILABLE:
            return SandboxRefused, f"'{name}' is not allowed"
        if name:
            return SandboxRuntimeError, f"'{name}' is not defined: there is no field, variable or function of that name"
    if isinstance(error, RecursionError):
        return SandboxTooLarge, "the value or the calculation is nested too deeply"
    if isinstance(error, MemoryError):
        return SandboxTooLarge, "the calculation ran out of memory"
    if isinstance(error, KeyError) and len(error.args) == 1:
        return SandboxRuntimeError, f"key {_short_repr(error.args[0])} not found"
    if isinstance(error, ZeroDivisionError):
        return SandboxRuntimeError, "division by zero"
    try:
        _size(error.args, 10_000)
        detail = str(error)
    except _Stop:
        detail = ""
    detail = detail if len(detail) <= 300 else detail[:300] + "…"
    return SandboxRuntimeError, f"{type(error).__name__}: {detail}" if detail else type(error).__name__
