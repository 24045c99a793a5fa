"""The only place where process owners' expressions and scripts run: in sandbox processes.

Gateway conditions, timer values, DMN cells and script tasks are written in the browser by
process owners, so every one of them is untrusted. SpiffWorkflow would `eval`/`exec` them
with full builtins; `SandboxEnvironment` replaces that.

The boundary is the operating system's (pool.py, process.py, child.py, confine.py)
- `check`, `evaluate`, `execute` and `SandboxEnvironment` send the code and the case data
  (plain data, wire.py; after a code's first run only the fields it names) to one of a few
  warm sandbox processes — fresh interpreters started
  by the server, confined before they read any code: rlimits (address space
  `PLANFLOW_SANDBOX_MEMORY_MB`, CPU seconds, no new files or processes, no core files),
  no_new_privs, a seccomp allowlist of system calls (no open, socket, fork, exec, kill,
  ptrace), a network namespace where the kernel allows, and uid nobody when started as root.
- The server waits at most the time limit (`PLANFLOW_SANDBOX_TIME_LIMIT`, 1 s) for an
  answer, then kills the process with SIGKILL: `SandboxTimeout`. A process that dies (a C
  stack overflow, memory exhausted where Python cannot report it, killed from outside)
  gives `SandboxCrashed`. Either way it is replaced in the background and other requests
  carry on.
- The engine's functions (`working_days`, ...) are called back over the pipe and run in the
  server, with its clock and calendar; arguments and results are plain data.
- An expression asked again with the same request (text, fields sent, `extra`, engine
  function names, limits) gets the value a sandbox process gave before (memo.py,
  `PLANFLOW_SANDBOX_MEMO_SIZE`): never one that called an engine function, never an error,
  never a list, dict or set.
- Only plain data comes back: None, bool, int, float, str, list, tuple, dict, set,
  date/datetime/time/timedelta, Decimal. Anything else is a `SandboxRuntimeError`. Values
  of other types that the engine put in the case data go as stand-ins and come back as the
  server's own objects.

Everything below is the first line of defence, enforced inside the sandbox process; it gives
precise errors with line numbers and keeps ordinary mistakes cheap.

What the code may use
- Python expressions and statements: arithmetic, comparisons, `and/or/not`, `if/elif/else`,
  `for`, `while`, comprehensions, f-strings, `lambda`, `def` (no decorators, no `*args`),
  `try/except` (a bare `except:` is refused), `finally`, `raise`, `assert`, `del`.
- The case data (each key is a variable), the functions the engine passes in (calendar and
  date helpers) and these builtins: abs all any bool chr dict divmod enumerate filter float
  frozenset int isinstance len list map max min ord pow range reversed round set sorted str
  sum tuple zip, and the exceptions Exception ArithmeticError AssertionError IndexError
  KeyError LookupError TypeError ValueError ZeroDivisionError.
- Methods and attributes on values, by type: the read-only methods of text (`lower`,
  `startswith`, `split`, `format`, `join`, ...), dict (`get`, `keys`, `items`, ...; these
  three give lists), list, tuple, set, numbers, date/datetime/time/timedelta and `args` of
  an exception. Scripts may also use the changing methods (`append`, `update`, `pop`, ...);
  expressions may not, because a condition is evaluated more than once and must not change
  the case.

What is refused before anything runs (`SandboxRefused`, with the line)
- import, class, async, yield, with, match, global/nonlocal, annotations, bytes literals.
- Any name or attribute starting with `_` (`__class__`, `__globals__`, `_getframe`):
  every known escape from a Python sandbox walks dunder attributes.
- Any attribute not in the per-type lists above (`gi_frame`, `f_globals`, `mro`, ...).
- Calling a Python builtin that is not in the list above (`eval`, `exec`, `open`, `type`,
  `getattr`, `vars`, `globals`, `breakpoint`, `input`, `help`, `print`, ...).
An attribute is checked again when it runs, against the actual type: nothing at all may be
read from functions, types, generators and other objects not listed.

Limits, and why
- Time (`DEFAULT_TIME_LIMIT`, 1 s, per call or per environment): a sandbox process stops
  Python code itself at 95 % of the limit (wall time; with the line it was on), the server
  kills it at 103 % (a C call that cannot be interrupted). A trace function installed with
  `sys.settrace` for the calling thread only counts executed lines and stops the run with
  `SandboxTimeout` (run in a thread of a server, `interpreter` counts that thread's CPU time). The stop is
  a `BaseException` that `except Exception` cannot catch; a trace function that raises is
  switched off by CPython, so every `except`/`finally` body starts with a check that the
  trace is still on and that no stop is pending, and `except:` is refused. A stop swallowed
  anyway (`finally: return`) still ends the run when it returns.
- Recursion: functions defined in the code may nest at most `MAX_CALL_DEPTH` calls.
- A C-level call cannot be interrupted, so its inputs are bounded before it starts:
  `range()` and lists/tuples built by `*`/`+` have at most `MAX_ITEMS` items, texts at most
  `MAX_STRING_LENGTH` characters (`*`, `+`, `%`, `format`, f-strings, `join`, `replace`,
  `ljust`/`rjust`/`center`/`zfill`/`expandtabs`), format widths and precisions at most
  `MAX_STRING_LENGTH`, integers at most `MAX_INT_BITS` bits (`**`, `*`, `<<`). Printing,
  comparing, sorting and hashing walk a value's elements (shared ones as often as they
  are referenced), so values are measured before that and refused above
  `MAX_STRING_LENGTH`: `[[s] * 10**5] * 10**5` is small in memory but not to print.
  (`x in dict`, `x in set` and `x in text` need no measuring.) Tuples, the only values
  hashed element by element every time, are measured when built. Smaller bounds: code of
  at most `MAX_SOURCE_LENGTH` characters, `zip()` of at most 16 sequences, `round()` to
  at most 1,000 digits, `int()` of texts up to 5,000 characters giving at most
  `MAX_INT_BITS` bits, `pow(a, b, m)` of numbers up to `MAX_INT_BITS` bits.
- `map`, `filter` and the `key=` of `sorted`/`min`/`max` call their function item by item
  from Python, so a C function applied to every item of a long list (`map(text.count, l)`)
  still meets the time limit.
- Memory: every few milliseconds of a long run the process's resident memory is read;
  growth above `MAX_MEMORY_GROWTH` stops the run (this catches what grows one Python step
  at a time, e.g. appending in a loop).
- Values a script leaves in the case data must be JSON values (text, numbers, true/false,
  None, lists, dicts with text keys), nested at most `MAX_NESTING` deep and at most
  `MAX_VALUE_SIZE` characters each. Functions the script defines are dropped. A script that
  fails changes nothing. Expressions return a value, never a function or generator.

Functions passed in by the engine are trusted, run in the server within the same wall-time
limit, and must validate their own arguments.
"""
from __future__ import annotations

from engine.sandbox import boundary
from engine.sandbox.errors import (
    SandboxCrashed,
    SandboxError,
    SandboxRefused,
    SandboxRuntimeError,
    SandboxTimeout,
    SandboxTooLarge,
)
from engine.sandbox.limits import (
    DEFAULT_TIME_LIMIT,
    MAX_CALL_DEPTH,
    MAX_INT_BITS,
    MAX_ITEMS,
    MAX_MEMORY_GROWTH,
    MAX_NESTING,
    MAX_SOURCE_LENGTH,
    MAX_STRING_LENGTH,
    MAX_VALUE_SIZE,
)
from engine.sandbox.safe_builtins import SAFE_BUILTINS

__all__ = [
    "DEFAULT_TIME_LIMIT", "MAX_CALL_DEPTH", "MAX_INT_BITS", "MAX_ITEMS", "MAX_MEMORY_GROWTH", "MAX_NESTING",
    "MAX_SOURCE_LENGTH", "MAX_STRING_LENGTH", "MAX_VALUE_SIZE", "SAFE_BUILTINS", "SandboxCrashed",
    "SandboxEnvironment", "SandboxError", "SandboxRefused", "SandboxRuntimeError", "SandboxTimeout",
    "SandboxTooLarge", "check", "evaluate", "execute", "protections", "selftest",
]


def check(source: str, mode: str) -> None:
    """Raise SandboxRefused if source ('eval' or 'exec') breaks the sandbox's rules."""
    boundary.check(source, mode)


def evaluate(expression: str, data: dict, functions: dict | None = None, *,
             time_limit: float | None = None) -> object:
    """Return the value of expression with data's keys as variables."""
    return boundary.evaluate(expression, data, functions or {}, None, time_limit)


def execute(script: str, data: dict, functions: dict | None = None, *,
            time_limit: float | None = None) -> None:
    """Run script; its new, changed and deleted top-level variables update data."""
    boundary.execute(script, data, functions or {}, None, time_limit)


protections = boundary.protections
selftest = boundary.selftest


def __getattr__(name):
    # SandboxEnvironment needs SpiffWorkflow; a sandbox process imports this package without it.
    if name == "SandboxEnvironment":
        from engine.sandbox.environment import SandboxEnvironment
        return SandboxEnvironment
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
