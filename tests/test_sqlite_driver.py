"""SQLite statements cost one hand-off to the driver's thread, and still return what they did."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import sqlite_driver
from db.engine import create_engine

METADATA = MetaData()
ITEMS = Table(
    "items",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True),
)
MANY = sqlite_driver.PREFETCH * 2 + 17  # more rows than two buffers


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/driver.db")
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
        await connection.execute(
            insert(ITEMS), [{"id": n, "name": f"item-{n}"} for n in range(MANY)]
        )
    yield engine
    await engine.dispose()


@pytest.fixture
def hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call queued to a connection's thread, by name."""
    seen: list[str] = []
    original: Any = sqlite_driver.OneHopConnection._execute

    async def counted(self: Any, function: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(function, "__name__", repr(function)))
        return await original(self, function, *args, **kwargs)

    monkeypatch.setattr(sqlite_driver.OneHopConnection, "_execute", counted)
    return seen


@pytest.fixture
async def opened(engine: AsyncEngine, hand_offs: list[str]) -> AsyncIterator[AsyncConnection]:
    """A connection already opened (its connect and PRAGMAs not counted)."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        hand_offs.clear()
        yield connection


async def test_a_query_and_its_rows_cost_one_hand_off(
    opened: AsyncConnection, hand_offs: list[str]
) -> None:
    # when a query returning rows runs
    rows = (await opened.execute(select(ITEMS.c.id).where(ITEMS.c.id < 3))).all()
    # then its cursor, execution, rows and close took one hand-off
    assert [row.id for row in rows] == [0, 1, 2]
    assert hand_offs == ["_run"]


async def test_results_larger_than_the_buffer_come_back_whole_and_in_order(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        # when a query returns more rows than one buffer holds
        rows = (await connection.execute(select(ITEMS.c.id).order_by(ITEMS.c.id))).all()
        # then every row comes back, in order
        assert [row.id for row in rows] == list(range(MANY))
        # and a streamed read gets them all too, in batches of its own size
        streamed = await connection.stream(
            select(ITEMS.c.id).order_by(ITEMS.c.id).execution_options(yield_per=300)
        )
        ids = [row.id async for row in streamed]
        assert ids == list(range(MANY))


async def test_a_streamed_read_holds_at_most_one_buffer(
    opened: AsyncConnection, hand_offs: list[str]
) -> None:
    # when a stream reads its first batch
    streamed = await opened.stream(
        select(ITEMS.c.id).order_by(ITEMS.c.id).execution_options(yield_per=10)
    )
    first = await streamed.fetchmany(10)
    # then only the first buffer was fetched, with the statement
    assert [row.id for row in first] == list(range(10))
    assert hand_offs == ["_run"]
    # and reading past it fetches the next buffer, not the rest of the result
    read = len(first)
    while read <= sqlite_driver.PREFETCH:
        read += len(await streamed.fetchmany(10))
    assert hand_offs == ["_run", "_read"]
    await streamed.close()


async def test_row_counts_returning_rows_and_errors_are_the_drivers(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        # an UPDATE reports the rows it changed
        changed = await connection.execute(
            update(ITEMS).where(ITEMS.c.id < 5).values(name=ITEMS.c.name + "-x")
        )
        assert changed.rowcount == 5
        # an UPDATE … RETURNING of more rows than a buffer returns all of them
        returned = await connection.execute(
            update(ITEMS).values(name=ITEMS.c.name + "!").returning(ITEMS.c.id)
        )
        assert sorted(row.id for row in returned) == list(range(MANY))
    # a constraint violation is SQLAlchemy's IntegrityError, and the connection still serves
    async with engine.connect() as connection:
        with pytest.raises(IntegrityError):
            await connection.execute(insert(ITEMS).values(id=0, name="duplicate"))
        await connection.rollback()
        count = (await connection.execute(text("SELECT count(*) FROM items"))).scalar_one()
        assert count == MANY
