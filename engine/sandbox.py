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
import builtins
import copy
import datetime
import functools
import math
import os
import re
import string
import sys
import textwrap
import types
from time import perf_counter, thread_time

import _string
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

DEFAULT_TIME_LIMIT = 1.0
MAX_STRING_LENGTH = 1_000_000
MAX_ITEMS = 100_000
MAX_INT_BITS = 10_000
MAX_CALL_DEPTH = 50
MAX_NESTING = 100
MAX_VALUE_SIZE = 2_000_000
MAX_SOURCE_LENGTH = 50_000
MAX_MEMORY_GROWTH = 256 * 2**20

_SANDBOX_FILENAME = "<sandbox>"
_THIS_FILENAME = (lambda: None).__code__.co_filename
_CHECK_EVERY = 8               # trace events between two looks at the clock
_CHECK_INTERVAL = 0.002        # seconds between two looks at CPU time and memory


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


class SandboxRuntimeError(SandboxError):
    """The code failed while running (unknown name, missing key, wrong type, ...)."""

    def __init__(self, reason, *, line=None, source=None, error_type=None):
        self.error_type = error_type
        super().__init__(reason, line=line, source=source)


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
    result = _run(code, source, _scope(data, extra, functions), time_limit)
    if type(result) not in _SCALARS:
        _check_result(result, source)
    return result


def _execute(script, data, functions, extra, time_limit):
    source = _normalize(script, "exec")
    code = _compile(source, "exec")
    working = copy.deepcopy(data)         # a failing script must leave the case untouched
    kept = _foreign_objects(working)      # non-JSON values the engine put there may stay
    scope = _scope(working, extra, functions)
    _run(code, source, scope, time_limit)
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


class _Stop(BaseException):
    """Ends a run; a BaseException so that `except Exception` in sandboxed code cannot catch it."""

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def _run(code, source, scope, time_limit):
    if not time_limit > 0:
        raise ValueError(f"time_limit must be positive, not {time_limit!r}")
    previous = sys.gettrace()
    sys.settrace(_tracer(time_limit))
    try:
        try:
            return eval(code, scope)
        finally:
            sys.settrace(previous)   # before handling: nothing below may be charged or stopped
    except _Stop as stop:
        while isinstance(stop.__context__, _Stop):   # report the first limit hit, not a re-raise
            stop = stop.__context__
        failure = stop.kind, stop.reason, _line_in(stop.__traceback__), None
    except SandboxError:
        raise
    except Exception as error:
        failure = _explain(error) + (_line_in(error.__traceback__), type(error).__name__)
    kind, reason, line, error_type = failure
    if kind is SandboxRuntimeError:
        raise SandboxRuntimeError(reason, line=line, source=source, error_type=error_type)
    raise kind(reason, line=line, source=source)


def _tracer(time_limit):
    """Return a trace function enforcing the CPU time, call depth and memory limits.

    The clock is read every few events with the cheap perf_counter; CPU time (thread_time,
    a system call) only every _CHECK_INTERVAL of wall time, so that a thread waiting for
    the GIL is not charged for other threads' work.
    """
    started = perf_counter()
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
        cpu = thread_time()
        if cpu_started is None:   # counts the wall time so far as CPU time: errs on the safe side
            cpu_started = cpu - (now - started)
        used = cpu - cpu_started
        if used > time_limit:
            raise _Stop(SandboxTimeout, f"the calculation took longer than its limit of {time_limit:g} s")
        next_check = now + min(_CHECK_INTERVAL, time_limit - used)
        resident = _resident_memory()
        if resident is not None:
            if memory_baseline is None:
                memory_baseline = resident
            elif resident - memory_baseline > MAX_MEMORY_GROWTH:
                raise _Stop(SandboxTooLarge,
                            f"the calculation used more than {MAX_MEMORY_GROWTH // 2**20} MB of memory")

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
        if filename == _THIS_FILENAME:
            return None   # the guards below are bounded by construction and run at full speed
        return on_foreign_event

    return on_call


def _resident_memory():
    try:
        descriptor = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return None
    try:
        return int(os.read(descriptor, 128).split()[1]) * os.sysconf("SC_PAGE_SIZE")
    finally:
        os.close(descriptor)


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


def _excerpt(source, line):
    lines = source.strip().splitlines() if line is None else source.splitlines()[line - 1:line]
    text = lines[0].strip() if lines else ""
    if len(text) > 100:
        text = text[:100] + "…"
    elif line is None and len(lines) > 1:
        text += " …"
    return text


def _short_repr(value):
    try:
        _size(value, 1000)
        text = repr(value)
    except _Stop:
        text = f"<{_describe(value)}>"
    return text if len(text) <= 60 else text[:60] + "…"


# --- compiling -----------------------------------------------------------------------


_ALLOWED_NODES = frozenset({
    ast.Module, ast.Expression, ast.FunctionDef, ast.Return, ast.Delete, ast.Assign, ast.AugAssign,
    ast.For, ast.While, ast.If, ast.Raise, ast.Try, ast.Assert, ast.Expr, ast.Pass, ast.Break,
    ast.Continue, ast.BoolOp, ast.NamedExpr, ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict,
    ast.Set, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Compare, ast.Call,
    ast.FormattedValue, ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript, ast.Starred,
    ast.Name, ast.List, ast.Tuple, ast.Slice, ast.Load, ast.Store, ast.Del, ast.comprehension,
    ast.ExceptHandler, ast.arguments, ast.arg, ast.keyword,
    *(node for base in (ast.boolop, ast.operator, ast.unaryop, ast.cmpop) for node in base.__subclasses__()),
})
_NODE_REFUSALS = {
    ast.Import: "import is not allowed", ast.ImportFrom: "import is not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.AsyncFunctionDef: "async code is not allowed", ast.Await: "async code is not allowed",
    ast.AsyncFor: "async code is not allowed", ast.AsyncWith: "async code is not allowed",
    ast.Yield: "'yield' is not allowed", ast.YieldFrom: "'yield' is not allowed",
    ast.With: "'with' blocks are not allowed", ast.Match: "'match' statements are not allowed",
    ast.Global: "'global' is not allowed", ast.Nonlocal: "'nonlocal' is not allowed",
    ast.AnnAssign: "type annotations are not allowed", ast.TryStar: "'except*' is not allowed",
}


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


def _first_problem(tree, mode):
    """Return (line, reason) of the earliest rule the tree breaks, or None."""
    problems = []
    for node in ast.walk(tree):
        reason = _problem(node, mode)
        if reason:
            problems.append((getattr(node, "lineno", 0) or 0, reason))
    return min(problems, key=lambda problem: problem[0]) if problems else None


def _problem(node, mode):
    kind = type(node)
    if kind not in _ALLOWED_NODES:
        return _NODE_REFUSALS.get(kind, f"'{kind.__name__}' is not allowed")
    if kind is ast.Name:
        return _name_problem(node.id)
    if kind is ast.Attribute:
        if node.attr.startswith("_") or node.attr not in _ALL_ATTRIBUTES:
            return f"attribute access to '{node.attr}' is not allowed"
        if not isinstance(node.ctx, ast.Load):
            return f"setting or deleting attributes ('.{node.attr}') is not allowed"
        if mode == "eval" and node.attr in _MUTATORS:
            return f"'.{node.attr}()' changes data, which an expression must not do; use a script task"
    elif kind is ast.Call:
        if isinstance(node.func, ast.Name) and node.func.id in _UNAVAILABLE:
            return f"'{node.func.id}' is not allowed"
    elif kind is ast.Constant:
        if isinstance(node.value, bytes):
            return "bytes literals are not allowed"
        if isinstance(node.value, int) and node.value.bit_length() > MAX_INT_BITS:
            return f"number literals above {MAX_INT_BITS:,} bits are not allowed"
    elif kind is ast.FunctionDef:
        if node.decorator_list:
            return "decorators are not allowed"
        if node.returns:
            return "type annotations are not allowed"
        return _name_problem(node.name)
    elif kind is ast.arguments:
        if node.vararg or node.kwarg:
            return "'*args' and '**kwargs' parameters are not allowed"
    elif kind is ast.arg:
        return "type annotations are not allowed" if node.annotation else _name_problem(node.arg)
    elif kind in (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp):
        if any(generator.is_async for generator in node.generators):
            return "async code is not allowed"
    elif kind is ast.ExceptHandler:
        if node.type is None:
            return "a bare 'except:' is not allowed; name the errors, e.g. 'except ValueError:'"
        return node.name and _name_problem(node.name)
    elif kind is ast.AugAssign:
        if isinstance(node.target, ast.Subscript) and isinstance(node.target.slice, ast.Slice):
            return "augmented assignment to a slice is not allowed"
    return None


def _name_problem(name):
    if name.startswith("_") and name != "_":
        return f"the name '{name}' is not allowed"
    return None


_BINARY_GUARDS = {ast.Add: "_sb_add", ast.Mult: "_sb_mul", ast.Pow: "_sb_pow", ast.LShift: "_sb_lshift",
                  ast.Mod: "_sb_mod"}
_INPLACE_GUARDS = {**_BINARY_GUARDS, ast.Add: "_sb_iadd", ast.Mult: "_sb_imul"}


class _Guard(ast.NodeTransformer):
    """Route the operations that can allocate or walk without bound through checking helpers."""

    def __init__(self):
        self.temporaries = 0

    def visit_BinOp(self, node):
        self.generic_visit(node)
        guard = _BINARY_GUARDS.get(type(node.op))
        if guard is None or (guard == "_sb_add" and (_is_number(node.left) or _is_number(node.right))):
            return node
        return _call(guard, [node.left, node.right], node)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        guard = _INPLACE_GUARDS.get(type(node.op))
        if guard is None:
            return node
        target = node.target
        if isinstance(target, ast.Name):
            value = _call(guard, [ast.Name(target.id, ast.Load()), node.value], node)
            return ast.copy_location(ast.Assign([target], value), node)
        # `container[key] op= value`: evaluate container and key once, as Python does
        container, key = self._temporary(), self._temporary()
        current = ast.Subscript(ast.Name(container, ast.Load()), ast.Name(key, ast.Load()), ast.Load())
        statements = [
            ast.Assign([ast.Name(container, ast.Store())], target.value),
            ast.Assign([ast.Name(key, ast.Store())], target.slice),
            ast.Assign([ast.Subscript(ast.Name(container, ast.Load()), ast.Name(key, ast.Load()), ast.Store())],
                       _call(guard, [current, node.value], node)),
        ]
        return [ast.copy_location(statement, node) for statement in statements]

    def visit_Assign(self, node):
        self.generic_visit(node)
        if any(isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Slice) for target in node.targets):
            node.value = _call("_sb_limited", [node.value], node)   # `x[len(x):] = x` doubles x in C
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        operands = [node.left, *node.comparators]
        for index, operand in enumerate(operands):
            before = node.ops[index - 1] if index else None
            after = node.ops[index] if index < len(node.ops) else None
            if _is_constant(operand):
                continue
            if isinstance(before, _ORDERING) or isinstance(after, _ORDERING):
                operands[index] = _call("_sb_compared", [operand], operand)
            elif isinstance(before, (ast.In, ast.NotIn)):
                operands[index] = _call("_sb_searched", [operand], operand)
        node.left, *node.comparators = operands
        return node

    def visit_Tuple(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load) and not all(isinstance(item, ast.Constant) for item in node.elts) \
                and not any(isinstance(item, ast.Slice) for item in node.elts):
            return _call("_sb_tuple", [node], node)
        return node

    def visit_Starred(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _call("_sb_limited", [node.value], node)
        return node

    def visit_Set(self, node):
        self.generic_visit(node)
        node.elts = [ast.copy_location(ast.Starred(_call("_sb_hashed", [item.value], item), ast.Load()), item)
                     if isinstance(item, ast.Starred) else item for item in node.elts]
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        return _call("_sb_getattr", [node.value, ast.Constant(node.attr)], node)

    def visit_JoinedStr(self, node):
        self.generic_visit(node)
        parts = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                spec = part.format_spec or ast.Constant("")
                part = _call("_sb_format", [part.value, ast.Constant(part.conversion), spec], part)
            parts.append(part)
        return _call("_sb_fjoin", parts, node)

    def visit_While(self, node):
        self.generic_visit(node)
        node.body.insert(0, _line_marker(node))
        return node

    visit_For = visit_While

    def visit_ExceptHandler(self, node):
        self.generic_visit(node)
        node.body.insert(0, _alive_check(node))
        return node

    def visit_Try(self, node):
        self.generic_visit(node)
        if node.finalbody:
            node.finalbody.insert(0, _alive_check(node))
        return node

    def _temporary(self):
        self.temporaries += 1
        return f"_sb_t{self.temporaries}"


def _call(helper, arguments, like):
    return ast.copy_location(ast.Call(ast.Name(helper, ast.Load()), arguments, []), like)


def _alive_check(like):
    return ast.copy_location(ast.Expr(_call("_sb_alive", [], like)), like)


def _line_marker(loop):
    """A statement that gives each loop pass a line event: `while True: pass` has none in 3.11."""
    return ast.copy_location(ast.Expr(ast.Name("_sb_alive", ast.Load())), loop)


def _is_number(node):
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


_ORDERING = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def _is_constant(node):
    return isinstance(node, ast.Constant) or (isinstance(node, (ast.Tuple, ast.List, ast.Set))
                                              and all(isinstance(item, ast.Constant) for item in node.elts))


# --- guards: sizes -------------------------------------------------------------------


_SCALARS = frozenset({str, int, float, bool, type(None)})
_DICT_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
_COLLECTIONS = (list, tuple, set, frozenset, *_DICT_VIEWS)


def _too_large(reason):
    return _Stop(SandboxTooLarge, reason)


def _size(value, limit=MAX_STRING_LENGTH, what="the value"):
    """Return about how many characters writing value out takes; stop once above limit.

    Shared elements count every time they are referenced: that is what printing, comparing
    and hashing cost, and why `[[s] * 1000] * 1000` is refused although it is small. Each
    container costs _CONTAINER_COST, which keeps the walk short for cycles and deep nesting.
    """
    total = 0
    pending = [value]
    while pending and total <= limit:
        item = pending.pop()
        kind = type(item)
        if kind is str:
            total += len(item) + 2
        elif kind is int:
            total += item.bit_length() // 3 + 2
        elif kind is dict or isinstance(item, dict):
            total += 2 * len(item) + _CONTAINER_COST
            if total <= limit:
                pending.extend(item.keys())
                pending.extend(item.values())
        elif kind in _COLLECTIONS or isinstance(item, _COLLECTIONS):
            total += len(item) + _CONTAINER_COST
            if total <= limit:
                flat = _flat_size(item) if len(item) > 8 else None
                if flat is None:
                    pending.extend(item)
                else:
                    total += flat
        else:
            total += 8
    if total > limit:
        raise _too_large(f"{what} is too large (more than {limit:,} characters when written out)")
    return total


def _flat_size(items, small_scalars=frozenset({float, bool, type(None)})):
    """Return the size of a collection of plain scalars at C speed, or None if it holds others."""
    kinds = set(map(type, items))
    if kinds == _JUST_STR:
        return sum(map(len, items)) + 2 * len(items)
    if kinds <= _INTEGERS:
        return sum(map(int.bit_length, items)) // 3 + 2 * len(items)
    if kinds <= small_scalars:
        return 8 * len(items)
    return None


_JUST_STR, _INTEGERS = {str}, {int, bool}
_CONTAINER_COST = 32


def _printable(value):
    kind = type(value)
    if kind is int:
        if value.bit_length() > MAX_INT_BITS:
            raise _too_large(f"a number above {MAX_INT_BITS:,} bits cannot be written out")
    elif kind not in _SCALARS:
        _size(value)


def _check_length(length, sample):
    if isinstance(sample, str):
        if length > MAX_STRING_LENGTH:
            raise _too_large(f"the text would be longer than {MAX_STRING_LENGTH:,} characters")
    elif length > MAX_ITEMS:
        raise _too_large(f"the list would have more than {MAX_ITEMS:,} items")


def _check_tuple(value):
    for item in value:
        if type(item) not in _SCALARS:
            _size(value, what="the tuple")
            break
    return value


def _compared(value):
    if type(value) not in _SCALARS:
        _size(value, what="a value being compared")
    return value


def _searched(container):
    """Return container for `x in container`, refusing a search that would walk too much.

    Dicts and sets hash x (tuples are bounded when built), texts search text, generators run
    traced code; lists and tuples compare x with every item.
    """
    if isinstance(container, (dict, set, frozenset, str, range, types.GeneratorType)):
        return container
    if hasattr(type(container), "__next__"):
        container = list(container)
    _size(container, what="the list searched")
    return container


def _limited(value):
    """Return value unless it has more than MAX_ITEMS items (for `*value` and slice assignment)."""
    if isinstance(value, (str, list, tuple, dict, set, frozenset, range)) and len(value) > MAX_ITEMS:
        raise _too_large(f"unpacking or assigning more than {MAX_ITEMS:,} items at once is not allowed")
    return value


def _alive():
    if sys.gettrace() is None:   # CPython switched the limits off: stop rather than run unlimited
        raise _too_large("the calculation hit a resource limit (memory or recursion)")


# --- guards: operators ---------------------------------------------------------------


def _add(a, b):
    if isinstance(a, (str, list, tuple)) and isinstance(b, (str, list, tuple)):
        _check_length(len(a) + len(b), a)
        if isinstance(a, tuple) and isinstance(b, tuple):
            if _size(a, what="the tuple") + _size(b, what="the tuple") > MAX_STRING_LENGTH:
                raise _too_large(f"the joined tuple would be too large "
                                 f"(more than {MAX_STRING_LENGTH:,} characters when written out)")
    return a + b


def _iadd(a, b):
    if type(a) is list:
        if isinstance(b, (list, tuple, str, dict, set, frozenset, range)):
            _check_length(len(a) + len(b), a)
        a += b
        return a
    return _add(a, b)


def _mul(a, b):
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise _too_large(f"the result would be a number above {MAX_INT_BITS:,} bits")
    elif isinstance(b, int) and isinstance(a, (str, list, tuple)):
        _check_repeat(a, b)
    elif isinstance(a, int) and isinstance(b, (str, list, tuple)):
        _check_repeat(b, a)
    return a * b


def _imul(a, b):
    if type(a) is list and isinstance(b, int):
        _check_repeat(a, b)
        a *= b
        return a
    return _mul(a, b)


def _check_repeat(sequence, times):
    if times <= 0 or not sequence:
        return
    _check_length(len(sequence) * times, sequence)
    if isinstance(sequence, tuple):
        if _size(sequence, what="the tuple") * times > MAX_STRING_LENGTH:
            raise _too_large(f"the repeated tuple would be too large "
                             f"(more than {MAX_STRING_LENGTH:,} characters when written out)")


def _pow(base, exponent, modulus=None):
    if modulus is None and isinstance(base, int) and isinstance(exponent, int) and exponent > 1 and abs(base) > 1:
        if exponent.bit_length() > 32 or exponent * math.log2(abs(base)) > MAX_INT_BITS:
            raise _too_large(f"the result of '**' would be a number above {MAX_INT_BITS:,} bits")
    return pow(base, exponent) if modulus is None else pow(base, exponent, modulus)


def _lshift(a, b):
    if isinstance(a, int) and isinstance(b, int) and a and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        raise _too_large(f"the result of '<<' would be a number above {MAX_INT_BITS:,} bits")
    return a << b


_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.?)", re.S)


def _mod(a, b):
    if isinstance(a, str):
        fields, widths = 0, 0
        for match in _PERCENT_FIELD.finditer(a):
            width, precision, conversion = match.groups()
            if conversion == "%":
                continue
            if "*" in (width, precision):
                raise _Stop(SandboxRefused, "'*' widths in %-formatting are not allowed")
            widths += _spec_number(width) + _spec_number(precision) + 400
            fields += 1
            if len(a) + widths > MAX_STRING_LENGTH:
                break
        if fields and len(a) + widths + fields * _size(b, what="the value given to %-formatting") > MAX_STRING_LENGTH:
            raise _too_large(f"the formatted text could be longer than {MAX_STRING_LENGTH:,} characters")
    return a % b


def _spec_number(digits):
    if not digits:
        return 0
    if len(digits) > 7 or int(digits) > MAX_STRING_LENGTH:
        raise _too_large(f"format widths and precisions above {MAX_STRING_LENGTH:,} are not allowed")
    return int(digits)


# --- guards: formatting --------------------------------------------------------------


def _check_format_spec(spec):
    if len(spec) > 100:
        raise _too_large("format specifications longer than 100 characters are not allowed")
    for digits in re.findall(r"\d+", spec):
        _spec_number(digits)


def _format(value, conversion, spec):
    """Format one f-string field like Python does, after checking its size."""
    _printable(value)
    if conversion == ord("s"):
        value = str(value)
    elif conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("a"):
        value = ascii(value)
    if spec:
        _check_format_spec(spec)
    return format(value, spec)


def _fjoin(*parts):
    if sum(map(len, parts)) > MAX_STRING_LENGTH:
        raise _too_large(f"the f-string would be longer than {MAX_STRING_LENGTH:,} characters")
    return "".join(parts)


class _Formatter(string.Formatter):
    """str.format without attribute lookups in fields and with bounded output."""

    def __init__(self):
        self.length = 0

    def get_field(self, field_name, args, kwargs):
        first, rest = _string.formatter_field_name_split(field_name)
        value = self.get_value(first, args, kwargs)
        for is_attribute, key in rest:
            if is_attribute:
                raise _Stop(SandboxRefused, f"attribute access ('.{key}') in a format string is not allowed")
            value = value[key]
        return value, first

    def convert_field(self, value, conversion):
        if conversion is not None:
            _printable(value)
        return super().convert_field(value, conversion)

    def format_field(self, value, format_spec):
        _check_format_spec(format_spec)
        _printable(value)
        text = format(value, format_spec)
        self.length += len(text)
        if self.length > MAX_STRING_LENGTH:
            raise _too_large(f"the formatted text would be longer than {MAX_STRING_LENGTH:,} characters")
        return text


def _str_format(text, *args, **kwargs):
    return _Formatter().vformat(text, args, kwargs)


def _str_format_map(text, mapping):
    return _Formatter().vformat(text, (), mapping)


def _str_join(separator, iterable):
    parts, length = [], 0
    for part in iterable:
        if isinstance(part, str):
            length += len(part) + len(separator)
            if length > MAX_STRING_LENGTH:
                raise _too_large(f"the joined text would be longer than {MAX_STRING_LENGTH:,} characters")
        parts.append(part)
    return separator.join(parts)


def _str_pad(method, text, width, *fill):
    if isinstance(width, int) and width > MAX_STRING_LENGTH:
        raise _too_large(f"padding to more than {MAX_STRING_LENGTH:,} characters is not allowed")
    return method(text, width, *fill)


def _str_expandtabs(text, tabsize=8):
    if isinstance(tabsize, int) and len(text) + text.count("\t") * max(tabsize, 0) > MAX_STRING_LENGTH:
        raise _too_large(f"the text would be longer than {MAX_STRING_LENGTH:,} characters")
    return text.expandtabs(tabsize)


def _str_replace(text, old, new, count=-1):
    if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        found = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            found = min(found, count)
        if len(text) + found * (len(new) - len(old)) > MAX_STRING_LENGTH:
            raise _too_large(f"the text would be longer than {MAX_STRING_LENGTH:,} characters")
    return text.replace(old, new, count)


def _strftime(moment, pattern):
    if isinstance(pattern, str) and len(pattern) > 1000:
        raise _too_large("date formats longer than 1,000 characters are not allowed")
    return moment.strftime(pattern)


# --- guards: builtins ----------------------------------------------------------------


_NO_DEFAULT = object()


def _map(function, iterable, *iterables):
    """map() as a generator of this module, so each item is a trace event.

    C-level map/filter would call a C function (`text.count`, `list`, `items.append`) for
    every item of a long list without giving the time and memory limits a chance to act.
    """
    if iterables:
        for arguments in zip(iterable, *iterables):
            yield function(*arguments)
    else:
        for item in iterable:
            yield function(item)


def _filter(function, iterable):
    """filter() as a generator of this module, for the same reason as _map."""
    for item in iterable:
        if (item if function is None else function(item)):
            yield item


def _sorted(iterable, /, *, key=None, reverse=False):
    items = list(iterable)
    if key is None:
        _size(items, what="the list to sort")
        return sorted(items, reverse=reverse)
    keys = list(_map(key, items))
    _size(keys, what="the list of sort keys")
    return [items[index] for index in sorted(range(len(items)), key=keys.__getitem__, reverse=reverse)]


def _extreme(pick, args, key, default):
    if not args:
        raise TypeError(f"{pick.__name__}() expected at least 1 argument, got 0")
    items = list(args[0]) if len(args) == 1 else list(args)
    if not items:
        if default is _NO_DEFAULT:
            raise ValueError(f"{pick.__name__}() arg is an empty sequence")
        return default
    keys = items if key is None else list(_map(key, items))
    _size(keys, what=f"the list given to {pick.__name__}()")
    return items[pick(range(len(items)), key=keys.__getitem__)]


def _min(*args, key=None, default=_NO_DEFAULT):
    return _extreme(min, args, key, default)


def _max(*args, key=None, default=_NO_DEFAULT):
    return _extreme(max, args, key, default)


def _list_sort(items, *, key=None, reverse=False):
    items[:] = _sorted(items, key=key, reverse=reverse)


def _list_extend(items, more):
    if isinstance(more, (list, tuple, str, dict, set, frozenset, range)):
        _check_length(len(items) + len(more), items)
    items.extend(more)


def _searching(method):
    """Wrap a list/tuple method that compares its argument with every item."""
    def search(items, *args):
        _size(items, what="the list searched")
        return method(items, *args)
    return search


def _hashed(iterable, pairs=False):
    """Return iterable's items (or key/value pairs) as a list, refusing if hashing them walks too much.

    A tuple's hash is recomputed every time, so `set([t] * 10**5)` with a large tuple t would
    hash t 100,000 times inside one C call.
    """
    items, budget = [], MAX_STRING_LENGTH
    for item in iterable:
        key = item[0] if pairs and isinstance(item, (tuple, list)) and item else item
        budget -= _size(key, what="a tuple used as a set item or dict key") if type(key) is tuple else 1
        if budget < 0:
            raise _too_large(f"the items for this set or dict are too large together "
                             f"(more than {MAX_STRING_LENGTH:,} characters when written out)")
        items.append(item)
    return items


def _already_hashed(value):
    return isinstance(value, (set, frozenset, dict))


def _set(iterable=()):
    return set(iterable if _already_hashed(iterable) else _hashed(iterable))


def _frozenset(iterable=()):
    return frozenset(iterable if _already_hashed(iterable) else _hashed(iterable))


def _dict(*args, **kwargs):
    if len(args) == 1 and not hasattr(args[0], "keys"):
        args = (_hashed(args[0], pairs=True),)
    return dict(*args, **kwargs)


def _dict_update(target, *args, **kwargs):
    if len(args) == 1 and not hasattr(args[0], "keys"):
        args = (_hashed(args[0], pairs=True),)
    target.update(*args, **kwargs)


def _hashing(name):
    """Wrap a set method whose arguments are iterables whose items it hashes."""
    def call(target, *others):
        return getattr(target, name)(*(other if _already_hashed(other) else _hashed(other) for other in others))
    return lambda target: functools.partial(call, target)


def _sum(iterable, /, start=0):
    if not isinstance(start, (int, float, datetime.timedelta)):
        raise _Stop(SandboxRefused, "sum() only adds numbers; use '+' or join() for texts and lists")
    return sum(iterable, start)


def _str(*args):
    if not args:
        return ""
    if len(args) > 1:
        raise TypeError("str() takes one argument here")
    _printable(args[0])
    return str(args[0])


def _int(*args, **kwargs):
    if args and isinstance(args[0], str) and len(args[0]) > 5000:
        raise _too_large("texts longer than 5,000 characters cannot be read as a number")
    return int(*args, **kwargs)


def _tuple(iterable=()):
    return _check_tuple(tuple(iterable))


def _range(*args):
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:
        length = MAX_ITEMS + 1
    if length > MAX_ITEMS:
        raise _too_large(f"range() of more than {MAX_ITEMS:,} numbers is not allowed")
    return numbers


def _round(number, ndigits=None):
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, int) and abs(ndigits) > 1000:
        raise _too_large("round() to more than 1,000 digits is not allowed")
    return round(number, ndigits)


def _zip(*iterables, strict=False):
    if len(iterables) > 16:
        raise _too_large("zip() of more than 16 sequences is not allowed")
    return zip(*iterables, strict=strict)


_REAL_TYPES = {_str: str, _int: int, _tuple: tuple, _range: range, _set: set, _frozenset: frozenset, _dict: dict}


def _isinstance(value, kinds):
    if isinstance(kinds, tuple):
        kinds = tuple(_REAL_TYPES.get(kind, kind) if callable(kind) else kind for kind in kinds)
    elif callable(kinds):
        kinds = _REAL_TYPES.get(kinds, kinds)
    return isinstance(value, kinds)


SAFE_BUILTINS = {
    "abs": abs, "all": all, "any": any, "bool": bool, "chr": chr, "dict": _dict, "divmod": divmod,
    "enumerate": enumerate, "filter": _filter, "float": float, "frozenset": _frozenset, "int": _int,
    "isinstance": _isinstance, "len": len, "list": list, "map": _map, "max": _max, "min": _min, "ord": ord,
    "pow": _pow, "range": _range, "reversed": reversed, "round": _round, "set": _set, "sorted": _sorted,
    "str": _str, "sum": _sum, "tuple": _tuple, "zip": _zip,
    **{error.__name__: error for error in (Exception, ArithmeticError, AssertionError, IndexError, KeyError,
                                           LookupError, TypeError, ValueError, ZeroDivisionError)},
}
_UNAVAILABLE = frozenset(name for name in dir(builtins) if not name.startswith("_")) - set(SAFE_BUILTINS)


# --- guards: attributes --------------------------------------------------------------


def _bound(function, *leading):
    return lambda value: functools.partial(function, *leading, value)


def _call_list(method, value):
    return list(method(value))


_NUMBER_ATTRIBUTES = dict.fromkeys(["conjugate", "real", "imag"])
_FROZENSET_ATTRIBUTES = {"copy": None, **{name: _hashing(name) for name in [
    "union", "intersection", "difference", "symmetric_difference", "issubset", "issuperset", "isdisjoint"]}}
_DATE_ATTRIBUTES = {
    **dict.fromkeys(["year", "month", "day", "weekday", "isoweekday", "isocalendar", "isoformat", "replace",
                     "toordinal", "ctime"]),
    "strftime": _bound(_strftime),
}
_TIME_ATTRIBUTES = {
    **dict.fromkeys(["hour", "minute", "second", "microsecond", "tzinfo", "fold", "isoformat", "replace",
                     "utcoffset"]),
    "strftime": _bound(_strftime),
}
_ATTRIBUTES = {
    str: {
        **dict.fromkeys(["capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha",
                         "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable",
                         "isspace", "istitle", "isupper", "lower", "lstrip", "partition", "removeprefix",
                         "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines",
                         "startswith", "strip", "swapcase", "title", "upper"]),
        "center": _bound(_str_pad, str.center), "ljust": _bound(_str_pad, str.ljust),
        "rjust": _bound(_str_pad, str.rjust), "zfill": _bound(_str_pad, str.zfill),
        "expandtabs": _bound(_str_expandtabs), "replace": _bound(_str_replace), "join": _bound(_str_join),
        "format": _bound(_str_format), "format_map": _bound(_str_format_map),
    },
    # keys/values/items give lists: dict views would hash whole iterables in `d.keys() | items`
    dict: {**dict.fromkeys(["get", "copy", "setdefault", "pop", "popitem", "clear"]),
           "keys": _bound(_call_list, dict.keys), "values": _bound(_call_list, dict.values),
           "items": _bound(_call_list, dict.items), "update": _bound(_dict_update)},
    list: {
        **dict.fromkeys(["copy", "append", "insert", "pop", "reverse", "clear"]),
        "index": _bound(_searching(list.index)), "count": _bound(_searching(list.count)),
        "remove": _bound(_searching(list.remove)), "extend": _bound(_list_extend), "sort": _bound(_list_sort),
    },
    tuple: {"index": _bound(_searching(tuple.index)), "count": _bound(_searching(tuple.count))},
    frozenset: _FROZENSET_ATTRIBUTES,
    set: {**_FROZENSET_ATTRIBUTES, **dict.fromkeys(["add", "discard", "remove", "pop", "clear"]),
          **{name: _hashing(name) for name in ["update", "intersection_update", "difference_update",
                                               "symmetric_difference_update"]}},
    int: {**_NUMBER_ATTRIBUTES, **dict.fromkeys(["bit_length", "numerator", "denominator"])},
    float: {**_NUMBER_ATTRIBUTES, **dict.fromkeys(["is_integer", "as_integer_ratio"])},
    datetime.date: _DATE_ATTRIBUTES,
    datetime.datetime: {**_DATE_ATTRIBUTES, **_TIME_ATTRIBUTES,
                        **dict.fromkeys(["date", "time", "timetz", "timestamp", "astimezone"])},
    datetime.time: _TIME_ATTRIBUTES,
    datetime.timedelta: dict.fromkeys(["days", "seconds", "microseconds", "total_seconds"]),
    type(datetime.date(2000, 1, 1).isocalendar()): dict.fromkeys(["year", "week", "weekday"]),
    BaseException: {"args": lambda error: _check_tuple(error.args)},
}
_ALL_ATTRIBUTES = frozenset(name for table in _ATTRIBUTES.values() for name in table)
_MUTATORS = frozenset(["setdefault", "pop", "popitem", "update", "clear", "append", "insert", "reverse", "remove",
                       "extend", "sort", "add", "discard", "intersection_update", "difference_update",
                       "symmetric_difference_update"])
_ATTRIBUTES_BY_TYPE = {}


def _getattr(value, name):
    kind = type(value)
    table = _ATTRIBUTES_BY_TYPE.get(kind)
    if table is None:
        table = next((_ATTRIBUTES[base] for base in kind.__mro__ if base in _ATTRIBUTES), {})
        _ATTRIBUTES_BY_TYPE[kind] = table
    try:
        wrap = table[name]
    except KeyError:
        if not table:
            raise _Stop(SandboxRefused, f"attribute access on {_describe(value)} is not allowed ('.{name}')") from None
        raise _Stop(SandboxRuntimeError, f"{_describe(value)} has no attribute '{name}'") from None
    return getattr(value, name) if wrap is None else wrap(value)


_HELPERS = {
    "_sb_add": _add, "_sb_iadd": _iadd, "_sb_mul": _mul, "_sb_imul": _imul, "_sb_pow": _pow,
    "_sb_lshift": _lshift, "_sb_mod": _mod, "_sb_compared": _compared, "_sb_searched": _searched,
    "_sb_tuple": _check_tuple, "_sb_limited": _limited, "_sb_getattr": _getattr, "_sb_format": _format,
    "_sb_fjoin": _fjoin, "_sb_alive": _alive, "_sb_hashed": _hashed, "__builtins__": SAFE_BUILTINS,
}


# --- values leaving the sandbox ------------------------------------------------------


_KIND_NAMES = {str: "a text", int: "a whole number", float: "a decimal number", bool: "a true/false value",
               type(None): "None", list: "a list", dict: "a dict", tuple: "a tuple", set: "a set",
               frozenset: "a frozenset"}


def _describe(value):
    name = _KIND_NAMES.get(type(value))
    if name:
        return name
    if isinstance(value, type):
        return "a type"
    if isinstance(value, types.GeneratorType):
        return "a generator"
    if callable(value):
        return "a function"
    return f"a {type(value).__name__} value"


def _check_result(value, source):
    """Refuse a result that is too large or that holds a function, generator or iterator."""
    pending, total = [(value, 0)], 0
    while pending:
        item, depth = pending.pop()
        if callable(item) or hasattr(type(item), "__next__"):
            raise SandboxRuntimeError(f"the expression gives {_describe(item)}, not a value", source=source)
        if isinstance(item, (dict, *_COLLECTIONS)):
            if depth >= MAX_NESTING:
                raise SandboxTooLarge(f"the result is nested more than {MAX_NESTING} levels deep", source=source)
            total += 2 * len(item)
            pending.extend((element, depth + 1) for element in (
                [*item.keys(), *item.values()] if isinstance(item, dict) else item))
        else:
            total += len(item) if type(item) is str else 8
        if total > MAX_STRING_LENGTH:
            raise SandboxTooLarge(f"the result is larger than {MAX_STRING_LENGTH:,} characters", source=source)


def _foreign_objects(data):
    """Return the non-JSON values in data by id, kept alive so their ids stay unique."""
    found, pending = {}, [(data, 0)]
    while pending:
        item, depth = pending.pop()
        kind = type(item)
        if kind is dict and depth <= MAX_NESTING:
            pending.extend((value, depth + 1) for value in item.values())
        elif kind is list and depth <= MAX_NESTING:
            pending.extend((value, depth + 1) for value in item)
        elif kind not in _SCALARS and kind not in (dict, list):
            found[id(item)] = item
    return found


def _check_value(name, value, kept):
    """Raise unless value can be stored in the case data."""
    pending, total = [(value, ())], 0
    while pending:
        item, path = pending.pop()
        kind = type(item)
        if kind is str:
            total += len(item)
        elif kind is float:
            if not math.isfinite(item):
                raise SandboxRuntimeError(f"variable {_where(name, path)} holds a number that is not finite "
                                          f"(NaN or infinity)")
            total += 8
        elif kind in _SCALARS:
            total += 8
        elif kind is list or kind is dict:
            if len(path) >= MAX_NESTING:
                raise SandboxTooLarge(f"variable {_where(name, path)} is nested more than {MAX_NESTING} levels deep")
            total += len(item) + _CONTAINER_COST
            if kind is list:
                flat = _flat_size(item, _JSON_SMALL_SCALARS)   # floats go one by one: NaN is refused
                if flat is None:
                    pending.extend((element, path + (index,)) for index, element in enumerate(item))
                else:
                    total += flat
            elif set(map(type, item)) <= _JUST_STR and (
                    flat := _flat_size(item.values(), _JSON_SMALL_SCALARS)) is not None:
                total += flat + sum(map(len, item))
            else:
                for key, element in item.items():
                    if type(key) is not str:
                        raise SandboxRuntimeError(f"variable {_where(name, path)} has the dict key "
                                                  f"{_short_repr(key)}, which is not a text")
                    total += len(key)
                    pending.append((element, path + (key,)))
        elif id(item) not in kept:
            raise SandboxRuntimeError(f"variable {_where(name, path)} holds {_describe(item)}, which cannot be stored "
                                      f"in case data; use text, numbers, true/false, None, lists or dicts")
        if total > MAX_VALUE_SIZE:
            raise SandboxTooLarge(f"variable '{name}' is too large to store (more than {MAX_VALUE_SIZE:,} characters)")


_JSON_SMALL_SCALARS = frozenset({bool, type(None)})


def _where(name, path):
    return "'" + name + "".join(f"[{_short_repr(key)}]" for key in path) + "'"
