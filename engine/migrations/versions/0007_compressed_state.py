"""Cases store their workflow state compressed: JSON → one format byte (0x01) + zlib-compressed JSON.

Every row is converted, a batch at a time, into a new column that then takes the old one's
place (on SQLite by one rebuild of `cases`; the migration runner keeps foreign keys off while
it runs, so the rebuild cannot cascade into tasks and timers). The downgrade turns the bytes
back into JSON the same way, and refuses, changing nothing, if a row cannot be read.

The codec is copied here, not imported: a revision is frozen history, and format 0x01 must
stay what it was when this was written whatever engine/cases/state_codec.py becomes.

Revision ID: 0007_compressed_state
Revises: 0006_drill_drafts
Create Date: 2026-11-26
"""
from __future__ import annotations

import json
import zlib

import sqlalchemy as sa
from alembic import op

revision = "0007_compressed_state"
down_revision = "0006_drill_drafts"
branch_labels = None
depends_on = None

ZLIB_JSON = 0x01
LEVEL = 3
BATCH = 200   # rows read and written at a time: a few MB of state, however large the table


def _packed(state) -> bytes:
    text = json.dumps(state, separators=(",", ":"), ensure_ascii=False)
    return bytes([ZLIB_JSON]) + zlib.compress(text.encode("utf-8"), LEVEL)


def _unpacked(blob, number: str):
    blob = bytes(blob)
    if not blob or blob[0] != ZLIB_JSON:
        raise RuntimeError(f"case {number}: its stored workflow state does not start with format byte 0x01 "
                           "(zlib-compressed JSON); nothing was downgraded")
    try:
        return json.loads(zlib.decompress(blob[1:]).decode("utf-8"))
    except (zlib.error, ValueError) as exc:
        raise RuntimeError(f"case {number}: its stored workflow state is corrupt ({exc}); nothing was downgraded") \
            from None


def _convert(source: sa.Column, target: sa.Column, convert) -> None:
    """Fill `target` from `source` for every case, BATCH rows at a time in id order."""
    cases = sa.table("cases", sa.column("id", sa.Integer()), sa.column("number", sa.String()), source, target)
    connection = op.get_bind()
    after = 0
    while True:
        rows = connection.execute(sa.select(cases.c.id, cases.c.number, cases.c[source.name])
                                  .where(cases.c.id > after).order_by(cases.c.id).limit(BATCH)).all()
        if not rows:
            return
        connection.execute(cases.update().where(cases.c.id == sa.bindparam("case_id"))
                           .values({target.name: sa.bindparam("value")}),
                           [{"case_id": id_, "value": convert(value, number)} for id_, number, value in rows])
        after = rows[-1].id


def _swap(old: str, new: str, new_type) -> None:
    """Drop column `old` of cases and give `new` its name, NOT NULL."""
    with op.batch_alter_table("cases") as batch:
        batch.drop_column(old)
        batch.alter_column(new, new_column_name=old, existing_type=new_type, nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("workflow_state_packed", sa.LargeBinary(), nullable=True))
    _convert(sa.column("workflow_state", sa.JSON()), sa.column("workflow_state_packed", sa.LargeBinary()),
             lambda state, _number: _packed(state))
    _swap("workflow_state", "workflow_state_packed", sa.LargeBinary())


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("workflow_state_json", sa.JSON(), nullable=True))
    _convert(sa.column("workflow_state", sa.LargeBinary()), sa.column("workflow_state_json", sa.JSON()), _unpacked)
    _swap("workflow_state", "workflow_state_json", sa.JSON())
