"""Guards for f-strings, str.format and the text methods whose output can grow without bound."""
from __future__ import annotations

import re
import string

import _string

from engine.sandbox.errors import SandboxRefused, _Stop, _too_large
from engine.sandbox.limits import MAX_STRING_LENGTH
from engine.sandbox.operators import _spec_number
from engine.sandbox.sizes import _printable


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
