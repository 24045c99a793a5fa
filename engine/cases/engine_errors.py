"""Readable text for what SpiffWorkflow raises: its own context kept, never an object's address.

SpiffWorkflow adds context as notes (a decision table's "Failed to execute DMN Rule on row 2",
"Rule failed on row 2", "Did you mean 'note'?") that `exc.args[0]` does not hold, and in places
raises `WorkflowException(spec, message)` with its arguments swapped, so the message lands in
`exc.task_spec` and the text is the spec's `<… object at 0x…>`.
"""
from __future__ import annotations

import re

_ADDRESS = re.compile(r"<(?:[\w.]+\.)?(\w+) object at 0x[0-9a-fA-F]+>")
# lxml's repr of an element: <Element {namespace}tag at 0x…>
_ELEMENT = re.compile(r"<Element (?:\{[^}]*\})?([\w.-]+) at 0x[0-9a-fA-F]+>")


def without_addresses(text: str) -> str:
    """`text` with every `<… object at 0x…>` and lxml `<Element … at 0x…>` replaced by what it names."""
    text = _ADDRESS.sub(lambda match: f"a {match.group(1)}", text)
    return _ELEMENT.sub(lambda match: f"<{match.group(1)}>", text)


def engine_error_text(exc: BaseException) -> str:
    """The message of an engine exception with SpiffWorkflow's notes and the error underneath, without addresses."""
    message = str(exc.args[0]) if exc.args else ""
    swapped = getattr(exc, "task_spec", None)
    if isinstance(swapped, str) and _ADDRESS.fullmatch(message.strip()):
        message = f"{swapped.strip()} (in a {_ADDRESS.fullmatch(message.strip()).group(1)})"
    text = without_addresses(message).strip()
    for note in getattr(exc, "notes", None) or getattr(exc, "__notes__", None) or []:
        note = without_addresses(str(note)).strip()
        if note and note not in text:
            text = f"{text.rstrip('.')}; {note.rstrip('.')}" if text else note
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        detail = without_addresses(str(cause)).strip()
        if detail and detail not in text:
            text = f"{text.rstrip('.')}: {detail}" if text else detail
    # A decision table's `?` is renamed for evaluation; show it as written.
    return (text or type(exc).__name__).replace("dmninputexpr", "?")
