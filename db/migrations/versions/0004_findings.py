"""findings and their open counts, with row-level security

Both tables are owned (`user_id`), with RLS FORCEd and the same two policies as migration 0002:
the acting user's rows, and anything for the 'system' role (the sync engine and housekeeping).

Revision ID: 0004_findings
Revises: 0004_aws_roles
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0004_findings"
down_revision: str | None = "0004_aggregates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("findings", "finding_counts")
ACTING_USER = "app_acting_user_id()"
IS_SYSTEM = "app_acting_role() = 'system'"
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = db.types.UTCDateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "findings",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=False),
        sa.Column("resource_row_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column(
            "severity",
            _enum("severity", "CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"),
            nullable=False,
        ),
        sa.Column("severity_rank", sa.Integer(), nullable=False),
        sa.Column(
            "status", _enum("findingstatus", "OPEN", "RESOLVED", "SUPPRESSED"), nullable=False
        ),
        sa.Column("first_seen_at", WHEN, nullable=False),
        sa.Column("last_seen_at", WHEN, nullable=False),
        sa.Column("resolved_at", WHEN, nullable=True),
        sa.Column("status_changed_at", WHEN, nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("details_digest", sa.String(length=64), nullable=False),
        sa.Column("suppressed_reason", sa.String(length=500), nullable=True),
        sa.Column("suppressed_until", WHEN, nullable=True),
        sa.Column("suppressed_by", sa.Uuid(), nullable=True),
        sa.Column("suppressed_at", WHEN, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_findings_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["cloud_credentials.id"],
            name=op.f("fk_findings_credential_id_cloud_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_row_id"],
            ["resources.id"],
            name=op.f("fk_findings_resource_row_id_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        sa.UniqueConstraint(
            "resource_row_id", "rule_id", name=op.f("uq_findings_resource_row_id_rule_id")
        ),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_findings_user_id_last_seen_at_id"), ["user_id", "last_seen_at", "id"]
        )
        batch_op.create_index(
            batch_op.f("ix_findings_user_id_severity_rank_id"), ["user_id", "severity_rank", "id"]
        )
        batch_op.create_index(
            batch_op.f("ix_findings_user_id_status_changed_at"), ["user_id", "status_changed_at"]
        )
        batch_op.create_index(
            batch_op.f("ix_findings_credential_id_rule_id"), ["credential_id", "rule_id"]
        )
    op.create_table(
        "finding_counts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("open_count", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_finding_counts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["cloud_credentials.id"],
            name=op.f("fk_finding_counts_credential_id_cloud_credentials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_counts")),
        sa.UniqueConstraint(
            "credential_id", "rule_id", name=op.f("uq_finding_counts_credential_id_rule_id")
        ),
    )
    with op.batch_alter_table("finding_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finding_counts_user_id"), ["user_id"])
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
    with op.batch_alter_table("finding_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_counts_user_id"))
    op.drop_table("finding_counts")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_findings_credential_id_rule_id"))
        batch_op.drop_index(batch_op.f("ix_findings_user_id_status_changed_at"))
        batch_op.drop_index(batch_op.f("ix_findings_user_id_severity_rank_id"))
        batch_op.drop_index(batch_op.f("ix_findings_user_id_last_seen_at_id"))
    op.drop_table("findings")
