"""Guards for the operators that can build huge numbers, texts or lists in one C call."""
from __future__ import annotations

import math
import re

from engine.sandbox.errors import SandboxRefused, _Stop, _too_large
from engine.sandbox.limits import MAX_INT_BITS, MAX_STRING_LENGTH
from engine.sandbox.sizes import _check_length, _size


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
    if modulus is not None and any(isinstance(number, int) and number.bit_length() > MAX_INT_BITS
                                   for number in (base, exponent, modulus)):
        raise _too_large(f"pow() with a modulus takes numbers of at most {MAX_INT_BITS:,} bits")
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
