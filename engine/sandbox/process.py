"""One sandbox process: start it, talk to it over its pipes under a deadline, kill it.

The pipes are non-blocking on this side, so a process that stops reading or answering
costs the server at most the deadline.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.sandbox import wire
from engine.sandbox.errors import SandboxCrashed

MEMORY_MB = int(os.environ.get("PLANFLOW_SANDBOX_MEMORY_MB", "512"))
CPU_SECONDS = 120                 # the OS limit over a process's whole life; it retires at half of it
START_TIMEOUT = 20.0
_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from engine.sandbox.child import main; main()"


class Gone(Exception):
    """The process closed its pipe, died, or broke the protocol."""


class NotDelivered(Exception):
    """The process was gone before it had read the whole request, so nothing ran."""


class Overrun(Exception):
    """The deadline passed before the process answered."""


class Child:
    """One sandbox process and its pipes (non-blocking on this side)."""

    def __init__(self):
        settings = {"memory_bytes": MEMORY_MB * 2**20, "cpu_seconds": CPU_SECONDS}
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _BOOT, _ROOT],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True,
            env={"PLANFLOW_SANDBOX_CHILD": json.dumps(settings), "LANG": "C.UTF-8"}, cwd="/")
        self.pid = self.process.pid
        self._to_child, self._from_child = self.process.stdin.fileno(), self.process.stdout.fileno()
        os.set_blocking(self._to_child, False)
        os.set_blocking(self._from_child, False)
        self._buffer = bytearray()
        try:
            hello = self.receive(time.monotonic() + START_TIMEOUT)
        except (Gone, Overrun):
            self.kill()
            raise SandboxCrashed(f"a sandbox process did not start ({self.how_it_ended()})") from None
        self.protections = hello.get("ready", {})

    def send(self, message, deadline) -> None:
        view = memoryview(wire.frame(message))
        while view:
            try:
                written = os.write(self._to_child, view)
            except BlockingIOError:   # the pipe is full: wait until the process reads
                self._wait(select.POLLOUT, deadline)
                continue
            except OSError:
                raise Gone() from None
            view = view[written:]

    def receive(self, deadline, opaque=None):
        try:
            length = wire.body_length(self._read(wire.HEADER_SIZE, deadline))
            message = wire.parse(self._read(length, deadline), opaque)
        except wire.WireError:
            raise Gone() from None
        if not isinstance(message, dict):
            raise Gone()
        return message

    def _read(self, size, deadline) -> bytes:
        while len(self._buffer) < size:
            self._wait(select.POLLIN, deadline)
            try:
                chunk = os.read(self._from_child, max(size - len(self._buffer), 1 << 16))
            except BlockingIOError:
                continue
            except OSError:
                raise Gone() from None
            if not chunk:
                raise Gone()
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _wait(self, event, deadline) -> None:
        poller = select.poll()
        poller.register(self._to_child if event == select.POLLOUT else self._from_child, event)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Overrun()
            if poller.poll(max(1, int(left * 1000))):
                return

    def signal_kill(self) -> None:
        """SIGKILL the process now; kill() reaps it later, off the caller's time."""
        try:
            self.process.kill()
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the process and reap it."""
        try:
            self.process.kill()
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        """Close the request pipe: the process ends by itself."""
        try:
            self.process.stdin.close()
            self.process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        else:
            self.process.stdout.close()

    def how_it_ended(self) -> str:
        code = self.process.poll()
        if code is None:
            return "still running"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit status {code}"
