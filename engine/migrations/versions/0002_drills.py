"""Drills: the drill, its injects, observations and improvement actions, plan drill intervals; cases.drill_id.

Revision ID: 0002_drills
Revises: 0001_baseline
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_drills"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'drills',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_version_id', sa.Integer(), nullable=False),
        sa.Column('plan_key', sa.String(length=100), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('status', sa.Enum('running', 'paused', 'ended', name='drillstatus', native_enum=False,
                                    length=20), nullable=False),
        sa.Column('scale', sa.String(length=60), nullable=True),
        sa.Column('rate', sa.Float(), nullable=False),
        sa.Column('sim_anchor', sa.DateTime(), nullable=False),
        sa.Column('real_anchor', sa.DateTime(), nullable=False),
        sa.Column('scenario', sa.JSON(), nullable=False),
        sa.Column('participants', sa.JSON(), nullable=False),
        sa.Column('started_by', sa.String(length=80), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('sim_started_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('sim_ended_at', sa.DateTime(), nullable=True),
        sa.Column('report', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['plan_version_id'], ['plan_versions.id']),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_drills_plan_key', 'drills', ['plan_key'])
    op.create_index('ix_drills_plan_version_id', 'drills', ['plan_version_id'])
    op.create_table(
        'drill_injects',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('drill_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('sim_at', sa.DateTime(), nullable=False),
        sa.Column('fire_at', sa.DateTime(), nullable=False),
        sa.Column('message', sa.String(length=200), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['drill_id'], ['drills.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_drill_injects_drill_id', 'drill_injects', ['drill_id'])
    op.create_index('ix_drill_injects_due', 'drill_injects', ['status', 'fire_at'])
    op.create_table(
        'drill_observations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('drill_id', sa.Integer(), nullable=False),
        sa.Column('author', sa.String(length=80), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('real_at', sa.DateTime(), nullable=False),
        sa.Column('sim_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['drill_id'], ['drills.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_drill_observations_drill_id', 'drill_observations', ['drill_id'])
    op.create_table(
        'drill_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('drill_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.Text(), nullable=False),
        sa.Column('owner', sa.String(length=80), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('draft_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.Column('done_note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['drill_id'], ['drills.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_drill_actions_drill_id', 'drill_actions', ['drill_id'])
    op.create_index('ix_drill_actions_owner', 'drill_actions', ['owner', 'done_at'])
    op.create_table(
        'plan_drill_schedules',
        sa.Column('plan_key', sa.String(length=100), nullable=False),
        sa.Column('interval_months', sa.Integer(), nullable=False),
        sa.Column('set_by', sa.String(length=80), nullable=False),
        sa.Column('set_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('plan_key')
    )
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('drill_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_cases_drill_id_drills', 'drills', ['drill_id'], ['id'])
        batch.create_index('ix_cases_drill_id', ['drill_id'])


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.drop_index('ix_cases_drill_id')
        batch.drop_constraint('fk_cases_drill_id_drills', type_='foreignkey')
        batch.drop_column('drill_id')
    op.drop_table('plan_drill_schedules')
    op.drop_index('ix_drill_actions_owner', table_name='drill_actions')
    op.drop_index('ix_drill_actions_drill_id', table_name='drill_actions')
    op.drop_table('drill_actions')
    op.drop_index('ix_drill_observations_drill_id', table_name='drill_observations')
    op.drop_table('drill_observations')
    op.drop_index('ix_drill_injects_due', table_name='drill_injects')
    op.drop_index('ix_drill_injects_drill_id', table_name='drill_injects')
    op.drop_table('drill_injects')
    op.drop_index('ix_drills_plan_version_id', table_name='drills')
    op.drop_index('ix_drills_plan_key', table_name='drills')
    op.drop_table('drills')
