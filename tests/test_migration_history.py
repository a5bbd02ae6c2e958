"""Migration 0004_history goes down and up again on both databases: the table, its indexes and
(PostgreSQL) its row-level security come and go together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from db.migrate import alembic_config, upgrade
from tests.databases import PostgresTemplate, SqliteTemplate, async_url

BEFORE = "0004_findings"


@pytest.fixture
async def admin_url(
    template: SqliteTemplate | PostgresTemplate, tmp_path: Path
) -> AsyncIterator[str]:
    """A migrated database, reached as the role that runs migrations."""
    if isinstance(template, SqliteTemplate):
        yield template.clone(tmp_path)
        return
    name = await template.clone()
    try:
        yield async_url(template.admin_dsn, name)
    finally:
        await template.drop(name)


async def _state(url: str) -> tuple[bool, list[str], bool]:
    """(table exists, its index names, RLS forced)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:

            def read(sync: object) -> tuple[bool, list[str]]:
                found = inspect(sync)
                if not found.has_table("resource_changes"):
                    return False, []
                return True, sorted(i["name"] or "" for i in found.get_indexes("resource_changes"))

            exists, indexes = await connection.run_sync(read)
            forced = False
            if connection.dialect.name == "postgresql" and exists:
                forced = bool(
                    await connection.scalar(
                        text(
                            "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class "
                            "WHERE relname = 'resource_changes'"
                        )
                    )
                )
    finally:
        await engine.dispose()
    return exists, indexes, forced


async def test_the_history_migration_downgrades_and_upgrades(admin_url: str, backend: str) -> None:
    # given a database at the head revision
    exists, indexes, forced = await _state(admin_url)
    assert exists and len(indexes) == 4 and forced == (backend == "postgres")
    # when it is downgraded to the revision before
    await asyncio.to_thread(command.downgrade, alembic_config(admin_url), BEFORE)
    # then the table is gone
    assert await _state(admin_url) == (False, [], False)
    # and when it is upgraded again, it is back whole
    await asyncio.to_thread(upgrade, admin_url)
    assert await _state(admin_url) == (True, indexes, backend == "postgres")
