"""`INSERT … ON CONFLICT` for a session's backend: PostgreSQL and SQLite spell it alike, but
each dialect has its own `insert` construct that carries `on_conflict_do_*`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

Built = TypeVar("Built")


def insert_for(name: str) -> Any:
    return postgresql.insert if name == "postgresql" else sqlite.insert


def dialect_insert(session: AsyncSession) -> Any:
    """The `insert` of the session's dialect (call it with the table)."""
    return insert_for(session.get_bind().dialect.name)


def per_dialect(build: Callable[[Any], Built]) -> Callable[[AsyncSession], Built]:
    """`build(insert)` run once per dialect, its statement handed to every caller after.

    Statements are immutable, and handing out the same object lets SQLAlchemy keep its cache key
    and compiled form; building an `ON CONFLICT … DO UPDATE` anew for each batch (its `excluded`
    columns, its SET clause) cost more than executing the batch's bind processing."""
    built: dict[str, Built] = {}

    def statement(session: AsyncSession) -> Built:
        name = session.get_bind().dialect.name
        found = built.get(name)
        if found is None:
            found = built[name] = build(insert_for(name))
        return found

    return statement
