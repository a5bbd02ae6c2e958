"""Migrations produce exactly the models' schema, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import db.models  # noqa: F401
from db.base import Base
from graph.runtime import Runtime


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_database_matches_the_models(runtime: Runtime) -> None:
    async with runtime.database.engine.connect() as connection:
        differences = await connection.run_sync(_diff)
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert differences == []
    assert set(Base.metadata.tables) <= tables
