"""inventory depth: resource configuration, new categories, resource relations

- `resources.configuration`: normalized security-relevant settings per native type.
- `resources.scope`: the listing scope's key (was only `metadata._scope`), indexed with the
  credential so stale marking reads one scope's rows, not the credential's.
- `resources.type` accepts IDENTITY, CONTAINER, SECURITY, DNS and QUEUE.
- `resource_relations`: owned (`user_id`), row-level security FORCEd like migration 0002.

Revision ID: 0003_inventory_depth
Revises: 0003_accounts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_inventory_depth"
down_revision: str | None = "0003_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "stratograph_app"
OLD_TYPES = ("VM", "STORAGE", "NETWORK", "DATABASE", "FUNCTION", "OTHER")
NEW_TYPES = (
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
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
RELATION_TYPES = ("MEMBER_OF", "PROTECTED_BY", "ATTACHED_TO", "ROUTES_TO", "USES")


def _resource_type(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values, name="resourcetype", native_enum=False, create_constraint=True, length=16
    )


def _check(values: tuple[str, ...]) -> str:
    return '"type" IN (' + ", ".join(f"'{value}'" for value in values) + ")"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "resources",
        sa.Column("configuration", JSON_DOCUMENT, nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column("resources", sa.Column("scope", sa.String(length=200), nullable=True))
    stamp = "metadata->>'_scope'" if postgres else "json_extract(metadata, '$._scope')"
    op.execute(f"UPDATE resources SET scope = {stamp}")
    op.create_index(
        op.f("ix_resources_credential_id_scope"), "resources", ["credential_id", "scope"]
    )
    if postgres:
        op.execute("ALTER TABLE resources DROP CONSTRAINT ck_resources_resourcetype")
        op.execute(
            "ALTER TABLE resources ADD CONSTRAINT ck_resources_resourcetype "
            f"CHECK ({_check(NEW_TYPES)})"
        )
    else:
        # SQLite cannot alter a CHECK constraint: batch mode rebuilds the table.
        with op.batch_alter_table("resources", recreate="always") as batch_op:
            batch_op.alter_column(
                "type",
                existing_type=_resource_type(OLD_TYPES),
                type_=_resource_type(NEW_TYPES),
                existing_nullable=False,
            )
    op.create_table(
        "resource_relations",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("source_resource_id", sa.String(length=512), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                *RELATION_TYPES,
                name="relationtype",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("target_resource_id", sa.String(length=512), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["cloud_credentials.id"],
            name=op.f("fk_resource_relations_credential_id_cloud_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_resource_relations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_relations")),
    )
    with op.batch_alter_table("resource_relations") as batch_op:
        for columns in (
            ["credential_id", "source_resource_id"],
            ["credential_id", "target_resource_id"],
            ["credential_id", "scope"],
        ):
            batch_op.create_index(
                batch_op.f(f"ix_resource_relations_{'_'.join(columns)}"), columns, unique=False
            )
    if postgres:
        _secure_relations()


def _secure_relations() -> None:
    table = "resource_relations"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {table}_owner ON {table} FOR ALL "
        "USING (user_id = app_acting_user_id()) WITH CHECK (user_id = app_acting_user_id())"
    )
    op.execute(
        f"CREATE POLICY {table}_system ON {table} FOR ALL "
        "USING (app_acting_role() = 'system') WITH CHECK (app_acting_role() = 'system')"
    )
    op.execute(
        f"""
        DO $$
        BEGIN
          IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}';
          END IF;
        END
        $$;
        """
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_table("resource_relations")
    op.drop_index(op.f("ix_resources_credential_id_scope"), table_name="resources")
    if postgres:
        op.execute("ALTER TABLE resources DROP CONSTRAINT ck_resources_resourcetype")
        op.execute(
            "ALTER TABLE resources ADD CONSTRAINT ck_resources_resourcetype "
            f"CHECK ({_check(OLD_TYPES)}) NOT VALID"
        )
        op.drop_column("resources", "configuration")
        op.drop_column("resources", "scope")
    else:
        with op.batch_alter_table("resources", recreate="always") as batch_op:
            batch_op.drop_column("configuration")
            batch_op.drop_column("scope")
            batch_op.alter_column(
                "type",
                existing_type=_resource_type(NEW_TYPES),
                type_=_resource_type(OLD_TYPES),
                existing_nullable=False,
            )

