"""the server-generated external ID of AWS role credentials

Not a secret (the customer writes it into their role's trust policy), so a plain column; unique,
so two credentials (of the same or of different users) can never share one.

Revision ID: 0004_aws_roles
Revises: 0003_webhooks
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_aws_roles"
down_revision: str | None = "0003_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cloud_credentials") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_cloud_credentials_external_id", ["external_id"])


def downgrade() -> None:
    with op.batch_alter_table("cloud_credentials") as batch:
        batch.drop_constraint("uq_cloud_credentials_external_id", type_="unique")
        batch.drop_column("external_id")
