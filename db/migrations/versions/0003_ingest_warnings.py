"""sync_jobs.warnings: what normalizing a job's listings changed, counted per scope and code

Revision ID: 0003_ingest_warnings
Revises: 0003_ops
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_ingest_warnings"
down_revision: str | None = "0003_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # Existing jobs changed nothing that anyone counted: an empty list.
    with op.batch_alter_table("sync_jobs") as batch:
        batch.add_column(sa.Column("warnings", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("sync_jobs") as batch:
        batch.drop_column("warnings")
