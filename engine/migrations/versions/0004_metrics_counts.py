"""Indexes for /metrics: cases by plan version and status, incidents, open tasks by role (with their deadline).

Revision ID: 0004_metrics_counts
Revises: 0003_timer_lease
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_metrics_counts"
down_revision = "0003_timer_lease"
branch_labels = None
depends_on = None

INCIDENT = sa.text("incident IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_cases_plan_status", "cases", ["plan_version_id", "status"])
    op.create_index("ix_cases_incidents", "cases", ["status"], postgresql_where=INCIDENT, sqlite_where=INCIDENT)
    op.create_index("ix_tasks_status_role", "tasks", ["status", "role", "due_sort"])


def downgrade() -> None:
    op.drop_index("ix_tasks_status_role", table_name="tasks")
    op.drop_index("ix_cases_incidents", table_name="cases")
    op.drop_index("ix_cases_plan_status", table_name="cases")
