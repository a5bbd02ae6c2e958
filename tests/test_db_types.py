"""The SQLite datetime text the write path binds is the dialect's own storage format."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.dialects import sqlite

from db.types import SQLiteDateTimeText, UTCDateTime

MOMENTS = [
    datetime(2026, 12, 1, 18, 27, 24, 123456),
    datetime(2026, 12, 1, 18, 27, 24),  # no microseconds: still six digits
    datetime(999, 1, 2, 3, 4, 5, 6),  # a year below 1000: still four digits
    datetime(1, 1, 1),
    datetime(9999, 12, 31, 23, 59, 59, 999999),
    datetime(2024, 2, 29, 0, 0, 0, 1, fold=1),
]


def test_the_text_equals_the_dialects_storage_format_value_by_value() -> None:
    # given the dialect's own processor and ours
    dialect = sqlite.dialect()
    theirs: Any = sqlite.DATETIME().bind_processor(dialect)  # type: ignore[no-untyped-call]
    ours: Any = SQLiteDateTimeText().bind_processor(dialect)
    # when each moment is bound twice in a row (the second from the kept text), then one apart
    for moment in MOMENTS + MOMENTS[::-1]:
        # then both write the same characters
        assert ours(moment) == theirs(moment)
        assert ours(moment) == theirs(moment)
    # and what is not a naive datetime goes through the dialect's processor as before
    assert ours(None) is None
    assert ours(date(2026, 1, 2)) == theirs(date(2026, 1, 2))
    aware = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert ours(aware) == theirs(aware)
    with pytest.raises(TypeError):
        ours("2026-01-02")


def test_a_utc_column_binds_the_utc_moment_of_an_aware_datetime() -> None:
    # given the column type on SQLite
    dialect = sqlite.dialect()
    process: Any = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    # when an aware datetime of another offset is bound
    moment = datetime(2026, 12, 1, 20, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    # then its UTC wall time is stored, in the dialect's format
    assert process(moment) == "2026-12-01 18:00:00.000005"
    assert process(moment.astimezone(UTC)) == "2026-12-01 18:00:00.000005"
    with pytest.raises(ValueError, match="naive"):
        process(datetime(2026, 12, 1))
