"""cloud accounts of a credential, per-account scope keys, and the parts of organization-wide jobs

`cloud_accounts` and `sync_job_parts` are owned (`user_id`), with RLS FORCEd and the same two
policies as migration 0002: the acting user's rows, and anything for the 'system' role (the sync
workers). `sync_scopes` gains `account` (empty for a credential of one account) and is unique per
(credential, account, region, kind).

Revision ID: 0004_accounts
Revises: 0004_aws_roles
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0004_accounts"
down_revision: str | None = "0004_aws_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("cloud_accounts", "sync_job_parts")
ACTING_USER = "app_acting_user_id()"
IS_SYSTEM = "app_acting_role() = 'system'"
JOB_STATUSES = ("QUEUED", "RUNNING", "SUCCEEDED", "PARTIAL", "FAILED")
ACCOUNT_STATUSES = ("ACTIVE", "SUSPENDED", "UNREACHABLE", "ACCESS_DENIED")


def _status(name: str, values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "cloud_accounts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("status", _status("accountstatus", ACCOUNT_STATUSES), nullable=False),
        sa.Column("last_synced_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resource_count", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.Column("first_seen_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["cloud_credentials.id"],
            name=op.f("fk_cloud_accounts_credential_id_cloud_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_cloud_accounts_user_id_users"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cloud_accounts")),
        sa.UniqueConstraint(
            "credential_id", "account_id", name=op.f("uq_cloud_accounts_credential_id_account_id")
        ),
    )
    with op.batch_alter_table("cloud_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cloud_accounts_user_id_credential_id"),
            ["user_id", "credential_id"],
            unique=False,
        )
    op.create_table(
        "sync_job_parts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("account_name", sa.String(length=256), nullable=False),
        sa.Column("weight", sa.Double(), nullable=False),
        sa.Column("status", _status("syncjobstatus", JOB_STATUSES), nullable=False),
        sa.Column("queued_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("worker_id", sa.String(length=128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["sync_jobs.id"], name=op.f("fk_sync_job_parts_job_id_sync_jobs"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sync_job_parts_user_id_users"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_job_parts")),
        sa.UniqueConstraint(
            "job_id", "account_id", name=op.f("uq_sync_job_parts_job_id_account_id")
        ),
    )
    with op.batch_alter_table("sync_job_parts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_job_parts_status_heartbeat_at"),
            ["status", "heartbeat_at"],
            unique=False,
        )
    with op.batch_alter_table("sync_scopes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("account", sa.String(length=128), server_default="", nullable=False)
        )
        batch_op.drop_constraint("uq_sync_scopes_credential_id_region_kind", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_sync_scopes_credential_id_account_region_kind"),
            ["credential_id", "account", "region", "kind"],
        )
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
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


def downgrade() -> None:
    # Scope records of member accounts have no place in the old key; they are only a record
    # of past listings (the next sync writes them again), so they go.
    op.execute("DELETE FROM sync_scopes WHERE account <> ''")
    with op.batch_alter_table("sync_scopes", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_sync_scopes_credential_id_account_region_kind", type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_sync_scopes_credential_id_region_kind", ["credential_id", "region", "kind"]
        )
        batch_op.drop_column("account")
    with op.batch_alter_table("sync_job_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_job_parts_status_heartbeat_at"))
    op.drop_table("sync_job_parts")
    with op.batch_alter_table("cloud_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cloud_accounts_user_id_credential_id"))
    op.drop_table("cloud_accounts")
