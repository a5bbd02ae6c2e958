"""inventory aggregates: `resource_counts`, kept current by the sync write path

Also an index of each credential's resources by (name, id), so a nested page reads size + 1 rows.

Owned (`user_id`), row-level security FORCEd with the same two policies as migration 0002. The
upgrade fills it from the live resource rows, so existing inventories keep their dashboard.

Revision ID: 0004_aggregates
Revises: 0003_webhooks
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0004_aggregates"
down_revision: str | None = "0004_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "resource_counts"
APP_ROLE = "stratograph_app"
KEY = "credential_id, scope, provider, account, region, type, native_type, status"
BACKFILL = f"""
INSERT INTO {TABLE} ({KEY}, user_id, count, priced, cost_per_hour, last_synced_at)
SELECT credential_id, COALESCE(scope, ''), provider, account, region, type, native_type, status,
       user_id, COUNT(*), COUNT(cost_per_hour), COALESCE(SUM(cost_per_hour), 0),
       MAX(last_synced_at)
FROM resources WHERE deleted_at IS NULL
GROUP BY user_id, credential_id, COALESCE(scope, ''), provider, account, region, type,
         native_type, status
"""


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("credential_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("provider", _enum("provider", "AWS", "AZURE", "GCP"), nullable=False),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column(
            "type",
            _enum(
                "resourcetype",
                "VM",
                "STORAGE",
                "NETWORK",
                "DATABASE",
                "FUNCTION",
                "IDENTITY",
                "CONTAINER",
                "SECURITY",
                "DNS",
                "QUEUE",
                "OTHER",
            ),
            nullable=False,
        ),
        sa.Column("native_type", sa.String(length=128), nullable=False),
        sa.Column(
            "status",
            _enum(
                "resourcestatus", "RUNNING", "STOPPED", "PENDING", "TERMINATED", "ACTIVE", "UNKNOWN"
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("priced", sa.Integer(), nullable=False),
        sa.Column("cost_per_hour", sa.Float(), nullable=False),
        sa.Column("last_synced_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["cloud_credentials.id"],
            name=op.f("fk_resource_counts_credential_id_cloud_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_resource_counts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "credential_id",
            "scope",
            "provider",
            "account",
            "region",
            "type",
            "native_type",
            "status",
            name=op.f("pk_resource_counts"),
        ),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_counts_user_id_provider"), ["user_id", "provider"], unique=False
        )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resources_credential_id_name_id"),
            ["credential_id", "name", "id"],
            unique=False,
        )
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        _secure()


def _secure() -> None:
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {TABLE}_owner ON {TABLE} FOR ALL "
        "USING (user_id = app_acting_user_id()) WITH CHECK (user_id = app_acting_user_id())"
    )
    op.execute(
        f"CREATE POLICY {TABLE}_system ON {TABLE} FOR ALL "
        "USING (app_acting_role() = 'system') WITH CHECK (app_acting_role() = 'system')"
    )
    op.execute(
        f"""
        DO $$
        BEGIN
          IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO {APP_ROLE}';
          END IF;
        END
        $$;
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resources_credential_id_name_id"))
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_counts_user_id_provider"))
    op.drop_table(TABLE)
