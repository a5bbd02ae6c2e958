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

    def _record_driver(self, statement: str) -> None:
        self.statements.append(statement)


@contextmanager
def counting_statements(runtime: Runtime) -> Iterator[StatementCounter]:
    """Every statement executed on the runtime's engine while the block runs."""
    counter = StatementCounter()
    engine = runtime.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter._record)
    # The read fast path sends its statements on the driver connection itself.
    runtime.database.driver_listeners.append(counter._record_driver)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter._record)
        runtime.database.driver_listeners.remove(counter._record_driver)
