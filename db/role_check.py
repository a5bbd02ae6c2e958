"""Row-level security only protects anyone if the app's database role is subject to it.

PostgreSQL skips RLS for superusers and BYPASSRLS roles, and a table's owner (or a member of the
owning role) may switch it off with one ALTER TABLE. So at start-up the server and the worker
look at the role they connected as: in production such a role refuses to start, elsewhere it is
a loud warning. Migrations run as the owner; the app connects as a role like `stratograph_app`.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import db.models  # noqa: F401 - registers every table on Base.metadata
from db.base import Base

logger = logging.getLogger("stratograph.db")

ROLE = text(
    "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
)
OWNED = text(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() "
    "AND c.relname = ANY(:tables) AND pg_has_role(current_user, c.relowner, 'MEMBER') "
    "ORDER BY c.relname"
)


class UnsafeDatabaseRole(Exception):
    """The connected role is not subject to row-level security; the message says why."""


async def role_problems(engine: AsyncEngine) -> list[str]:
    """Why row-level security would not hold for this engine's role (empty: it holds)."""
    if engine.dialect.name != "postgresql":
        return []
    async with engine.connect() as connection:
        role = (await connection.execute(ROLE)).one()
        tables = sorted(Base.metadata.tables)
        owned = list((await connection.execute(OWNED, {"tables": tables})).scalars())
    problems: list[str] = []
    if role.rolsuper:
        problems.append(f"role {role.name!r} is a superuser")
    if role.rolbypassrls:
        problems.append(f"role {role.name!r} has BYPASSRLS")
    if owned:
        problems.append(f"role {role.name!r} owns (or is a member of the owner of) {owned}")
    return problems


async def guard_database_role(engine: AsyncEngine, *, production: bool) -> None:
    """Refuse (production) or warn (elsewhere) when row-level security would not apply."""
    problems = await role_problems(engine)
    if not problems:
        return
    message = (
        "row-level security does not apply to the database role in DATABASE_URL: "
        + "; ".join(problems)
        + ". Run migrations as the owner and connect the app as a role that is NOSUPERUSER, "
        "NOBYPASSRLS and owns no table (docs/deployment.md, 'A least-privilege database role')"
    )
    if production:
        raise UnsafeDatabaseRole("refusing to start in production: " + message)
    logger.warning("UNSAFE DATABASE ROLE: %s", message)
