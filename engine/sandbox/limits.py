"""The sandbox's limits, and the trace function that enforces CPU time, call depth and memory."""
from __future__ import annotations

import os
from time import perf_counter, thread_time

from engine.sandbox.errors import SandboxTimeout, SandboxTooLarge, _Stop


DEFAULT_TIME_LIMIT = float(os.environ.get("PLANFLOW_SANDBOX_TIME_LIMIT", "1.0"))
MAX_STRING_LENGTH = 1_000_000
MAX_ITEMS = 100_000
MAX_INT_BITS = 10_000
MAX_CALL_DEPTH = 50
MAX_NESTING = 100
MAX_VALUE_SIZE = 2_000_000
MAX_SOURCE_LENGTH = 50_000
MAX_MEMORY_GROWTH = 256 * 2**20

# Share of the time limit after which the trace function stops Python code: a sandbox process
# stops itself a little early (with the line it was on), the server's wall clock kills it a little late.
CPU_SHARE = 1.0
# A sandbox process runs one evaluation at a time, so it counts wall time, as the server does;
# a thread of a server counts its own CPU time, so that waiting for the GIL is not charged.
USE_WALL_CLOCK = False

_SANDBOX_FILENAME = "<sandbox>"
_OWN_FOLDER = os.path.dirname((lambda: None).__code__.co_filename) + os.sep
_CHECK_EVERY = 8               # trace events between two looks at the clock
_CHECK_INTERVAL = 0.002        # seconds between two looks at CPU time and memory


def _tracer(time_limit, memory_limit):
    """Return a trace function enforcing the CPU time, call depth and memory limits.

    The clock is read every few events with the cheap perf_counter; CPU time (thread_time,
    a system call) only every _CHECK_INTERVAL of wall time, so that a thread waiting for
    the GIL is not charged for other threads' work.
    """
    started = perf_counter()
    shown_limit, time_limit = time_limit, time_limit * CPU_SHARE
    next_check = started + min(_CHECK_INTERVAL, time_limit)
    cpu_started = None
    memory_baseline = None
    countdown = _CHECK_EVERY
    depth = 0

    def check():
        nonlocal countdown, next_check, cpu_started, memory_baseline
        countdown = _CHECK_EVERY
        now = perf_counter()
        if now < next_check:
            return
        cpu = now if USE_WALL_CLOCK else thread_time()
        if cpu_started is None:   # counts the wall time so far as CPU time: errs on the safe side
            cpu_started = cpu - (now - started)
        used = cpu - cpu_started
        if used > time_limit:
            raise _Stop(SandboxTimeout, f"the calculation took longer than its limit of {shown_limit:g} s")
        next_check = now + min(_CHECK_INTERVAL, time_limit - used)
        resident = _resident_memory()
        if resident is not None:
            if memory_baseline is None:
                memory_baseline = resident
            elif resident - memory_baseline > memory_limit:
                raise _Stop(SandboxTooLarge,
                            f"the calculation used more than {memory_limit // 2**20} MB of memory")

    def on_sandbox_event(frame, event, arg):
        nonlocal countdown, depth
        if event == "return":
            depth -= 1
        else:
            countdown -= 1
            if not countdown:
                check()
        return on_sandbox_event

    def on_foreign_event(frame, event, arg):
        nonlocal countdown
        countdown -= 1
        if not countdown:
            check()
        return on_foreign_event

    def on_call(frame, event, arg):
        nonlocal countdown, depth
        countdown -= 1
        if not countdown:
            check()
        filename = frame.f_code.co_filename
        if filename == _SANDBOX_FILENAME:
            depth += 1
            if depth > MAX_CALL_DEPTH:
                raise _Stop(SandboxTooLarge, f"functions call each other more than {MAX_CALL_DEPTH} levels deep")
            return on_sandbox_event
        if filename.startswith(_OWN_FOLDER):
            return None   # this package's guards are bounded by construction and run at full speed
        return on_foreign_event

    return on_call


_memory_file = None
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def use_memory_file(descriptor: int) -> None:
    """Read memory use from this open /proc/self/statm (a sandbox process may not open files)."""
    global _memory_file
    _memory_file = descriptor


def _resident_memory():
    if _memory_file is not None:
        return int(os.pread(_memory_file, 128, 0).split()[1]) * _PAGE_SIZE
    try:
        descriptor = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return None
    try:
        return int(os.read(descriptor, 128).split()[1]) * _PAGE_SIZE
    finally:
        os.close(descriptor)
