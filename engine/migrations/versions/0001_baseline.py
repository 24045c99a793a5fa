"""Baseline: the schema of the last release before migrations, table by table.

A database made by that release (tables present, no alembic_version) is brought to this
revision by engine.migrations.pre_alembic and then stamped; everything later is a revision
of its own. Date and time columns are plain DateTime here: the models' UTCDateTime stores
naive UTC in the same column type.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit_chain_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_seq', sa.Integer(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.Column('anchored_seq', sa.Integer(), nullable=False),
        sa.Column('trail', sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_table(
        'audit_events',
        sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('chain_seq', sa.Integer(), nullable=False),
        sa.Column('occurred_at', sa.DateTime(), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('case_number', sa.String(length=40), nullable=True),
        sa.Column('element_id', sa.String(length=200), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('salt', sa.String(length=32), nullable=True),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('key_id', sa.String(length=16), nullable=True),
        sa.Column('signature', sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint('seq'),
        sqlite_autoincrement=True
    )
    op.create_index('ix_audit_events_case_id', 'audit_events', ['case_id'])
    op.create_index('ix_audit_events_chain', 'audit_events', ['case_id', 'chain_seq'], unique=True)
    op.create_index('ix_audit_events_kind', 'audit_events', ['kind'])

    op.create_table(
        'calendar_complete_years',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('loaded_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('year')
    )
    op.create_table(
        'calendar_override_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('loaded_by', sa.String(length=80), nullable=False),
        sa.Column('loaded_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('day')
    )
    op.create_table(
        'case_number_counters',
        sa.Column('prefix', sa.String(length=10), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('prefix', 'year')
    )
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('failed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_login_failures_address', 'login_failures', ['address', 'failed_at'])
    op.create_index('ix_login_failures_username', 'login_failures', ['username', 'failed_at'])

    op.create_table(
        'notification_plan_settings',
        sa.Column('plan_key', sa.String(length=100), nullable=False),
        sa.Column('warn', sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint('plan_key')
    )
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=30), nullable=False),
        sa.Column('event_key', sa.String(length=80), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('recipient', sa.String(length=120), nullable=False),
        sa.Column('address', sa.String(length=500), nullable=True),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('urgent', sa.Boolean(), nullable=False),
        sa.Column('digest', sa.Boolean(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'sent', 'undeliverable', 'skipped', name='notificationstatus', native_enum=False, length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('read_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_notifications_case_id', 'notifications', ['case_id'])
    op.create_index('ix_notifications_due', 'notifications', ['status', 'next_attempt_at'])
    op.create_index('ix_notifications_event_key', 'notifications', ['event_key'])
    op.create_index('ix_notifications_inbox', 'notifications', ['recipient', 'channel', 'read_at', 'id'])

    op.create_table(
        'plan_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_key', sa.String(length=100), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('bpmn_xml', sa.Text(), nullable=False),
        sa.Column('base_version', sa.Integer(), nullable=False),
        sa.Column('saved_by', sa.String(length=80), nullable=False),
        sa.Column('saved_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('plan_key', 'revision')
    )
    op.create_index('ix_plan_drafts_plan_key', 'plan_drafts', ['plan_key'])

    op.create_table(
        'plan_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_key', sa.String(length=100), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('bpmn_xml', sa.Text(), nullable=False),
        sa.Column('assets', sa.JSON(), nullable=False),
        sa.Column('deployed_by', sa.String(length=80), nullable=False),
        sa.Column('deployed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('plan_key', 'version')
    )
    op.create_index('ix_plan_versions_hash', 'plan_versions', ['plan_key', 'content_hash'])

    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('display_name', sa.String(length=200), nullable=False),
        sa.Column('password_hash', sa.String(length=300), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('session_version', sa.Integer(), nullable=False),
        sa.Column('failed_logins', sa.Integer(), nullable=False),
        sa.Column('locked_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username')
    )
    op.create_table(
        'webhooks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=False),
        sa.Column('style', sa.String(length=20), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name')
    )
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['username'], ['users.username'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash')
    )
    op.create_index('ix_api_tokens_username', 'api_tokens', ['username'])

    op.create_table(
        'cases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('plan_version_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('running', 'completed', name='casestatus', native_enum=False, length=20), nullable=False),
        sa.Column('started_by', sa.String(length=80), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('completed_at', sa.DateTime(), nullable=True),
        sa.Column('workflow_state', sa.JSON(), nullable=False),
        sa.Column('serializer_version', sa.String(length=20), nullable=False),
        sa.Column('library_version', sa.String(length=20), nullable=False),
        sa.Column('incident', sa.Text(), nullable=True),
        sa.Column('grade', sa.String(length=40), nullable=True),
        sa.Column('category', sa.String(length=40), nullable=True),
        sa.Column('complainant', sa.String(length=200), nullable=True),
        sa.Column('contact', sa.String(length=200), nullable=True),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['plan_version_id'], ['plan_versions.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number')
    )
    op.create_index('ix_cases_grade', 'cases', ['grade'])
    op.create_index('ix_cases_plan_version_id', 'cases', ['plan_version_id'])
    op.create_index('ix_cases_started_at', 'cases', ['started_at'])
    op.create_index('ix_cases_status', 'cases', ['status'])

    op.create_table(
        'notification_preferences',
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('muted_events', sa.JSON(), nullable=False),
        sa.Column('channels', sa.JSON(), nullable=False),
        sa.Column('quiet_from', sa.String(length=5), nullable=True),
        sa.Column('quiet_until', sa.String(length=5), nullable=True),
        sa.Column('daily_digest', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['username'], ['users.username'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('username')
    )
    op.create_table(
        'user_roles',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'role')
    )
    op.create_table(
        'attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('field_key', sa.String(length=100), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('added_by', sa.String(length=80), nullable=False),
        sa.Column('added_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_attachments_case_id', 'attachments', ['case_id'])
    op.create_index('ix_attachments_sha256', 'attachments', ['sha256'])

    op.create_table(
        'message_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('spiff_task_id', sa.String(length=36), nullable=False),
        sa.Column('element_id', sa.String(length=200), nullable=False),
        sa.Column('message_name', sa.String(length=200), nullable=False),
        sa.Column('correlation', sa.JSON(), nullable=False),
        sa.Column('status', sa.Enum('waiting', 'delivered', 'cancelled', name='subscriptionstatus', native_enum=False, length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.Column('delivered_by', sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'spiff_task_id', 'message_name')
    )
    op.create_index('ix_message_subscriptions_case_id', 'message_subscriptions', ['case_id'])
    op.create_index('ix_message_subscriptions_name', 'message_subscriptions', ['message_name', 'status'])

    op.create_table(
        'tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('spiff_task_id', sa.String(length=36), nullable=False),
        sa.Column('element_id', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('name_en', sa.String(length=300), nullable=True),
        sa.Column('role', sa.String(length=40), nullable=False),
        sa.Column('form_key', sa.String(length=100), nullable=True),
        sa.Column('status', sa.Enum('open', 'completed', 'cancelled', name='taskstatus', native_enum=False, length=20), nullable=False),
        sa.Column('assignee', sa.String(length=80), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=True),
        sa.Column('due_sort', sa.DateTime(), nullable=False),
        sa.Column('escalated_from', sa.String(length=200), nullable=True),
        sa.Column('due_provisional', sa.Boolean(), nullable=False),
        sa.Column('completed_by', sa.String(length=80), nullable=True),
        sa.Column('completed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'spiff_task_id')
    )
    op.create_index('ix_tasks_assignee', 'tasks', ['assignee', 'status', 'due_sort', 'id'])
    op.create_index('ix_tasks_case_id', 'tasks', ['case_id'])
    op.create_index('ix_tasks_completed_by', 'tasks', ['completed_by', 'status', 'completed_at'])
    op.create_index('ix_tasks_escalated', 'tasks', ['status', 'escalated_from'])
    op.create_index('ix_tasks_queue', 'tasks', ['role', 'status', 'assignee', 'due_sort', 'id'])

    op.create_table(
        'timers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('spiff_task_id', sa.String(length=36), nullable=False),
        sa.Column('element_id', sa.String(length=200), nullable=False),
        sa.Column('attached_to', sa.String(length=200), nullable=True),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('provisional_years', sa.JSON(), nullable=False),
        sa.Column('fire_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.Enum('waiting', 'fired', 'cancelled', name='timerstatus', native_enum=False, length=20), nullable=False),
        sa.Column('fired_at', sa.DateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'spiff_task_id')
    )
    op.create_index('ix_timers_case_id', 'timers', ['case_id'])
    op.create_index('ix_timers_due', 'timers', ['status', 'fire_at'])

    op.create_table(
        'deadline_warnings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('warn_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.Enum('waiting', 'sent', 'cancelled', name='deadlinewarningstatus', native_enum=False, length=20), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('task_id')
    )
    op.create_index('ix_deadline_warnings_case_id', 'deadline_warnings', ['case_id'])
    op.create_index('ix_deadline_warnings_due', 'deadline_warnings', ['status', 'warn_at'])

    op.create_table(
        'worker_heartbeats',
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen', sa.DateTime(), nullable=False),
        sa.Column('last_sweep_seconds', sa.Float(), nullable=False),
        sa.Column('sweeps', sa.Integer(), nullable=False),
        sa.Column('timers_fired', sa.Integer(), nullable=False),
        sa.Column('stats', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('name')
    )
    op.create_index('ix_worker_heartbeats_last_seen', 'worker_heartbeats', ['last_seen'])


def downgrade() -> None:
    """Drop every table of the baseline (and so every row): only for an empty or throw-away database."""
    op.drop_table('worker_heartbeats')
    op.drop_table('deadline_warnings')
    op.drop_table('timers')
    op.drop_table('tasks')
    op.drop_table('message_subscriptions')
    op.drop_table('attachments')
    op.drop_table('user_roles')
    op.drop_table('notification_preferences')
    op.drop_table('cases')
    op.drop_table('api_tokens')
    op.drop_table('webhooks')
    op.drop_table('users')
    op.drop_table('plan_versions')
    op.drop_table('plan_drafts')
    op.drop_table('notifications')
    op.drop_table('notification_plan_settings')
    op.drop_table('login_failures')
    op.drop_table('case_number_counters')
    op.drop_table('calendar_override_days')
    op.drop_table('calendar_complete_years')
    op.drop_table('audit_events')
    op.drop_table('audit_chain_head')
