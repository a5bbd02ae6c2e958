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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from db.upserts import insert_for

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Plan:
    sql: str
    # For each of the statement's parameters in order: its column's place in a row.
    order: tuple[int, ...]
    processors: tuple[tuple[int, Processor], ...]


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
        plan = _Plan(compiled.string, tuple(place[name] for name in names), tuple(processors))
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
        for place, processor in plan.processors:
            by_column[place] = map(processor, by_column[place])
        return list(zip(*(by_column[place] for place in plan.order), strict=True))

    async def execute(
        self, session: AsyncSession, rows: Sequence[Mapping[str, Any]], batch_size: int = 0
    ) -> None:
        """Write `rows` in the session's transaction, `batch_size` rows per executemany (all
        at once when 0); nothing when there are none."""
        if not rows:
            return
        connection = await session.connection()
        dialect = connection.dialect
        sql = self._plan(dialect).sql
        size = batch_size or len(rows)
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            try:
                parameters = self.bind(dialect, batch)
            except (TypeError, ValueError, LookupError) as error:
                # A value its type refuses fails like it does in SQLAlchemy's own binding, as
                # a StatementError, which the write path isolates row by row.
                raise StatementError(str(error), sql, None, error) from error
            await connection.exec_driver_sql(sql, parameters)
