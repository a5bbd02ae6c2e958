"""Counts the SQL statements the server sends, to pin N+1-free request costs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from graph.runtime import Runtime


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)


@contextmanager
def counting_statements(runtime: Runtime) -> Iterator[StatementCounter]:
    """Every statement executed on the runtime's engine while the block runs."""
    counter = StatementCounter()
    engine = runtime.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter._record)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter._record)
