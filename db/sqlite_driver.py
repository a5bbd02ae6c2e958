"""SQLite statements in one hand-off to the driver's thread instead of four.

aiosqlite runs each sqlite3 call in the connection's own thread, and SQLAlchemy's adapter makes
four such calls for a statement: create the cursor, execute, fetch the rows, close. Each hand-off
(a queue put, a thread wake-up, a future resolved through the event loop) cost about 115 µs on
the 2-core machine, whatever the statement: a sync of 2,024 resources made 814 of them, more
than 500 only around the statements themselves.

Here the connection's cursors do it in one: `execute` (and `executemany`) runs the statement,
reads its description, row count and last row id, fetches up to `PREFETCH` rows and, once the
rows are exhausted, closes the sqlite3 cursor, all in the same call. Fetching then reads that
buffer; a result larger than the buffer (a streamed export) fetches the rest as it is read, a
buffer at a time, so memory stays bounded. Installed on every SQLite engine by `install`.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import Engine

# Rows fetched with the statement; a statement returning more fetches the rest on demand.
PREFETCH = 1000
Result = TypeVar("Result")


class OneHopCursor:
    """The part of aiosqlite's cursor SQLAlchemy's adapter uses, one hand-off per statement."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def _in_thread(self, function: Callable[..., Result], *args: Any) -> Result:
        result: Result = await self._connection._execute(function, *args)  # type: ignore[no-untyped-call]
        return result

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _read(self, cursor: sqlite3.Cursor, size: int) -> list[Any]:
        """In the driver's thread: up to `size` rows, and the cursor closed once exhausted."""
        rows = cursor.fetchmany(size) if cursor.description is not None else []
        self.rowcount, self.lastrowid = cursor.rowcount, cursor.lastrowid
        if len(rows) < size:
            cursor.close()
            self._cursor = None
        return rows

    def _run(self, method: str, operation: str, parameters: Any) -> list[Any]:
        cursor = self._cursor
        if cursor is None:
            cursor = self._cursor = self._connection._conn.cursor()
        getattr(cursor, method)(operation, parameters)
        self.description = cursor.description
        return self._read(cursor, PREFETCH)

    async def execute(self, operation: str, parameters: Any = ()) -> OneHopCursor:
        self._rows = deque(await self._in_thread(self._run, "execute", operation, parameters))
        return self

    async def executemany(self, operation: str, parameters: Any) -> OneHopCursor:
        self._rows = deque(await self._in_thread(self._run, "executemany", operation, parameters))
        return self

    async def _more(self, size: int) -> None:
        cursor = self._cursor
        if cursor is not None:
            self._rows.extend(await self._in_thread(self._read, cursor, size))

    async def fetchone(self) -> Any:
        if not self._rows:
            await self._more(PREFETCH)
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        wanted = self.arraysize if size is None else size
        if len(self._rows) < wanted:
            await self._more(max(wanted - len(self._rows), PREFETCH))
        return [self._rows.popleft() for _ in range(min(wanted, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        while self._cursor is not None:
            await self._more(PREFETCH)
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def __aiter__(self) -> AsyncIterator[Any]:
        while (row := await self.fetchone()) is not None:
            yield row

    async def close(self) -> None:
        self._rows.clear()
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            await self._in_thread(cursor.close)

    async def setinputsizes(self, *_sizes: Any) -> None:
        return None


class OneHopConnection(aiosqlite.Connection):
    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        return OneHopCursor(self)


def connect(database: str, **kwargs: Any) -> OneHopConnection:
    """What `aiosqlite.connect` does, with the one-hop cursors (SQLAlchemy passes the URL's
    connect arguments here, and awaits the connection)."""

    def connector() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return connection

    return OneHopConnection(connector, iter_chunk_size=64)


def install(engine: Engine) -> None:
    """Connections of `engine` (an aiosqlite engine) use the one-hop cursors."""

    def do_connect(
        _dialect: Any, _record: Any, _cargs: Sequence[Any], cparams: dict[str, Any]
    ) -> None:
        creator: Callable[..., OneHopConnection] = connect
        cparams["async_creator_fn"] = creator

    event.listen(engine, "do_connect", do_connect)
