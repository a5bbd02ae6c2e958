"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 15:41:03.869938
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('USER', 'ADMIN', name='role', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tokens_valid_after', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('audit_events',
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.Enum('SUCCESS', 'FAILURE', name='auditoutcome', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_user_id_created_at'), ['user_id', 'created_at'], unique=False)

    op.create_table('cloud_credentials',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.Enum('AWS', 'AZURE', 'GCP', name='provider', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('default_region', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('health_status', sa.Enum('HEALTHY', 'DEGRADED', 'ERROR', 'UNKNOWN', name='healthstatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('health_response_ms', sa.Integer(), nullable=True),
    sa.Column('health_checked_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('health_error', sa.String(length=500), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cloud_credentials_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cloud_credentials')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_cloud_credentials_user_id_name'))
    )
    with op.batch_alter_table('cloud_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cloud_credentials_key_id'), ['key_id'], unique=False)

    op.create_table('refresh_tokens',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_refresh_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_refresh_tokens_token_hash'))
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refresh_tokens_user_id_family_id'), ['user_id', 'family_id'], unique=False)

    op.create_table('resources',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.Enum('AWS', 'AZURE', 'GCP', name='provider', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('account', sa.String(length=128), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('category', sa.Enum('VM', 'STORAGE', 'NETWORK', 'DATABASE', 'FUNCTION', 'OTHER', name='resourcetype', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('native_type', sa.String(length=128), nullable=False),
    sa.Column('resource_id', sa.String(length=512), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('status', sa.Enum('RUNNING', 'STOPPED', 'PENDING', 'TERMINATED', 'ACTIVE', 'UNKNOWN', name='resourcestatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('cost_per_hour', sa.Float(), nullable=True),
    sa.Column('first_seen_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_synced_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['cloud_credentials.id'], name=op.f('fk_resources_credential_id_cloud_credentials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_resources_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources')),
    sa.UniqueConstraint('credential_id', 'resource_id', name=op.f('uq_resources_credential_id_resource_id'))
    )
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resources_credential_id_region_native_type'), ['credential_id', 'region', 'native_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_user_id_category_status'), ['user_id', 'category', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_user_id_last_synced_at'), ['user_id', 'last_synced_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_user_id_name_id'), ['user_id', 'name', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_user_id_provider'), ['user_id', 'provider'], unique=False)

    op.create_table('sync_jobs',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED', name='syncjobstatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('trigger', sa.Enum('MANUAL', 'SCHEDULED', name='synctrigger', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('queued_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('worker_id', sa.String(length=128), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('progress', sa.Double(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['cloud_credentials.id'], name=op.f('fk_sync_jobs_credential_id_cloud_credentials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sync_jobs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_jobs'))
    )
    with op.batch_alter_table('sync_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_jobs_credential_id_status'), ['credential_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_jobs_status_heartbeat_at'), ['status', 'heartbeat_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_jobs_user_id_queued_at'), ['user_id', 'queued_at'], unique=False)

    op.create_table('sync_scopes',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=128), nullable=False),
    sa.Column('last_job_id', sa.Uuid(), nullable=True),
    sa.Column('last_completed_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error_code', sa.String(length=64), nullable=True),
    sa.Column('resource_count', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['cloud_credentials.id'], name=op.f('fk_sync_scopes_credential_id_cloud_credentials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sync_scopes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_scopes')),
    sa.UniqueConstraint('credential_id', 'region', 'kind', name=op.f('uq_sync_scopes_credential_id_region_kind'))
    )


def downgrade() -> None:
    op.drop_table('sync_scopes')
    with op.batch_alter_table('sync_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_jobs_user_id_queued_at'))
        batch_op.drop_index(batch_op.f('ix_sync_jobs_status_heartbeat_at'))
        batch_op.drop_index(batch_op.f('ix_sync_jobs_credential_id_status'))

    op.drop_table('sync_jobs')
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resources_user_id_provider'))
        batch_op.drop_index(batch_op.f('ix_resources_user_id_name_id'))
        batch_op.drop_index(batch_op.f('ix_resources_user_id_last_synced_at'))
        batch_op.drop_index(batch_op.f('ix_resources_user_id_category_status'))
        batch_op.drop_index(batch_op.f('ix_resources_credential_id_region_native_type'))

    op.drop_table('resources')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_user_id_family_id'))

    op.drop_table('refresh_tokens')
    with op.batch_alter_table('cloud_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cloud_credentials_key_id'))

    op.drop_table('cloud_credentials')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_user_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_created_at'))

    op.drop_table('audit_events')
    op.drop_table('users')
