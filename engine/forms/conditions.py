"""The small part of FEEL that form-js `conditional.hide` rules use, evaluated on the server.

A form field written `"conditional": {"hide": "=malicious != \"yes\""}` is hidden in the
browser while the expression is true; a hidden field is neither required nor submitted.
The server must reach the same verdict, so it reads the same expression: comparisons
(`=`, `!=`, `<`, `<=`, `>`, `>=`) of field keys with text, number and boolean literals,
joined by `and`, `or`, `not(…)` and parentheses. Anything else is refused when the form is
checked, never guessed at.
"""
from __future__ import annotations

import re

from engine.errors import N_

_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)'
                    r'|(?P<op>!=|<=|>=|=|<|>|\(|\))|(?P<name>[A-Za-z_][A-Za-z0-9_]*))')
_COMPARE = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b,
            "<": lambda a, b: _ordered(a, b) and a < b, "<=": lambda a, b: _ordered(a, b) and a <= b,
            ">": lambda a, b: _ordered(a, b) and a > b, ">=": lambda a, b: _ordered(a, b) and a >= b}
_LITERALS = {"true": True, "false": False, "null": None}


class ConditionError(ValueError):
    """A `conditional.hide` expression outside the supported FEEL subset."""


def _ordered(a, b) -> bool:
    numbers = (int, float)
    return isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool)


def _tokens(expression: str) -> list[tuple[str, str]]:
    text = expression.strip()
    if text.startswith("="):
        text = text[1:]
    found, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise ConditionError(f"cannot read {text[position:]!r} in the condition {expression!r}")
        kind = match.lastgroup
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


class _Parser:
    """Recursive descent over: or-expr := and-expr ('or' and-expr)*; and-expr := unary ('and' unary)*."""

    def __init__(self, expression: str, data: dict):
        self.expression, self.data = expression, data
        self.tokens, self.at = _tokens(expression), 0

    def parse(self):
        value = self._or()
        if self.at != len(self.tokens):
            raise ConditionError(f"unexpected {self.tokens[self.at][1]!r} in the condition {self.expression!r}")
        return value

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise ConditionError(f"the condition {self.expression!r} ends too early")
        self.at += 1
        return token

    def _or(self):
        value = self._and()
        while self._peek() == ("name", "or"):
            self._take()
            right = self._and()
            value = bool(value) or bool(right)
        return value

    def _and(self):
        value = self._comparison()
        while self._peek() == ("name", "and"):
            self._take()
            right = self._comparison()
            value = bool(value) and bool(right)
        return value

    def _comparison(self):
        left = self._operand()
        token = self._peek()
        if token and token[0] == "op" and token[1] in _COMPARE:
            self._take()
            return _COMPARE[token[1]](left, self._operand())
        return left

    def _operand(self):
        kind, text = self._take()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return float(text) if "." in text else int(text)
        if (kind, text) == ("op", "("):
            value = self._or()
            self._expect(")")
            return value
        if kind == "name" and text == "not":
            self._expect("(")
            value = not self._or()
            self._expect(")")
            return value
        if kind == "name" and text in _LITERALS:
            return _LITERALS[text]
        if kind == "name" and text not in ("and", "or"):
            return self.data.get(text)
        raise ConditionError(f"unexpected {text!r} in the condition {self.expression!r}")

    def _expect(self, op: str) -> None:
        if self._take() != ("op", op):
            raise ConditionError(f"expected {op!r} in the condition {self.expression!r}")


def evaluate(expression: str, data: dict) -> bool:
    """The truth of a form-js condition over the submitted values (a missing key is null)."""
    return bool(_Parser(expression, data).parse())


def is_hidden(component: dict, data: dict) -> bool:
    """True when the component's `conditional.hide` holds for these values."""
    rule = (component.get("conditional") or {}).get("hide")
    return bool(rule) and evaluate(rule, data)


def problem(component: dict) -> str | None:
    """Why the component's condition cannot be evaluated here, or None."""
    found = finding(component)
    return found[1] % found[2] if found else None


def finding(component: dict) -> tuple[str, str, dict] | None:
    """Why the component's condition cannot be evaluated here as (code, English template, params), or None."""
    rule = (component.get("conditional") or {}).get("hide")
    if not rule:
        return None
    key = component.get("key", "?")
    if not isinstance(rule, str):
        return ("form.condition_not_text", N_("field '%(key)s': conditional.hide must be a FEEL expression text"),
                {"key": key})
    try:
        evaluate(rule, {})
    except ConditionError as exc:
        return "form.condition_invalid", N_("field '%(key)s': %(error)s"), {"key": key, "error": str(exc)}
    return None
