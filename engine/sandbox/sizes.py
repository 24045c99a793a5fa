"""Measure values before a C-level call walks them, and refuse those that are too large."""
from __future__ import annotations

import sys
import types

from engine.sandbox.errors import _too_large, pending_stop
from engine.sandbox.limits import MAX_INT_BITS, MAX_ITEMS, MAX_STRING_LENGTH


_SCALARS = frozenset({str, int, float, bool, type(None)})
_DICT_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
_COLLECTIONS = (list, tuple, set, frozenset, *_DICT_VIEWS)


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
    """Runs first in every except and finally body: a stopped run may not carry on from there."""
    if sys.gettrace() is None:   # CPython switched the limits off: stop rather than run unlimited
        raise _too_large("the calculation hit a resource limit (memory or recursion)")
    stop = pending_stop()
    if stop is not None:
        raise stop
