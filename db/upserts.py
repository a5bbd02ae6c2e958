"""`INSERT … ON CONFLICT` for a session's backend: PostgreSQL and SQLite spell it alike, but
each dialect has its own `insert` construct that carries `on_conflict_do_*`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_insert(session: AsyncSession) -> Any:
    """The `insert` of the session's dialect (call it with the table)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
