"""A sandbox process: confines itself, then evaluates requests from its pipe until the pipe closes.

Started by pool.py as a fresh interpreter; stdin carries requests, stdout answers (see wire.py).
Calls of the engine's functions (working_days, ...) go back to the server over the same pipe,
so they run there, with the server's clock and calendar.
"""
from __future__ import annotations

import json
import os
import resource
import socket
import unicodedata  # noqa: F401  (the parser imports it for "\N{...}" once files can no longer be opened)
import warnings

from engine.sandbox import confine, interpreter, limits, wire
from engine.sandbox.errors import SandboxError, SandboxRuntimeError, SandboxTooLarge
from engine.sandbox.limits import _resident_memory, use_memory_file

REQUEST_IN, ANSWER_OUT = 0, 1
MAX_ANSWER = 32 * 2**20   # bytes of one answer; the server refuses more


def main() -> None:
    warnings.simplefilter("ignore")              # a SyntaxWarning would look for the source file
    limits.CPU_SHARE = 0.95                      # stop Python code here, with its line, before the server's kill
    limits.USE_WALL_CLOCK = True
    settings = json.loads(os.environ.get("PLANFLOW_SANDBOX_CHILD", "{}"))
    try:
        memory_file = os.open("/proc/self/statm", os.O_RDONLY)   # read through the run; open() is refused later
        use_memory_file(memory_file)
    except OSError:
        memory_file = None   # no /proc: the address-space limit still holds
    protections = confine.confine(settings.get("memory_bytes", 512 * 2**20), settings.get("cpu_seconds", 60),
                                  keep_fds=() if memory_file is None else (memory_file,))
    channel = _Channel()
    channel.send({"ready": protections, "pid": os.getpid()})
    cpu_budget, memory_budget = settings.get("cpu_seconds", 60) / 2, settings.get("memory_bytes", 512 * 2**20) / 2
    while True:
        request = channel.receive()
        if request is None:
            return
        answer = _answer(request, channel)
        used = resource.getrusage(resource.RUSAGE_SELF)
        # The CPU limit counts the whole life of the process, and memory a run leaves behind
        # (a fragmented heap) would shrink what the next run may use: retire well before either.
        if used.ru_utime + used.ru_stime > cpu_budget or (_resident_memory() or 0) > memory_budget:
            answer["retire"] = True
        channel.send(answer)
        if answer.get("retire"):
            return


def _answer(request, channel) -> dict:
    try:
        op = request["op"]
        if op == "check":
            interpreter.check(request["source"], request["mode"])
            return {"value": None}
        if op == "selftest":
            return {"value": _selftest()}
        functions = {name: _remote(name, channel) for name in request.get("functions", ())}
        data = request.get("data") or {}
        extra = request.get("extra")
        limits = request["time_limit"], request["memory_limit"]
        if op == "eval":
            value = interpreter.evaluate(request["source"], data, functions, extra, *limits)
            return {"value": _plain(value, "the expression gives"), **_names(request, "eval")}
        if op == "exec":
            results, removed = interpreter.script_changes(request["source"], data, functions, extra, *limits)
            encoded = _plain(results, "the script leaves")
            return {"set": encoded, "removed": removed, **_names(request, "exec")}
        return {"error": {"kind": "SandboxRefused", "reason": f"unknown request {op!r}"}}
    except SandboxError as error:
        return {"error": {"kind": type(error).__name__, "reason": error.reason, "line": error.line,
                          "error_type": getattr(error, "error_type", None)}}
    except MemoryError:
        return {"error": {"kind": "SandboxTooLarge", "reason": "the calculation ran out of memory"}}
    except (KeyError, TypeError, ValueError) as error:
        return {"error": {"kind": "SandboxRuntimeError", "reason": f"malformed request ({type(error).__name__})"}}


def _names(request, mode) -> dict:
    """The names the code reads, when the server asks (it then sends only those fields next time)."""
    return {"names": interpreter.names_read(request["source"], mode)} if request.get("want_names") else {}


def _plain(value, what):
    try:
        return wire.encode(value)
    except TypeError as error:
        raise SandboxRuntimeError(f"{what} {error}, which is not plain data; only text, numbers, true/false, None, "
                                  "lists, tuples, dicts, sets, dates and times can leave the sandbox") from None
    except (ValueError, RecursionError):
        raise SandboxTooLarge(f"{what} a value nested too deeply") from None


def _remote(name, channel):
    """A stand-in for the engine function `name`: the call runs in the server, with plain values."""
    def call(*args, **kwargs):
        try:
            arguments = wire.encode(list(args)), wire.encode(kwargs)
        except (TypeError, ValueError):
            raise TypeError(f"{name}() takes only plain values (text, numbers, dates)") from None
        channel.send({"call": name, "args": arguments[0], "kwargs": arguments[1]})
        reply = channel.receive()
        if reply is None:
            raise SystemExit(0)
        if "value" in reply:
            return reply["value"]
        raise _REMOTE_ERRORS.get(reply.get("type"), RuntimeError)(str(reply.get("message", ""))[:500])
    call.__name__ = call.__qualname__ = name
    return call


_REMOTE_ERRORS = {error.__name__: error for error in (ValueError, TypeError, KeyError, LookupError, IndexError,
                                                       ArithmeticError, ZeroDivisionError, RuntimeError)}


def _selftest() -> dict:
    """Try what the confinement should refuse; report each outcome (for tests and operators)."""
    outcome = {}
    for name, attempt in (("open", lambda: os.open("/etc/hostname", os.O_RDONLY)),
                          ("fork", os.fork),
                          ("socket", _socket),
                          ("kill_parent", lambda: os.kill(os.getppid(), 0)),
                          ("exec", lambda: os.execv("/bin/true", ["true"]))):
        try:
            result = attempt()
            if name == "fork" and result == 0:
                os._exit(0)
            outcome[name] = "allowed"
        except OSError as error:
            outcome[name] = f"refused: {os.strerror(error.errno) if error.errno else error}"
        except Exception as error:   # noqa: BLE001 - the report names whatever stopped it
            outcome[name] = f"refused: {type(error).__name__}"
    return outcome


def _socket():
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()


class _Channel:
    """Frames over the request and answer pipes."""

    def send(self, message) -> None:
        data = wire.frame(message)
        if len(data) > MAX_ANSWER:
            data = wire.frame({"error": {"kind": "SandboxTooLarge", "reason": "the answer is too large"}})
        view = memoryview(data)
        while view:
            written = os.write(ANSWER_OUT, view)
            view = view[written:]

    def receive(self):
        header = self._read(wire.HEADER_SIZE)
        if header is None:
            return None
        body = self._read(wire.body_length(header))
        if body is None:
            return None
        return wire.parse(body)

    @staticmethod
    def _read(size):
        chunks, left = [], size
        while left:
            chunk = os.read(REQUEST_IN, min(left, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


if __name__ == "__main__":
    main()
