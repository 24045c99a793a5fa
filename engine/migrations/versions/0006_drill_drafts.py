"""Drills of plan drafts: drill-only plan versions, and the draft revision a drill runs.

Revision ID: 0006_drill_drafts
Revises: 0005_inbox_keyset
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_drill_drafts"
down_revision = "0005_inbox_keyset"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan_versions") as batch:
        batch.add_column(sa.Column("drill_only", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    with op.batch_alter_table("drills") as batch:
        batch.add_column(sa.Column("draft_revision", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drills") as batch:
        batch.drop_column("draft_revision")
    with op.batch_alter_table("plan_versions") as batch:
        batch.drop_column("drill_only")
