"""The request's reads: each root's statements, and the caller's account with them.

On PostgreSQL the driver connection is used directly, no explicit transaction: every statement
sets the acting user for row-level security itself (`acting.py`), and a root's first statement
also reads the caller's account (one round trip per statement). SQLite runs the plain statements
through SQLAlchemy in one transaction, and reads the account by itself when no statement
carried it.
"""

from __future__ import annotations

import uuid
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
    # Its rows end with the account's columns (`ACCOUNT_COLUMNS`), at least its first row.
    carries_account: bool = False
    scalar: bool = False  # one value, not rows


@dataclass(frozen=True, slots=True)
class Account:
    """The caller's account as this transaction sees it."""

    is_active: bool
    tokens_valid_after: datetime | None
    role: str
    totp_enabled: bool


@dataclass(frozen=True, slots=True)
class ReadResult:
    results: list[Any]  # per read: its rows, or its value
    account: Account | None  # None: the account no longer exists


def _account(row: Any, offset: int) -> Account | None:
    if row is None or row[offset] is None:
        return None
    return Account(bool(row[offset]), row[offset + 1], str(row[offset + 2]), bool(row[offset + 3]))


def _carried(read: Read, rows: Any) -> Account | None:
    return _account(rows[0], len(rows[0]) - len(ACCOUNT_COLUMNS)) if rows else None


async def read(
    database: Database, user_id: uuid.UUID, role: str, reads: list[Read], account: Read
) -> ReadResult:
    if role not in ROLES:
        raise ValueError("unknown database role")
    if database.is_postgres:
        return await _read_postgres(database, uuid.UUID(str(user_id)), role, reads)
    return await _read_sqlite(database, reads, account)


async def _read_postgres(
    database: Database, user_id: uuid.UUID, role: str, reads: list[Read]
) -> ReadResult:
    row_class = _row_class()
    acting = {USER_TEXT: str(user_id), ROLE: role}
    found: list[Any] = []
    state: Account | None = None
    seen_account = False
    async with database.engine.connect() as connection:
        fairy = await connection.get_raw_connection()
        driver: Any = fairy.driver_connection
        for item in reads:
            compiled = _compiled(item)
            database.driver_statement(compiled.sql)
            arguments = compiled.bind({**item.values, **acting})
            if item.scalar:
                found.append(await driver.fetchval(compiled.sql, *arguments))
                continue
            rows = await driver.fetch(compiled.sql, *arguments, record_class=row_class)
            if item.carries_account and not seen_account:
                # Every acting statement yields at least its actor row: no row, no account.
                state, seen_account = _carried(item, rows), True
            found.append(rows)
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


async def _read_sqlite(database: Database, reads: list[Read], account: Read) -> ReadResult:
    found: list[Any] = []
    state: Account | None = None
    seen_account = False
    async with database.engine.connect() as connection, connection.begin():
        for item in reads:
            result = await connection.execute(item.statement, item.values)
            if item.scalar:
                found.append(result.scalar_one())
                continue
            rows = result.all()
            if item.carries_account and rows and not seen_account:
                state, seen_account = _carried(item, rows), True
            found.append(rows)
        if not seen_account:
            row = (await connection.execute(account.statement, account.values)).first()
            state = _account(row, 0)
    return ReadResult(found, state)
