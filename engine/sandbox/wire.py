"""The sandbox pipe: length-prefixed JSON frames carrying plain data, read the same way on both ends.

Plain data is None, bool, int, float, str, list, tuple, dict, set, frozenset, date, datetime,
time, timedelta and Decimal. JSON carries the first few as they are; the others, and dicts
whose keys are not all texts, travel as a dict tagged with the key TAG. Decoding builds only
those types, so whatever a sandbox process sends, the server gets plain data or an error.
"""
from __future__ import annotations

import datetime
import decimal
import json
import struct
import threading

TAG = "\x00"
_HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 2**20          # what the server accepts from a sandbox process in one answer


class WireError(Exception):
    """A frame or value that is not what the protocol allows."""


class Opaque:
    """Stands in, inside a sandbox process, for a value of the case data that is not plain data.

    The server keeps the real object; the sandbox can pass the stand-in around but not use it.
    """

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key


def frame(message) -> bytes:
    """The bytes that carry message (a dict of plain data)."""
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":"), check_circular=False).encode()
    return _HEADER.pack(len(body)) + body


def body_length(header: bytes) -> int:
    (length,) = _HEADER.unpack(header)
    if length > MAX_FRAME:
        raise WireError(f"a frame of {length:,} bytes is larger than {MAX_FRAME:,}")
    return length


HEADER_SIZE = _HEADER.size


def parse(body: bytes, opaque: dict | None = None):
    """The message in body; `opaque` maps stand-in keys back to the server's objects."""
    _parsing.opaque = opaque
    try:
        return _decoder.decode(body.decode())
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as error:
        raise WireError(f"unreadable frame: {type(error).__name__}") from None
    finally:
        _parsing.opaque = None


def _untag(item):
    if TAG not in item:
        return item
    opaque = _parsing.opaque
    kind = item[TAG]
    if kind == "dict":
        return {_hashable(key): value for key, value in item["items"]}
    if kind == "tuple":
        return tuple(item["items"])
    if kind == "set":
        return set(map(_hashable, item["items"]))
    if kind == "frozenset":
        return frozenset(map(_hashable, item["items"]))
    if kind == "datetime":
        return datetime.datetime.fromisoformat(item["iso"])
    if kind == "date":
        return datetime.date.fromisoformat(item["iso"])
    if kind == "time":
        return datetime.time.fromisoformat(item["iso"])
    if kind == "timedelta":
        return datetime.timedelta(days=item["days"], seconds=item["seconds"], microseconds=item["microseconds"])
    if kind == "decimal":
        if not isinstance(item["text"], str) or len(item["text"]) > 1000:
            raise WireError("a decimal number must be a short text")
        return decimal.Decimal(item["text"])
    if kind == "opaque":
        if opaque is None:
            return Opaque(item["key"])
        try:
            return opaque[item["key"]]
        except (KeyError, TypeError):
            raise WireError("a stand-in for a value the server does not know") from None
    raise WireError(f"unknown tag {str(kind)[:40]!r}")


_parsing = threading.local()
_decoder = json.JSONDecoder(object_hook=_untag)


def _hashable(key):
    if isinstance(key, (list, dict, set)):
        raise WireError("an unhashable dict key or set item")
    return key


def encode(value, opaque: dict | None = None, max_depth: int = 200):
    """value as JSON-ready data; values that are not plain data raise TypeError.

    With `opaque` (a dict, filled in here), values that are not plain data are replaced by
    stand-ins instead (the server does this for case data it cannot send).
    """
    return _encode(value, opaque, max_depth)


def _encode(value, opaque, depth):
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if depth <= 0:
        raise ValueError("the value is nested too deeply")
    if kind is list:
        return [_encode(item, opaque, depth - 1) for item in value]
    if kind is dict:
        if TAG not in value and all(type(key) is str for key in value):
            return {key: _encode(item, opaque, depth - 1) for key, item in value.items()}
        return {TAG: "dict", "items": [[_encode(key, opaque, depth - 1), _encode(item, opaque, depth - 1)]
                                       for key, item in value.items()]}
    if kind is tuple:
        return {TAG: "tuple", "items": [_encode(item, opaque, depth - 1) for item in value]}
    if kind is set or kind is frozenset:
        return {TAG: kind.__name__, "items": [_encode(item, opaque, depth - 1) for item in value]}
    if kind is datetime.datetime:
        return {TAG: "datetime", "iso": value.isoformat()}
    if kind is datetime.date:
        return {TAG: "date", "iso": value.isoformat()}
    if kind is datetime.time:
        return {TAG: "time", "iso": value.isoformat()}
    if kind is datetime.timedelta:
        return {TAG: "timedelta", "days": value.days, "seconds": value.seconds, "microseconds": value.microseconds}
    if kind is decimal.Decimal:
        return {TAG: "decimal", "text": str(value)}
    if kind is Opaque:
        return {TAG: "opaque", "key": value.key}
    base = _plain_base(value)
    if base is not None:      # a subclass of a plain type (the engine's clock makes datetime subclasses)
        return _encode(_as_base(value, base), opaque, depth)
    if opaque is not None:
        key = len(opaque)
        opaque[key] = value
        return {TAG: "opaque", "key": key}
    raise TypeError(f"a {kind.__name__} value")


_PLAIN_BASES = (str, int, float, datetime.datetime, datetime.date, datetime.time, datetime.timedelta,
                decimal.Decimal)


def _plain_base(value):
    return next((base for base in _PLAIN_BASES if isinstance(value, base)), None)


def _as_base(value, base):
    """The same value as an instance of the plain type itself."""
    if base is str:
        return str.__str__(value)    # str() would call a subclass's __str__ (an Enum's gives its name)
    if base is int:
        return int.__index__(value)
    if base is float:
        return float.__float__(value)
    if base is datetime.datetime:
        return datetime.datetime.fromisoformat(value.isoformat())
    if base is datetime.date:
        return datetime.date.fromordinal(value.toordinal())
    if base is datetime.time:
        return datetime.time.fromisoformat(value.isoformat())
    if base is datetime.timedelta:
        return datetime.timedelta(days=value.days, seconds=value.seconds, microseconds=value.microseconds)
    return decimal.Decimal(str(value))
