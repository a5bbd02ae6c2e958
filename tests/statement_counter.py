"""Counts the SQL statements the server sends, to pin N+1-free request costs.

Only the statements of the work being measured count: those sent from the block's own context or
from tasks it starts (they copy the context), and those of HTTP/WebSocket requests (a served
server handles them in tasks of its own). A server's background loops (the job queue's poll, the
schedulers) are neither, so a poll that happens to fall inside the block is not charged to the
request being measured.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event

from core.request_context import current_request
from graph.runtime import Runtime

_ACTIVE: ContextVar[StatementCounter | None] = ContextVar("statement_counter", default=None)


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self._record_driver(statement)

    def _record_driver(self, statement: str) -> None:
        if _ACTIVE.get() is self or current_request() is not None:
            self.statements.append(statement)


@contextmanager
def counting_statements(runtime: Runtime) -> Iterator[StatementCounter]:
    """Every statement the block (and the tasks it starts) executes on the runtime's engine."""
    counter = StatementCounter()
    engine = runtime.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter._record)
    # The read fast path sends its statements on the driver connection itself.
    runtime.database.driver_listeners.append(counter._record_driver)
    active = _ACTIVE.set(counter)
    try:
        yield counter
    finally:
        _ACTIVE.reset(active)
        event.remove(engine, "before_cursor_execute", counter._record)
        runtime.database.driver_listeners.remove(counter._record_driver)
