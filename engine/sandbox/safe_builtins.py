"""The builtins sandboxed code may call, wrapped so that each stays within the limits."""
from __future__ import annotations

import builtins
import datetime
import functools

from engine.sandbox.errors import SandboxRefused, _Stop, _too_large
from engine.sandbox.limits import MAX_INT_BITS, MAX_ITEMS, MAX_STRING_LENGTH
from engine.sandbox.operators import _pow
from engine.sandbox.sizes import _check_length, _check_tuple, _printable, _size


_NO_DEFAULT = object()


def _map(function, iterable, *iterables):
    """map() as a generator of this package, so each item is a trace event.

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
    """filter() as a generator of this package, for the same reason as _map."""
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
    number = int(*args, **kwargs)
    if number.bit_length() > MAX_INT_BITS:   # `int('f' * 5000, 16)` has 20,000 bits
        raise _too_large(f"the number would be above {MAX_INT_BITS:,} bits")
    return number


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
# `site` adds help, exit, ... to builtins; a sandbox process runs without it and must refuse them all the same.
_UNAVAILABLE = frozenset(name for name in dir(builtins) if not name.startswith("_")).union(
    {"help", "exit", "quit", "copyright", "credits", "license"}) - set(SAFE_BUILTINS)
