"""Describe values in messages, and check the values that leave the sandbox."""
from __future__ import annotations

import math
import types

from engine.sandbox.errors import SandboxRuntimeError, SandboxTooLarge, _Stop
from engine.sandbox.limits import MAX_NESTING, MAX_STRING_LENGTH, MAX_VALUE_SIZE
from engine.sandbox.sizes import _COLLECTIONS, _CONTAINER_COST, _JUST_STR, _SCALARS, _flat_size, _size


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


def _short_repr(value):
    try:
        _size(value, 1000)
        text = repr(value)
    except _Stop:
        text = f"<{_describe(value)}>"
    return text if len(text) <= 60 else text[:60] + "…"


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
