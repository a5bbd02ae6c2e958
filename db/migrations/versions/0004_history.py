"""inventory history: one change record per resource and sync that changed it

`resource_changes` is owned (`user_id`), with RLS FORCEd and the same two policies as migration
0002: the acting user's rows, and anything for the 'system' role (the sync engine writes them).

Revision ID: 0004_history
Revises: 0004_findings
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0004_history"
down_revision: str | None = "0004_findings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "resource_changes"
ACTING_USER = "app_acting_user_id()"
IS_SYSTEM = "app_acting_role() = 'system'"
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
RESOURCE_TYPES = (
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
)
KINDS = ("CREATED", "UPDATED", "DELETED", "RESTORED")
INDEXES = (
    ("user_id", "at", "id"),
    ("credential_id", "at", "id"),
    ("resource_row_id", "at", "id"),
    ("at",),
)


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _index_name(columns: tuple[str, ...]) -> str:
    return f"ix_{TABLE}_{'_'.join(columns)}"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=False),
        sa.Column("resource_row_id", sa.Uuid(), nullable=True),
        sa.Column("resource_id", sa.String(length=512), nullable=False),
        sa.Column("type", _enum(RESOURCE_TYPES, "resourcetype"), nullable=False),
        sa.Column("kind", _enum(KINDS, "resourcechangekind"), nullable=False),
        sa.Column("at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f(f"fk_{TABLE}_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["cloud_credentials.id"],
            name=op.f(f"fk_{TABLE}_credential_id_cloud_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_row_id"],
            ["resources.id"],
            name=op.f(f"fk_{TABLE}_resource_row_id_resources"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        for columns in INDEXES:
            batch_op.create_index(op.f(_index_name(columns)), list(columns), unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {TABLE}_owner ON {TABLE} FOR ALL "
            f"USING (user_id = {ACTING_USER}) WITH CHECK (user_id = {ACTING_USER})"
        )
        op.execute(
            f"CREATE POLICY {TABLE}_system ON {TABLE} FOR ALL "
            f"USING ({IS_SYSTEM}) WITH CHECK ({IS_SYSTEM})"
        )


def downgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        for columns in INDEXES:
            batch_op.drop_index(op.f(_index_name(columns)))
    op.drop_table(TABLE)
