"""The only place where process owners' expressions and scripts run.

Gateway conditions, timer values, DMN cells and script tasks are written in the browser by
process owners, so every one of them is untrusted. SpiffWorkflow would `eval`/`exec` them
with full builtins; `SandboxEnvironment` replaces that.

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
- CPU time (`DEFAULT_TIME_LIMIT`, 1 s, per call or per environment): a trace function
  installed with `sys.settrace` for the calling thread only (so it works in web and worker
  threads alike) counts executed lines and stops the run with `SandboxTimeout`. The stop is
  a `BaseException` that `except Exception` cannot catch; a trace function that raises is
  switched off by CPython, so every `except`/`finally` body starts with a check that the
  trace is still on, and `except:` is refused.
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
  at most 1,000 digits, `int()` of texts up to 5,000 characters.
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

Functions passed in by the engine are trusted, run under the same time limit, and must
validate their own arguments; they must not catch `BaseException`.
"""
from __future__ import annotations

import ast
import copy
import functools
import textwrap

from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.sandbox.errors import (
    SandboxError,
    SandboxRefused,
    SandboxRuntimeError,
    SandboxTimeout,
    SandboxTooLarge,
)
from engine.sandbox.guards import _HELPERS, _Guard
from engine.sandbox.limits import (
    _SANDBOX_FILENAME,
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
from engine.sandbox.rules import _first_problem
from engine.sandbox.running import _run
from engine.sandbox.safe_builtins import SAFE_BUILTINS
from engine.sandbox.sizes import _SCALARS
from engine.sandbox.values import _check_result, _check_value, _describe, _foreign_objects

__all__ = [
    "DEFAULT_TIME_LIMIT", "MAX_CALL_DEPTH", "MAX_INT_BITS", "MAX_ITEMS", "MAX_MEMORY_GROWTH", "MAX_NESTING",
    "MAX_SOURCE_LENGTH", "MAX_STRING_LENGTH", "MAX_VALUE_SIZE", "SAFE_BUILTINS", "SandboxEnvironment",
    "SandboxError", "SandboxRefused", "SandboxRuntimeError", "SandboxTimeout", "SandboxTooLarge", "check",
    "evaluate", "execute",
]


def check(source: str, mode: str) -> None:
    """Raise SandboxRefused if source ('eval' or 'exec') breaks the sandbox's rules."""
    _compile(_normalize(source, mode), mode)


def evaluate(expression: str, data: dict, functions: dict | None = None, *,
             time_limit: float = DEFAULT_TIME_LIMIT) -> object:
    """Return the value of expression with data's keys as variables."""
    return _evaluate(expression, data, functions or {}, None, time_limit)


def execute(script: str, data: dict, functions: dict | None = None, *,
            time_limit: float = DEFAULT_TIME_LIMIT) -> None:
    """Run script; its new, changed and deleted top-level variables update data."""
    _execute(script, data, functions or {}, None, time_limit)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that runs everything through the sandbox.

    `external_context` (data objects, DMN input values) is visible as variables and never
    written back, as in SpiffWorkflow's own TaskDataEnvironment.
    """

    def __init__(self, functions: dict | None = None, *, time_limit: float = DEFAULT_TIME_LIMIT):
        super().__init__(dict(functions or {}))
        self.time_limit = time_limit

    def evaluate(self, expression, context, external_context=None):
        return _evaluate(expression, context, self.globals, external_context, self.time_limit)

    def execute(self, script, context, external_context=None):
        _execute(script, context, self.globals, external_context, self.time_limit)
        return True

    def call_service(self, context, **kwargs):
        raise SandboxRefused("service tasks are not supported: plans cannot call external services")


# --- running -------------------------------------------------------------------------


def _evaluate(expression, data, functions, extra, time_limit):
    source = _normalize(expression, "eval")
    code = _compile(source, "eval")
    # MAX_MEMORY_GROWTH is read here, at each run, so that setting it on the package takes effect
    result = _run(code, source, _scope(data, extra, functions), time_limit, MAX_MEMORY_GROWTH)
    if type(result) not in _SCALARS:
        _check_result(result, source)
    return result


def _execute(script, data, functions, extra, time_limit):
    source = _normalize(script, "exec")
    code = _compile(source, "exec")
    working = copy.deepcopy(data)         # a failing script must leave the case untouched
    kept = _foreign_objects(working)      # non-JSON values the engine put there may stay
    scope = _scope(working, extra, functions)
    _run(code, source, scope, time_limit, MAX_MEMORY_GROWTH)
    hidden = set(extra or ()) | set(_HELPERS)
    results, removed = {}, []
    for name, value in scope.items():
        if not _visible(name) or name in hidden:
            continue
        if name in functions:
            if value is not functions[name]:
                raise SandboxRuntimeError(f"'{name}' is the name of a function; use another variable name",
                                          source=source)
        elif callable(value):
            removed.append(name)           # functions the script defined are not case data
        else:
            _check_value(name, value, kept)
            results[name] = value
    for name in data:
        if name not in scope and _visible(name) and name.isidentifier() and name not in functions \
                and name not in hidden:
            removed.append(name)
    for name in removed:
        data.pop(name, None)
    data.update(results)


def _visible(name):
    """Whether sandboxed code can name this variable (other data keys are kept as they are)."""
    return isinstance(name, str) and not name.startswith("_")


def _normalize(source, mode):
    if not isinstance(source, str):
        raise SandboxRefused(f"expected the code as text, got {_describe(source)}")
    if mode == "eval":
        return source.strip()
    if mode == "exec":
        return textwrap.dedent(source)
    raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")


def _scope(data, extra, functions):
    scope = dict(data)
    if extra:
        scope.update(extra)
    scope.update(functions)
    scope.update(_HELPERS)
    return scope


@functools.lru_cache(maxsize=4096)
def _compile(source, mode):
    """Check source against the rules, add the runtime guards, and compile it (cached)."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise SandboxRefused(f"the code is longer than {MAX_SOURCE_LENGTH:,} characters")
    try:
        tree = ast.parse(source, _SANDBOX_FILENAME, mode)
        problem = _first_problem(tree, mode)
        if problem:
            raise SandboxRefused(problem[1], line=problem[0], source=source)
        tree = ast.fix_missing_locations(_Guard().visit(tree))
        return compile(tree, _SANDBOX_FILENAME, mode)
    except SyntaxError as error:
        raise SandboxRefused(f"invalid syntax: {error.msg}", line=error.lineno, source=source) from None
    except (RecursionError, MemoryError):
        raise SandboxRefused("the code is nested too deeply", source=source) from None
