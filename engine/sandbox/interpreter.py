"""Check, compile and run code in this process under the language-level rules and guards.

This is what a sandbox process runs (see child.py); the server itself never calls it on
process owners' code. It is the first line of defence: precise refusals with line numbers.
"""
from __future__ import annotations

import ast
import copy
import functools
import textwrap

from engine.sandbox.errors import SandboxRefused, SandboxRuntimeError
from engine.sandbox.guards import _HELPERS, _Guard
from engine.sandbox.limits import _SANDBOX_FILENAME, MAX_SOURCE_LENGTH
from engine.sandbox.rules import _first_problem
from engine.sandbox.running import _run
from engine.sandbox.sizes import _SCALARS
from engine.sandbox.values import _check_result, _check_value, _describe, _foreign_objects


def check(source: str, mode: str) -> None:
    """Raise SandboxRefused if source ('eval' or 'exec') breaks the sandbox's rules."""
    _compile(normalize(source, mode), mode)


def evaluate(source, data, functions, extra, time_limit, memory_limit):
    """Return the value of the expression source with data's keys as variables."""
    source = normalize(source, "eval")
    code = _compile(source, "eval")
    result = _run(code, source, _scope(data, extra, functions), time_limit, memory_limit)
    if type(result) not in _SCALARS:
        _check_result(result, source)
    return result


def script_changes(script, data, functions, extra, time_limit, memory_limit):
    """Run script on a copy of data; return (variables set, names deleted). data is not changed."""
    source = normalize(script, "exec")
    code = _compile(source, "exec")
    working = copy.deepcopy(data)         # a failing script must leave the case untouched
    kept = _foreign_objects(working)      # non-JSON values the engine put there may stay
    scope = _scope(working, extra, functions)
    _run(code, source, scope, time_limit, memory_limit)
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
    return results, removed


def names_read(source: str, mode: str) -> list[str]:
    """Every global name the code can read or delete (the only case data it can reach)."""
    return sorted(name for name in _names(_compile(normalize(source, mode), mode)) if _visible(name))


def _names(code) -> set[str]:
    names, pending = set(), [code]
    while pending:
        current = pending.pop()
        names.update(current.co_names)
        pending.extend(const for const in current.co_consts if hasattr(const, "co_names"))
    return names


def apply_changes(data: dict, results: dict, removed) -> None:
    for name in removed:
        data.pop(name, None)
    data.update(results)


def _visible(name):
    """Whether sandboxed code can name this variable (other data keys are kept as they are)."""
    return isinstance(name, str) and not name.startswith("_")


def normalize(source, mode):
    """The code as it is checked and run: an expression stripped, a script dedented."""
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
