"""The opaque cursor of a list page: where the page ends, so the next one starts right after it.

A cursor names a row's place in the list's order (section, sort time, id) and the direction to
go from there, not a page number: rows added or completed between two pages move no other
row, so a walk never repeats a row or skips one that stayed. It is URL-safe text that only
means something to the list that gave it out; anything else is refused as a BadCursor.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from engine.errors import PlanFlowError

FORMAT = 1
MAX_LENGTH = 200
MAX_ID = 2**31 - 1   # ids are 32-bit integers on PostgreSQL


class BadCursor(PlanFlowError):
    """A cursor that this list did not give out (mistyped, cut short, or from another list)."""

    code = "bad_cursor"


@dataclass(frozen=True)
class Cursor:
    which: str         # the list it belongs to: mine, queue or done
    section: int       # escalated tasks come before the others: the section of the row
    at: datetime       # the row's sort time (due time, or completion time for done)
    id: int            # the row's id, which breaks ties between equal times
    backward: bool     # a "previous page" cursor: the rows before this one

    def encode(self) -> str:
        raw = json.dumps([FORMAT, self.which, self.section, self.at.isoformat(), self.id, int(self.backward)],
                         separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(text: str, which: str, sections: int) -> Cursor:
    """The cursor `text` stands for, checked to belong to list `which` of `sections` sections; BadCursor otherwise."""
    problem = f"the cursor is not one the '{which}' list gave out; start again from its first page"
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        raise BadCursor(problem)
    try:
        fields = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode())
        version, listed, section, at, row_id, backward = fields
        at = datetime.fromisoformat(at)
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
        raise BadCursor(problem) from None
    whole = all(type(value) is int for value in (section, row_id, backward))
    if (version != FORMAT or listed != which or not whole or not 0 <= section < sections or not 0 < row_id <= MAX_ID
            or backward not in (0, 1) or at.tzinfo is None or at.utcoffset().total_seconds() != 0):
        raise BadCursor(problem)
    return Cursor(which, section, at.astimezone(timezone.utc), row_id, bool(backward))
