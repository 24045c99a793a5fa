"""Registration keys: a client's key for one registration and the case it made, so a repeated request
registers nothing and answers with that case (the API's Idempotency-Key, the form's one-time key).

Only adds a table: safe to run while the web processes and workers run.

Revision ID: 0008_registration_keys
Revises: 0007_compressed_state
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_registration_keys"
down_revision = "0007_compressed_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registration_keys",
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("username", "key"),
    )
    op.create_index("ix_registration_keys_case_id", "registration_keys", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_registration_keys_case_id", table_name="registration_keys")
    op.drop_table("registration_keys")
