"""Warm sandbox processes shared by the server's threads, each request under a wall-time limit.

A request takes an idle process (or starts one, up to `PLANFLOW_SANDBOX_PROCESSES`), sends
the code and data, serves the process's calls of engine functions, and waits for the answer
at most the time limit. A process that overruns is killed with SIGKILL; one that dies,
overruns or answers nonsense is dropped and a fresh one is started in the background, so
the next request finds a warm process. Nothing here runs process owners' code.
"""
from __future__ import annotations

import atexit
import os
import threading
import time

from engine.sandbox import wire
from engine.sandbox.errors import SandboxCrashed, SandboxTimeout
from engine.sandbox.process import Child, Gone, NotDelivered, Overrun

PROCESSES = int(os.environ.get("PLANFLOW_SANDBOX_PROCESSES", "2"))
KILL_SHARE = 1.03                 # the wall clock kills this much after the time limit (the child stops at 0.95)


class Pool:
    """Up to `size` warm sandbox processes; thread-safe."""

    def __init__(self, size: int = PROCESSES):
        self.size = max(1, size)
        self._idle: list[Child] = []
        self._all: list[Child] = []      # idle, busy, and started but not yet idle
        self._busy: set[Child] = set()   # handed out to a request
        self._count = 0                  # idle + busy + starting
        self._changed = threading.Condition()
        self._owner = os.getpid()
        self.started = 0                 # processes started so far (tests and the bench read it)
        self.requests = 0                # requests sent to sandbox processes so far (tests and the bench read it)

    def run(self, request: dict, functions: dict, time_limit: float, opaque: dict | None = None) -> dict:
        """Send request to a sandbox process; serve its calls; return its answer within the time limit.

        A process that died while idle cannot take the request; it goes to another one, once.
        The answer's "engine_calls" is how many engine functions the process called for it.
        """
        with self._changed:
            self.requests += 1
        for attempt in (1, 2):
            try:
                return self._run_once(request, functions, time_limit, {} if opaque is None else opaque)
            except NotDelivered:
                if attempt == 2:
                    raise SandboxCrashed("no sandbox process took the request (they ended before reading it)") \
                        from None
        raise AssertionError("unreachable")

    def _run_once(self, request, functions, time_limit, opaque) -> dict:
        child = self._acquire()
        healthy = False
        try:
            answer = self._exchange(child, request, functions, time_limit, opaque)
            healthy = not answer.get("retire")
            return answer
        except Overrun:
            child.signal_kill()
            raise SandboxTimeout(f"the calculation ran out of time: it took longer than its limit of "
                                 f"{time_limit:g} s and was stopped") from None
        except Gone:
            child.kill()   # reaped here: how it ended goes into the message
            raise SandboxCrashed(f"the calculation crashed its sandbox process ({child.how_it_ended()}); "
                                 "it may have run out of memory or hit a limit") from None
        finally:
            self._release(child, healthy)

    def _exchange(self, child, request, functions, time_limit, opaque):
        deadline = time.monotonic() + time_limit * KILL_SHARE
        try:
            child.send(request, deadline)
        except Gone:
            child.kill()
            raise NotDelivered() from None
        calls = 0
        while True:
            message = child.receive(deadline, opaque)
            if "call" not in message:
                message["engine_calls"] = calls   # counted by the server, whatever the process says
                return message
            calls += 1
            child.send(_call_engine_function(functions, message, opaque), deadline)

    def protections(self) -> dict:
        """What confines a sandbox process on this machine (as the process itself reported it)."""
        child = self._acquire()
        try:
            return dict(child.protections)
        finally:
            self._release(child, True)

    def busy_pids(self) -> list[int]:
        with self._changed:
            return [child.pid for child in self._busy]

    def pids(self) -> list[int]:
        with self._changed:
            return [child.pid for child in self._all]

    def _acquire(self) -> Child:
        child = self._take()
        with self._changed:
            self._busy.add(child)
        return child

    def _take(self) -> Child:
        with self._changed:
            if self._owner != os.getpid():     # inherited through fork: those processes belong to the parent
                self._idle, self._count, self._owner, self._all, self._busy = [], 0, os.getpid(), [], set()
            while True:
                while not self._idle and self._count >= self.size:
                    self._changed.wait()
                if not self._idle:
                    break
                child = self._idle.pop()
                if child.process.poll() is None:
                    return child
                self._all.remove(child)   # died while idle: its place goes to a replacement
                threading.Thread(target=self._replace, args=(child,), name="sandbox-start", daemon=True).start()
            self._count += 1
        return self._start()

    def _start(self) -> Child:
        try:
            child = Child()
        except BaseException:
            with self._changed:
                self._count -= 1
                self._changed.notify()
            raise
        with self._changed:
            self.started += 1
            self._all.append(child)
        return child

    def _release(self, child: Child, healthy: bool) -> None:
        with self._changed:
            self._busy.discard(child)
        if healthy and child.process.poll() is None:
            with self._changed:
                self._idle.append(child)
                self._changed.notify()
            return
        with self._changed:
            if child in self._all:
                self._all.remove(child)
            # count stays: the dead process's place goes to a warm replacement, started in the background
        threading.Thread(target=self._replace, args=(child,), name="sandbox-start", daemon=True).start()

    def _replace(self, dead: Child) -> None:
        dead.kill()
        try:
            child = self._start()
        except Exception:   # noqa: BLE001 - the next request starts one itself and reports why it cannot
            return
        self._release(child, True)

    def close(self) -> None:
        """End every idle process (busy ones end when their request does)."""
        with self._changed:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            for child in idle:
                if child in self._all:
                    self._all.remove(child)
        for child in idle:
            child.close()


def _call_engine_function(functions, message, opaque) -> dict:
    """Run the engine function a sandbox process asked for, here, and give its result as plain data."""
    name = message.get("call")
    function = functions.get(name) if isinstance(name, str) else None
    if function is None:
        return {"type": "NameError", "message": f"no engine function {str(name)[:40]!r}"}
    args, kwargs = message.get("args"), message.get("kwargs")
    if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        return {"type": "TypeError", "message": "malformed call"}
    try:
        return {"value": wire.encode(function(*args, **kwargs), opaque)}
    except Exception as error:   # noqa: BLE001 - the sandboxed code sees it as the same kind of error
        return {"type": type(error).__name__, "message": str(error)[:500]}


_shared: Pool | None = None
_shared_lock = threading.Lock()


def shared() -> Pool:
    """The process-wide pool, created on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Pool()
            atexit.register(_shared.close)
        return _shared
