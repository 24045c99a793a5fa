"""The errors sandboxed code ends with, and the stop that ends a run from inside it."""
from __future__ import annotations

import threading


class SandboxError(Exception):
    """An expression or script was refused, stopped, or failed."""

    shows_source = True

    def __init__(self, reason, *, line=None, source=None):
        self.reason, self.line, self.source = reason, line, source
        message = reason if line is None else f"{reason} (line {line})"
        excerpt = _excerpt(source, line) if source is not None and self.shows_source else ""
        if excerpt:
            message += f" in: {excerpt}"
        super().__init__(message)


class SandboxRefused(SandboxError):
    """The code uses something the sandbox does not allow."""

    shows_source = False


class SandboxTimeout(SandboxError):
    """The code ran longer than its CPU time limit."""


class SandboxTooLarge(SandboxError):
    """The code would build a value, or nest calls, beyond the sandbox's limits."""


class SandboxCrashed(SandboxError):
    """The sandbox process running the code died (a crash, out of memory, or killed from outside)."""

    shows_source = False


class SandboxRuntimeError(SandboxError):
    """The code failed while running (unknown name, missing key, wrong type, ...)."""

    def __init__(self, reason, *, line=None, source=None, error_type=None):
        self.error_type = error_type
        super().__init__(reason, line=line, source=source)


class _Stop(BaseException):
    """Ends a run; a BaseException so that `except Exception` in sandboxed code cannot catch it."""

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind, self.reason = kind, reason
        if getattr(_pending, "stop", None) is None:
            _pending.stop = self


# The first stop of the current run, per thread: a stop swallowed by `finally: return` still ends the run.
_pending = threading.local()


def pending_stop():
    return getattr(_pending, "stop", None)


def clear_pending_stop():
    _pending.stop = None


def _too_large(reason):
    return _Stop(SandboxTooLarge, reason)


def _excerpt(source, line):
    lines = source.strip().splitlines() if line is None else source.splitlines()[line - 1:line]
    text = lines[0].strip() if lines else ""
    if len(text) > 100:
        text = text[:100] + "…"
    elif line is None and len(lines) > 1:
        text += " …"
    return text
