"""resources.category is called type, like the GraphQL field and the ResourceType enum

One word per concept across the database, the code and the API: the column, its index and
every layer above now say `type`. `ALTER TABLE … RENAME COLUMN` keeps the data, the enum's CHECK
constraint (which follows the column on both databases) and the row-level security policies.

Revision ID: 0003_naming
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_naming"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_resources_user_id_category_status", table_name="resources")
    op.execute('ALTER TABLE resources RENAME COLUMN category TO "type"')
    op.create_index("ix_resources_user_id_type_status", "resources", ["user_id", "type", "status"])


def downgrade() -> None:
    op.drop_index("ix_resources_user_id_type_status", table_name="resources")
    op.execute('ALTER TABLE resources RENAME COLUMN "type" TO category')
    op.create_index(
        "ix_resources_user_id_category_status", "resources", ["user_id", "category", "status"]
    )
