"""two-factor log-in, security events, audit actors and filters

New owned tables (`totp_factors`, `recovery_codes`, `mfa_challenges`, `security_events`) get
row-level security FORCEd like migration 0002: the owner's rows, everything for 'system';
admins may also read every security event. `audit_events.actor_id` names who acted (null when
anonymous); a session may only append events acted by itself or by nobody. Existing successful
events were acted by their own user, and are backfilled so.

Revision ID: 0003_accounts
Revises: 0003_ingest_warnings
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = '0003_accounts'
down_revision: str | None = '0003_ingest_warnings'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OWNED_TABLES = ("totp_factors", "recovery_codes", "mfa_challenges", "security_events")
ACTING_USER = "app_acting_user_id()"
IS_SYSTEM = "app_acting_role() = 'system'"
IS_ADMIN = "app_acting_role() = 'admin'"
# 0002's policy, before actors existed.
OLD_AUDIT_APPEND = (
    f"CREATE POLICY audit_events_append ON audit_events FOR INSERT "
    f"WITH CHECK (user_id = {ACTING_USER} OR user_id IS NULL OR {IS_SYSTEM})"
)
AUDIT_APPEND = (
    f"CREATE POLICY audit_events_append ON audit_events FOR INSERT "
    f"WITH CHECK ((user_id = {ACTING_USER} OR user_id IS NULL) "
    f"AND (actor_id = {ACTING_USER} OR actor_id IS NULL) OR {IS_SYSTEM})"
)


def _secure() -> None:
    for table in OWNED_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_owner ON {table} FOR ALL "
            f"USING (user_id = {ACTING_USER}) WITH CHECK (user_id = {ACTING_USER})"
        )
        op.execute(
            f"CREATE POLICY {table}_system ON {table} FOR ALL "
            f"USING ({IS_SYSTEM}) WITH CHECK ({IS_SYSTEM})"
        )
    op.execute(
        f"CREATE POLICY security_events_admin_read ON security_events FOR SELECT "
        f"USING ({IS_ADMIN})"
    )
    op.execute("DROP POLICY audit_events_append ON audit_events")
    op.execute(AUDIT_APPEND)


def _unsecure() -> None:
    op.execute("DROP POLICY audit_events_append ON audit_events")
    op.execute(OLD_AUDIT_APPEND)
    op.execute("DROP POLICY security_events_admin_read ON security_events")
    for table in OWNED_TABLES:
        op.execute(f"DROP POLICY {table}_owner ON {table}")
        op.execute(f"DROP POLICY {table}_system ON {table}")


def upgrade() -> None:
    op.create_table('mfa_challenges',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mfa_challenges_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mfa_challenges')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_mfa_challenges_token_hash'))
    )
    with op.batch_alter_table('mfa_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mfa_challenges_user_id'), ['user_id'], unique=False)

    op.create_table('recovery_codes',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sa.UniqueConstraint('user_id', 'code_hash', name=op.f('uq_recovery_codes_user_id_code_hash'))
    )
    op.create_table('security_events',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('ACCOUNT_UNDER_ATTACK', 'NEW_LOCATION', 'TOKEN_REUSE', 'TOTP_DISABLED', 'CREDENTIAL_SECRET_REPLACED', name='securityeventkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('severity', sa.Enum('HIGH', 'MEDIUM', 'LOW', name='securityeventseverity', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('outcome', sa.Enum('SUCCESS', 'FAILURE', name='auditoutcome', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_security_events_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_events'))
    )
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_events_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_events_user_id_created_at'), ['user_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_events_user_id_kind_created_at'), ['user_id', 'kind', 'created_at'], unique=False)

    op.create_table('totp_factors',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('confirmed_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_step', sa.BigInteger(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_totp_factors_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_totp_factors')),
    sa.UniqueConstraint('user_id', name=op.f('uq_totp_factors_user_id'))
    )
    with op.batch_alter_table('totp_factors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_totp_factors_key_id'), ['key_id'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_events_action_created_at'), ['action', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_user_id_action_created_at'), ['user_id', 'action', 'created_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_audit_events_actor_id_users'), 'users', ['actor_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_enabled', sa.Boolean(), nullable=False, server_default=sa.false()))

    op.execute("UPDATE audit_events SET actor_id = user_id WHERE outcome = 'SUCCESS'")
    if op.get_bind().dialect.name == 'postgresql':
        _secure()


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        _unsecure()
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_enabled')

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_events_actor_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audit_events_user_id_action_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action_created_at'))
        batch_op.drop_column('actor_id')

    with op.batch_alter_table('totp_factors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_totp_factors_key_id'))

    op.drop_table('totp_factors')
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_events_user_id_kind_created_at'))
        batch_op.drop_index(batch_op.f('ix_security_events_user_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_security_events_created_at'))

    op.drop_table('security_events')
    op.drop_table('recovery_codes')
    with op.batch_alter_table('mfa_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mfa_challenges_user_id'))

    op.drop_table('mfa_challenges')
