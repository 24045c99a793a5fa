"""Timer lease: who claimed a waiting timer and until when; the due-timer index covers waiting rows only.

Revision ID: 0003_timer_lease
Revises: 0002_drills
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_timer_lease"
down_revision = "0002_drills"
branch_labels = None
depends_on = None

WAITING = sa.text("status = 'waiting'")


def upgrade() -> None:
    with op.batch_alter_table("timers") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
    op.drop_index("ix_timers_due", table_name="timers")
    op.create_index("ix_timers_waiting", "timers", ["fire_at"], postgresql_where=WAITING, sqlite_where=WAITING)


def downgrade() -> None:
    op.drop_index("ix_timers_waiting", table_name="timers")
    op.create_index("ix_timers_due", "timers", ["status", "fire_at"])
    with op.batch_alter_table("timers") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
