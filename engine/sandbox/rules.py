"""What sandboxed code may use: the syntax, names and attributes it is refused or allowed."""
from __future__ import annotations

import ast
import datetime
import functools

from engine.sandbox.errors import SandboxRefused, SandboxRuntimeError, _Stop
from engine.sandbox.formatting import (
    _str_expandtabs,
    _str_format,
    _str_format_map,
    _str_join,
    _str_pad,
    _str_replace,
    _strftime,
)
from engine.sandbox.limits import MAX_INT_BITS
from engine.sandbox.safe_builtins import (
    _UNAVAILABLE,
    _dict_update,
    _hashing,
    _list_extend,
    _list_sort,
    _searching,
)
from engine.sandbox.sizes import _check_tuple
from engine.sandbox.values import _describe


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


# --- attributes, by type ------------------------------------------------------------


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
