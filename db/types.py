"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class SQLiteDateTimeText(sqlite.DATETIME):
    """SQLite's DATETIME, its text written by `isoformat`, the same characters as the dialect's
    storage format (`tests/test_db_types.py`), and the last one kept: a sync binds its one
    listing time to every row it writes (two or three columns a row, thousands of rows), and
    the dialect's formatting of each was a measurable share of the write path."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]

    def bind_processor(self, dialect: Dialect) -> Any:
        general: Any = super().bind_processor(dialect)
        # One (value, text) pair, read and replaced whole.
        last: list[tuple[datetime | None, str]] = [(None, "")]

        def process(value: Any) -> Any:
            if value.__class__ is not datetime or value.tzinfo is not None:
                return general(value)
            seen, text = last[0]
            if seen == value:
                return text
            text = value.isoformat(" ", "microseconds")
            last[0] = (value, text)
            return text

        return process


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes everywhere; SQLite stores naive UTC text that still sorts."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(SQLiteDateTimeText())
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
