"""row-level security and the application role (PostgreSQL only)

Every owned table gets RLS, FORCEd (so even the table owner is filtered), with policies reading
the per-transaction settings `db.engine.Database` writes: `app.user_id` (the acting user, empty
when anonymous) and `app.role` ('user', 'admin' or 'system'). The policies:

- owned tables: rows whose `user_id` is the acting user; 'system' (sync workers, log-in lookups,
  key rotation) may do anything. Admins get no extra reach here.
- users: a user reads their own row; admins read all; only 'system' writes.
- audit_events: own rows readable, admins read all; a session may append rows for its own user
  or for nobody (anonymous failures); only 'system' updates or deletes.
- anonymous (no user, not system): nothing is visible.

The role `stratograph_app` (LOGIN, NOSUPERUSER, NOBYPASSRLS) gets DML on the tables (read-only on
`alembic_version`), also for tables later migrations create (default privileges). Migrations
run as the owner; the application connects as `stratograph_app`.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "stratograph_app"
OWNED_TABLES = (
    "refresh_tokens",
    "cloud_credentials",
    "resources",
    "sync_jobs",
    "sync_scopes",
)
ALL_TABLES = (*OWNED_TABLES, "users", "audit_events")

ACTING_USER = "app_acting_user_id()"
ACTING_ROLE = "app_acting_role()"
IS_SYSTEM = f"{ACTING_ROLE} = 'system'"
IS_ADMIN = f"{ACTING_ROLE} = 'admin'"

FUNCTIONS = (
    "CREATE OR REPLACE FUNCTION app_acting_user_id() RETURNS uuid LANGUAGE sql STABLE "
    "AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$",
    "CREATE OR REPLACE FUNCTION app_acting_role() RETURNS text LANGUAGE sql STABLE "
    "AS $$ SELECT COALESCE(current_setting('app.role', true), '') $$",
)

ROLE = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'cannot create role {APP_ROLE} (no CREATEROLE); create it as an administrator';
END
$$;
"""

GRANTS = f"""
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO {APP_ROLE}', current_database());
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {APP_ROLE}', current_schema());
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO {APP_ROLE}',
                   current_schema());
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO {APP_ROLE}',
                   current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                   'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                   'GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {APP_ROLE}', current_schema());
    EXECUTE 'REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {APP_ROLE}';
    EXECUTE 'GRANT EXECUTE ON FUNCTION app_acting_user_id(), app_acting_role() TO {APP_ROLE}';
  END IF;
END
$$;
"""

REVOKES = f"""
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                   'REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP_ROLE}',
                   current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I '
                   'REVOKE USAGE, SELECT, UPDATE ON SEQUENCES FROM {APP_ROLE}', current_schema());
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM {APP_ROLE}', current_schema());
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM {APP_ROLE}', current_schema());
  END IF;
END
$$;
"""


def _policies() -> list[str]:
    statements: list[str] = []
    for table in OWNED_TABLES:
        statements += [
            f"CREATE POLICY {table}_owner ON {table} FOR ALL "
            f"USING (user_id = {ACTING_USER}) WITH CHECK (user_id = {ACTING_USER})",
            f"CREATE POLICY {table}_system ON {table} FOR ALL "
            f"USING ({IS_SYSTEM}) WITH CHECK ({IS_SYSTEM})",
        ]
    statements += [
        f"CREATE POLICY users_read ON users FOR SELECT "
        f"USING (id = {ACTING_USER} OR {IS_ADMIN} OR {IS_SYSTEM})",
        f"CREATE POLICY users_system ON users FOR ALL USING ({IS_SYSTEM}) WITH CHECK ({IS_SYSTEM})",
        f"CREATE POLICY audit_events_read ON audit_events FOR SELECT "
        f"USING (user_id = {ACTING_USER} OR {IS_ADMIN} OR {IS_SYSTEM})",
        f"CREATE POLICY audit_events_append ON audit_events FOR INSERT "
        f"WITH CHECK (user_id = {ACTING_USER} OR user_id IS NULL OR {IS_SYSTEM})",
        f"CREATE POLICY audit_events_system ON audit_events FOR ALL "
        f"USING ({IS_SYSTEM}) WITH CHECK ({IS_SYSTEM})",
    ]
    return statements


POLICY_NAMES = {
    **{table: (f"{table}_owner", f"{table}_system") for table in OWNED_TABLES},
    "users": ("users_read", "users_system"),
    "audit_events": ("audit_events_read", "audit_events_append", "audit_events_system"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the same isolation comes from db.scoping
    for function in FUNCTIONS:
        op.execute(function)
    for table in ALL_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for statement in _policies():
        op.execute(statement)
    op.execute(ROLE)
    op.execute(GRANTS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(REVOKES)
    for table, names in POLICY_NAMES.items():
        for name in names:
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION IF EXISTS app_acting_user_id()")
    op.execute("DROP FUNCTION IF EXISTS app_acting_role()")
    # The role is cluster-wide and may serve other databases: it is left in place.
