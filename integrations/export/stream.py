"""Rows of a scoped select, read through a server-side cursor one batch at a time.

The transaction (with the acting user for row-level security) lives exactly as long as the
iteration: closing the iterator — the client went away — rolls it back and releases the cursor
and the connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from sqlalchemy import Row, Select

from db.scoping import ScopedDatabase
from integrations.export.formats import CsvEncoder, NdjsonEncoder

BATCH_ROWS = 1000


async def stream_rows(
    db: ScopedDatabase, statement: Select[Any], batch: int = BATCH_ROWS
) -> AsyncIterator[Sequence[Row[Any]]]:
    async with db.session() as session:
        result = await session.stream(statement.execution_options(yield_per=batch))
        async for rows in result.partitions(batch):
            yield rows


async def encoded(
    rows: AsyncIterator[Sequence[Row[Any]]],
    encoder: CsvEncoder | NdjsonEncoder,
    to_record: Callable[[Row[Any]], dict[str, Any]],
) -> AsyncIterator[bytes]:
    """The export's bytes: the header, then one chunk per batch of rows."""
    try:
        header = encoder.header()
        if header:
            yield header
        async for batch in rows:
            yield encoder.rows(to_record(row) for row in batch)
    finally:
        await rows.aclose()  # type: ignore[attr-defined]
