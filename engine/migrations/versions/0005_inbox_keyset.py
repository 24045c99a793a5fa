"""Inbox indexes for keyset pages: each list is read in its own order from an index made for it.

The queue from partial indexes of open, unclaimed tasks by role in (due_sort, id) order (the
escalated ones apart); mine from claimed tasks only; done with the id for ties. The /metrics
index on open tasks by role orders by due_at, so it no longer competes with the queue's.

Revision ID: 0005_inbox_keyset
Revises: 0004_metrics_counts
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_inbox_keyset"
down_revision = "0004_metrics_counts"
branch_labels = None
depends_on = None

OPEN_QUEUE = sa.text("status = 'open' AND assignee IS NULL AND escalated_from IS NULL")
ESCALATED_QUEUE = sa.text("status = 'open' AND assignee IS NULL AND escalated_from IS NOT NULL")
CLAIMED = sa.text("assignee IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_tasks_queue", table_name="tasks")
    op.drop_index("ix_tasks_assignee", table_name="tasks")
    op.drop_index("ix_tasks_completed_by", table_name="tasks")
    op.drop_index("ix_tasks_status_role", table_name="tasks")
    op.create_index("ix_tasks_queue_due", "tasks", ["role", "due_sort", "id"],
                    postgresql_where=OPEN_QUEUE, sqlite_where=OPEN_QUEUE)
    op.create_index("ix_tasks_queue_escalated", "tasks", ["role", "due_sort", "id"],
                    postgresql_where=ESCALATED_QUEUE, sqlite_where=ESCALATED_QUEUE)
    op.create_index("ix_tasks_claimed", "tasks", ["assignee", "status", "due_sort", "id"],
                    postgresql_where=CLAIMED, sqlite_where=CLAIMED)
    op.create_index("ix_tasks_done", "tasks", ["completed_by", "status", "completed_at", "id"])
    op.create_index("ix_tasks_status_role", "tasks", ["status", "role", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_tasks_status_role", table_name="tasks")
    op.drop_index("ix_tasks_done", table_name="tasks")
    op.drop_index("ix_tasks_claimed", table_name="tasks")
    op.drop_index("ix_tasks_queue_escalated", table_name="tasks")
    op.drop_index("ix_tasks_queue_due", table_name="tasks")
    op.create_index("ix_tasks_status_role", "tasks", ["status", "role", "due_sort"])
    op.create_index("ix_tasks_completed_by", "tasks", ["completed_by", "status", "completed_at"])
    op.create_index("ix_tasks_assignee", "tasks", ["assignee", "status", "due_sort", "id"])
    op.create_index("ix_tasks_queue", "tasks", ["role", "status", "assignee", "due_sort", "id"])
