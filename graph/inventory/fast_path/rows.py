"""Rows read by position turned into rows read by attribute, values as SQLAlchemy gives them.

The regular path's row functions (`CloudCredential.from_row`, `SyncJob.from_row`, the dashboard's
`*_of`) read attributes of ORM or Core rows. The fast path hands them tuples of the same names:
on SQLite the values come through SQLAlchemy already; on PostgreSQL straight from asyncpg, so
each column's result processor (enums from their stored names, UTC datetimes) is applied here.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Float, Integer, Numeric
from sqlalchemy.engine import Dialect


class RowShape:
    def __init__(self, columns: Sequence[Any], dialect: Dialect, *, processed: bool) -> None:
        names = [getattr(column, "key", None) or f"column_{i}" for i, column in enumerate(columns)]
        self.tuple_class: Callable[..., Any] = namedtuple("Row", names, rename=True)  # type: ignore[misc]
        self.processors: list[Callable[[Any], Any] | None] = (
            [None] * len(columns) if processed else [_processor(c, dialect) for c in columns]
        )
        self.width = len(columns)

    def make(self, values: Sequence[Any]) -> Any:
        return self.tuple_class(
            *[
                value if process is None or value is None else process(value)
                for value, process in zip(values, self.processors, strict=True)
            ]
        )


def _processor(column: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    if isinstance(column.type, Integer | Float | Numeric):
        return None  # asyncpg returns Python numbers already (these processors want a type code)
    processor: Callable[[Any], Any] | None = column.type._cached_result_processor(dialect, None)
    return processor
