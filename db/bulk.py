"""Many rows written by one statement, bound column by column instead of row by row.

SQLAlchemy's executemany binds each row on its own: the parameters checked against the compiled
statement, a dictionary built, each value passed through its type's processor, then reordered
into the driver's tuple, all in Python, per row. For the tens of thousands of rows a large sync
inserts, that was the biggest share of our write path after SQLite's own work. Here the
statement is compiled once per dialect, with the columns fixed, and the rows are bound by
column: each column's processor (the one SQLAlchemy itself would use: the column type's for
the dialect) is mapped over that column, and the tuples handed to the driver as they are. What
is stored is therefore what SQLAlchemy's own executemany stores (`tests/test_bulk.py` compares
the two, byte for byte, on both databases). The statement goes through the session's
connection, in its transaction, and its events (statement counts, the SQLite writer lock)
see it like any other.

On SQLite a batch goes as one multi-row `INSERT … VALUES (…), (…)` rather than an executemany:
the driver then makes one call into SQLite for the batch, not a bind and a step per row, and
SQLite inserts the whole batch while the driver's thread has let go of the GIL, so the event
loop's thread runs Python meanwhile. A column holding one value in every row of the batch (the
owner's ids, the listing's time) is processed once.

A write whose rows nobody reads back (change records, new findings, relations) can be left in
flight (`behind=True`): the caller goes on with its Python, which then runs while the database
writes, instead of one after the other; the connection's next statement waits for it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import await_

from db.upserts import insert_for

Processor = Callable[[Any], Any]
_SHARED_TYPES = frozenset({uuid.UUID, datetime, type(None)})
# SQLite's limit on a statement's parameters (SQLITE_MAX_VARIABLE_NUMBER): 32,766 since 3.32.0,
# 999 before.
_SQLITE_PARAMETERS = 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


def _rows_sql(sql: str, parameters: int) -> tuple[str, str, str] | None:
    """`sql` split around its VALUES row of `parameters` placeholders, when that row holds every
    placeholder of the statement (qmark style), so repeating it makes a multi-row INSERT."""
    row = "(" + ", ".join(["?"] * parameters) + ")"
    marker = " VALUES " + row
    if sql.count(marker) != 1 or sql.count("?") != parameters:
        return None
    before, after = sql.split(marker)
    return before + " VALUES ", row, after


@dataclass(frozen=True)
class _Plan:
    sql: str
    # For each of the statement's parameters in order: its column's place in a row.
    order: tuple[int, ...]
    processors: tuple[tuple[int, Processor], ...]
    # The statement around its one row of placeholders, when rows can be sent as one
    # multi-row VALUES (SQLite): text before, the row, text after.
    rows_sql: tuple[str, str, str] | None = None
    # Most rows one statement can carry (the database's limit on parameters).
    most_rows: int = 1

    def sql_for(self, count: int) -> str:
        """The statement for `count` rows (built each time: a few microseconds, against the
        milliseconds the rows take to insert)."""
        if count == 1 or self.rows_sql is None:
            return self.sql
        before, row, after = self.rows_sql
        return before + ", ".join([row] * count) + after


class BulkWrite:
    """`statement(insert)` (the dialect's `insert` construct; by default a plain INSERT into
    `table`) executed with many rows, each a mapping holding every one of `columns`."""

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        statement: Callable[[Any], Any] | None = None,
    ) -> None:
        self.table = table
        self.columns = tuple(columns)
        self._statement = statement or (lambda insert: insert(table))
        self._values = itemgetter(*self.columns)
        self._plans: dict[str, _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is not None:
            return plan
        compiled = self._statement(insert_for(dialect.name)).compile(
            dialect=dialect, column_keys=list(self.columns)
        )
        place = {name: index for index, name in enumerate(self.columns)}
        names = list(compiled.positiontup or ())
        if sorted(names) != sorted(self.columns):
            # A column left out that has a Python-side default: SQLAlchemy's own insert would
            # fill it in, this one cannot.
            raise ValueError(
                f"{self.table.name}: the statement's parameters {names} are not the columns "
                f"{list(self.columns)}"
            )
        processors = []
        for name in self.columns:
            column_type = self.table.c[name].type
            processor = column_type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((place[name], processor))
        rows_sql = _rows_sql(compiled.string, len(names)) if dialect.name == "sqlite" else None
        plan = _Plan(
            compiled.string,
            tuple(place[name] for name in names),
            tuple(processors),
            rows_sql,
            max(1, _SQLITE_PARAMETERS // len(names)),
        )
        self._plans[dialect.name] = plan
        return plan

    def bind(self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """The driver's parameters for `rows`, in the statement's order."""
        if not rows:
            return []
        plan = self._plan(dialect)
        values: Iterable[Any] = map(self._values, rows)
        if len(self.columns) == 1:
            values = ((value,) for value in values)
        by_column: list[Any] = list(zip(*values, strict=True))
        count = len(rows)
        for place, processor in plan.processors:
            column = by_column[place]
            first = column[0]
            # A batch's owner ids and listing time are one value in every row: processed
            # once. For these types, equal values are processed alike.
            if type(first) in _SHARED_TYPES and column.count(first) == count:
                by_column[place] = (processor(first),) * count
            else:
                by_column[place] = map(processor, column)
        return list(zip(*(by_column[place] for place in plan.order), strict=True))

    def _statements(
        self, dialect: Dialect, rows: Sequence[Mapping[str, Any]], batch_size: int
    ) -> Iterator[tuple[str, Any]]:
        """Each statement for `rows` and its parameters, a batch bound only when it is reached."""
        plan = self._plan(dialect)
        size = batch_size or len(rows)
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            try:
                parameters = self.bind(dialect, batch)
            except Exception as error:
                # A value its type refuses (its processor raising whatever it raises) fails
                # like it does in SQLAlchemy's own binding, as a StatementError, which the
                # write path isolates row by row.
                raise StatementError(str(error), plan.sql, None, error) from error
            if plan.rows_sql is None or len(parameters) == 1:
                yield plan.sql, parameters
                continue
            for first in range(0, len(parameters), plan.most_rows):
                part = parameters[first : first + plan.most_rows]
                yield plan.sql_for(len(part)), tuple(chain.from_iterable(part))

    async def execute(
        self,
        session: AsyncSession,
        rows: Sequence[Mapping[str, Any]],
        batch_size: int = 0,
        *,
        behind: bool = False,
    ) -> None:
        """Write `rows` in the session's transaction, `batch_size` rows per statement (all at
        once when 0); nothing when there are none. The next batch is bound while the database
        writes the one before.

        `behind`: return as soon as the last statement is on its way, for a write whose caller
        reads nothing back. The connection runs nothing else before it has ended: its next
        statement, commit or rollback waits for it first (`install`), and a failure of it is
        raised there (by a commit, it fails the transaction)."""
        if not rows:
            return
        connection = await session.connection()
        running: asyncio.Future[Any] | None = None
        try:
            for sql, parameters in self._statements(connection.dialect, rows, batch_size):
                if running is not None:
                    previous, running = running, None
                    await previous
                running = asyncio.ensure_future(connection.exec_driver_sql(sql, parameters))
                # Once round the event loop: the statement reaches the driver's thread, and the
                # next batch is bound meanwhile.
                await asyncio.sleep(0)
        finally:
            # Nothing else uses the connection before the statement in flight has ended, even
            # when binding the next batch failed.
            if running is not None:
                if behind:
                    connection.info[_IN_FLIGHT] = running
                else:
                    await running


_IN_FLIGHT = "stratograph_statement_in_flight"


def _wait_in_flight(connection: Connection, *, rolling_back: bool = False) -> None:
    """In SQLAlchemy's greenlet: wait for the connection's statement left in flight, if any
    (raising its failure, unless the transaction is being rolled back anyway)."""
    if connection.invalidated:
        return
    running = connection.info.get(_IN_FLIGHT)
    # The statement in flight passes through the same event on its way to the driver.
    if running is None or running is asyncio.current_task():
        return
    del connection.info[_IN_FLIGHT]
    try:
        await_(running)
    except Exception:
        if not rolling_back:
            raise


def install(engine: Engine) -> None:
    """Make every connection of `engine` wait for a statement `BulkWrite.execute(behind=True)`
    left in flight before it sends the next statement, commits or rolls back."""

    def before_cursor_execute(connection: Connection, *_: Any) -> None:
        _wait_in_flight(connection)

    def rollback(connection: Connection) -> None:
        _wait_in_flight(connection, rolling_back=True)

    # First among the listeners: the SQLite writer lock's sees the statements in their order.
    event.listen(engine, "before_cursor_execute", before_cursor_execute, insert=True)
    event.listen(engine, "commit", _wait_in_flight)
    event.listen(engine, "rollback", rollback)
