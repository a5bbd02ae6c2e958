"""key ages, secret rotation times, cost sources

- `key_ages`: when each signing and vault key was first seen, by fingerprint. Not owned by a
  user: on PostgreSQL only the 'system' role writes it and admins read it (RLS, FORCEd).
- `cloud_credentials.secret_rotated_at`: when the secret was stored or replaced (existing rows
  take their creation time: the oldest the secret can be); `secret_age_reported_at`.
- `resources.cost_source`: which price table a cost came from.

Revision ID: 0003_ops
Revises: 0003_naming
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0003_ops"
down_revision: str | None = "0003_naming"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POLICIES = (
    "CREATE POLICY key_ages_read ON key_ages FOR SELECT "
    "USING (app_acting_role() IN ('admin', 'system'))",
    "CREATE POLICY key_ages_system ON key_ages FOR ALL "
    "USING (app_acting_role() = 'system') WITH CHECK (app_acting_role() = 'system')",
)


def upgrade() -> None:
    op.create_table(
        "key_ages",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "fingerprint", name=op.f("pk_key_ages")),
    )
    with op.batch_alter_table("cloud_credentials") as batch:
        batch.add_column(
            sa.Column("secret_rotated_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("secret_age_reported_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE cloud_credentials SET secret_rotated_at = created_at")
    with op.batch_alter_table("cloud_credentials") as batch:
        batch.alter_column(
            "secret_rotated_at",
            existing_type=db.types.UTCDateTime(timezone=True),
            nullable=False,
        )
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("cost_source", sa.String(length=128), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE key_ages ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE key_ages FORCE ROW LEVEL SECURITY")
        for statement in POLICIES:
            op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("cost_source")
    with op.batch_alter_table("cloud_credentials") as batch:
        batch.drop_column("secret_age_reported_at")
        batch.drop_column("secret_rotated_at")
    op.drop_table("key_ages")
