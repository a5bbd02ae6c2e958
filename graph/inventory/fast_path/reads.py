"""The request's reads: the acting user, the pages, the caller's account.

On PostgreSQL the driver connection is used directly: each page is one prepared statement that
sets the acting user for row-level security, reads the caller's account and the page (one round
trip; `totalCount` adds a second). SQLite runs the plain statements through SQLAlchemy in one
transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select

from db.engine import Database
from graph.inventory.fast_path.acting import ROLE, USER_TEXT
from graph.inventory.fast_path.compiled import Compiled
from graph.inventory.fast_path.statements import ACCOUNT_COLUMNS

ROLES = frozenset({"user", "admin"})


@dataclass(frozen=True, slots=True)
class Read:
    """One statement to run with its per-request values."""

    statement: Select[Any]
    compiled: Compiled | None
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Account:
    """The caller's account as this transaction sees it."""

    is_active: bool
    tokens_valid_after: datetime | None
    role: str
    totp_enabled: bool


@dataclass(frozen=True, slots=True)
class PageRead:
    page: Read
    count: Read | None


@dataclass(frozen=True, slots=True)
class ReadResult:
    pages: list[tuple[Sequence[Any], int | None]]
    account: Account | None  # None: the account no longer exists


def _account(row: Any, offset: int) -> Account | None:
    if row is None or row[offset] is None:
        return None
    return Account(bool(row[offset]), row[offset + 1], str(row[offset + 2]), bool(row[offset + 3]))


async def read(
    database: Database, user_id: uuid.UUID, role: str, pages: list[PageRead], account: Read
) -> ReadResult:
    if role not in ROLES:
        raise ValueError("unknown database role")
    if database.is_postgres:
        return await _read_postgres(database, uuid.UUID(str(user_id)), role, pages)
    return await _read_sqlite(database, pages, account)


async def _read_postgres(
    database: Database, user_id: uuid.UUID, role: str, pages: list[PageRead]
) -> ReadResult:
    """One round trip per statement, no explicit transaction: each statement sets the acting
    user itself (`acting.py`), and the page's also carries the account."""
    row_class = _row_class()
    acting = {USER_TEXT: str(user_id), ROLE: role}
    found: list[tuple[Sequence[Any], int | None]] = []
    state: Account | None = None
    async with database.engine.connect() as connection:
        fairy = await connection.get_raw_connection()
        driver: Any = fairy.driver_connection
        for position, item in enumerate(pages):
            compiled = _compiled(item.page)
            database.driver_statement(compiled.sql)
            values = {**item.page.values, **acting}
            rows = await driver.fetch(compiled.sql, *compiled.bind(values), record_class=row_class)
            if position == 0:
                state = _account(rows[0], len(rows[0]) - len(ACCOUNT_COLUMNS)) if rows else None
            if rows and rows[0]["id"] is None:
                rows = []  # the outer join's row of an empty page
            count = None
            if item.count is not None:
                counted = _compiled(item.count)
                database.driver_statement(counted.sql)
                arguments = counted.bind({**item.count.values, **acting})
                count = int(await driver.fetchval(counted.sql, *arguments))
            found.append((rows, count))
    return ReadResult(found, state)


@cache
def _row_class() -> type[Any]:
    import asyncpg  # only where PostgreSQL is used

    class Row(asyncpg.Record):  # type: ignore[misc]
        # Ordering key extractors read rows by attribute, like SQLAlchemy rows.
        def __getattr__(self, name: str) -> Any:
            try:
                return self[name]
            except KeyError:
                raise AttributeError(name) from None

    return Row


def _compiled(item: Read) -> Compiled:
    if item.compiled is None:
        raise RuntimeError("a PostgreSQL read without its compiled statement")
    return item.compiled


async def _read_sqlite(database: Database, pages: list[PageRead], account: Read) -> ReadResult:
    found: list[tuple[Sequence[Any], int | None]] = []
    state: Account | None = None
    seen_account = False
    async with database.engine.connect() as connection, connection.begin():
        for item in pages:
            rows = (await connection.execute(item.page.statement, item.page.values)).all()
            count = None
            if item.count is not None:
                count = int(
                    (await connection.execute(item.count.statement, item.count.values)).scalar_one()
                )
            if rows and not seen_account:
                state, seen_account = _account(rows[0], len(rows[0]) - len(ACCOUNT_COLUMNS)), True
            found.append((rows, count))
        if not seen_account:
            row = (await connection.execute(account.statement, account.values)).first()
            state = _account(row, 0)
    return ReadResult(found, state)
