"""Compiled statements by shape: positional SQL for asyncpg, statement objects for SQLite.

PostgreSQL gets the acting forms (`acting.py`: the `set_config` and the read in one statement);
SQLite, which has no row-level security to feed, the plain ones (`statements.py`), run through
SQLAlchemy.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect

from graph.inventory.fast_path.acting import acting_count_statement, acting_page_statement
from graph.inventory.fast_path.statements import (
    PageShape,
    account_statement,
    count_statement,
    page_statement,
)
from graph.inventory.filters import ResourceCriteria


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement as the driver runs it: SQL text and its positional arguments."""

    sql: str
    arguments: tuple[Any, ...]
    # Positions of the per-request parameters, with the bind processor of each.
    slots: tuple[tuple[int, str, Callable[[Any], Any] | None], ...]

    def bind(self, values: dict[str, Any]) -> list[Any]:
        arguments = list(self.arguments)
        for position, name, process in self.slots:
            value = values[name]
            arguments[position] = process(value) if process is not None else value
        return arguments


def compile_positional(statement: Select[Any], dialect: Dialect) -> Compiled:
    compiled = statement.compile(dialect=dialect)
    placeholders = {
        name: None for name, bind in compiled.binds.items() if bind.value is None and bind.required
    }
    state = compiled.construct_expanded_state(placeholders)
    processors = state.processors
    arguments: list[Any] = []
    slots: list[tuple[int, str, Callable[[Any], Any] | None]] = []
    for position, name in enumerate(state.positiontup or ()):
        value = state.parameters[name]
        process = processors.get(name)
        if name in placeholders:
            slots.append((position, name, process))
            arguments.append(None)
        else:
            arguments.append(process(value) if process is not None and value is not None else value)
    return Compiled(state.statement, tuple(arguments), tuple(slots))


class StatementCache:
    """Compiled page statements by shape, least recently used first out."""

    def __init__(self, dialect: Dialect, size: int = 512) -> None:
        self.dialect = dialect
        self.size = size
        self.acting = dialect.name == "postgresql"
        self._entries: OrderedDict[tuple[Any, ...], tuple[Select[Any], Compiled | None]] = (
            OrderedDict()
        )

    def page(self, shape: PageShape) -> tuple[Select[Any], Compiled | None]:
        build = acting_page_statement if self.acting else page_statement
        return self.get(("page", *shape.cache_key), lambda: build(shape))

    def count(self, criteria: ResourceCriteria) -> tuple[Select[Any], Compiled | None]:
        build = acting_count_statement if self.acting else count_statement
        return self.get(("count", criteria), lambda: build(criteria))

    def account(self) -> tuple[Select[Any], Compiled | None]:
        return self.get(("account",), account_statement)

    def get(
        self, key: tuple[Any, ...], build: Callable[[], Select[Any]]
    ) -> tuple[Select[Any], Compiled | None]:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return found
        statement = build()
        # Positional SQL for asyncpg; SQLite runs the statement object through SQLAlchemy.
        compiled = (
            compile_positional(statement, self.dialect)
            if self.dialect.name == "postgresql"
            else None
        )
        self._entries[key] = (statement, compiled)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return statement, compiled
