"""Keyset (seek) pagination over any SQLAlchemy select: no OFFSET, stable under inserts.

An `Ordering` is a list of sort keys ending in a unique column (the row id), so every row has one
position. `after`/`before` cursors hold a row's key values; the next page is the rows strictly
after them in the ordering, found with an index seek instead of skipping rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from graph.connections.cursors import CursorCodec, KeyKind
from graph.errors import BadRequest
from graph.page_bounds import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class SortKey:
    expression: Any  # a column or SQL expression
    kind: KeyKind
    # Reads the key's value from a fetched row (the same value the expression computes in SQL).
    extract: Callable[[Any], Any]
    descending: bool = False
    # The row column holding the value, when the key is a plain column (`extract` reads it):
    # lets a reader fetch every key of a row by position at once.
    column: str | None = None


@dataclass(frozen=True, slots=True)
class Ordering:
    """A total order; `name` is signed into cursors, so a cursor only works for its own ordering."""

    name: str
    keys: tuple[SortKey, ...]

    @property
    def kinds(self) -> tuple[KeyKind, ...]:
        return tuple(key.kind for key in self.keys)

    def values(self, row: Any) -> tuple[Any, ...]:
        return tuple(key.extract(row) for key in self.keys)

    def order_by(self, *, reverse: bool = False) -> list[ColumnElement[Any]]:
        return [
            key.expression.desc() if key.descending != reverse else key.expression.asc()
            for key in self.keys
        ]

    def after(self, values: Sequence[Any], *, reverse: bool = False) -> ColumnElement[bool]:
        """Rows strictly after `values` in this order (before them when `reverse`)."""
        branches: list[ColumnElement[bool]] = []
        for index, key in enumerate(self.keys):
            equal = [k.expression == v for k, v in zip(self.keys[:index], values, strict=False)]
            beyond = (
                key.expression < values[index]
                if key.descending != reverse
                else key.expression > values[index]
            )
            branches.append(and_(*equal, beyond))
        first = self.keys[0]
        # A redundant bound on the leading key lets the database seek in its index instead of
        # filtering every row through the OR expansion.
        lead = (
            first.expression <= values[0]
            if first.descending != reverse
            else first.expression >= values[0]
        )
        return and_(lead, or_(*branches))


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Validated `first`/`after` or `last`/`before` arguments."""

    size: int
    forward: bool
    cursor: str | None

    @classmethod
    def from_args(
        cls,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> PageRequest:
        if first is not None and last is not None:
            raise BadRequest("Pass either `first` or `last`, not both")
        if last is None and before is not None:
            raise BadRequest("`before` goes with `last`")
        if last is not None and after is not None:
            raise BadRequest("`after` goes with `first`")
        size = last if last is not None else first
        if size is None:
            size = DEFAULT_PAGE_SIZE
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise BadRequest(f"`first` and `last` must be between 1 and {MAX_PAGE_SIZE}")
        if last is not None:
            return cls(size=size, forward=False, cursor=before)
        return cls(size=size, forward=True, cursor=after)


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    cursors: list[str]
    has_next: bool
    has_previous: bool


def seek(
    statement: Select[Any], ordering: Ordering, request: PageRequest, start: Any
) -> Select[Any]:
    """Order `statement`, start it after the decoded cursor values, fetch one extra row."""
    reverse = not request.forward
    if start is not None:
        statement = statement.where(ordering.after(start, reverse=reverse))
    return statement.order_by(*ordering.order_by(reverse=reverse)).limit(request.size + 1)


def cursor_binding(ordering: Ordering, *extra: str, caller: str) -> str:
    """What a cursor is bound to: the ordering, anything else that defines the list, the caller
    (so a cursor of one list, or of another user, is refused by the others)."""
    return "|".join((ordering.name, *extra, caller))


def make_page(
    rows: Sequence[Any],
    ordering: Ordering,
    request: PageRequest,
    codec: CursorCodec,
    binding: str,
) -> Page:
    """Trim the extra row, restore display order, and sign one cursor per row."""
    more = len(rows) > request.size
    kept = list(rows[: request.size])
    if not request.forward:
        kept.reverse()
    encode = codec.encoder(binding, ordering.kinds)
    extractors = [key.extract for key in ordering.keys]
    cursors = [encode([extract(row) for extract in extractors]) for row in kept]
    # A cursor we were given points at a row on the other side, so that side is not empty.
    came_from_cursor = request.cursor is not None
    return Page(
        rows=kept,
        cursors=cursors,
        has_next=more if request.forward else came_from_cursor,
        has_previous=came_from_cursor if request.forward else more,
    )


async def fetch_page(
    session: AsyncSession,
    statement: Select[Any],
    ordering: Ordering,
    request: PageRequest,
    start: tuple[Any, ...] | None,
    codec: CursorCodec,
    binding: str,
    *,
    entities: bool = False,
) -> Page:
    """One page of `statement`; `start` are the already verified values of the request's cursor.

    `entities`: the statement selects one ORM entity; rows are its objects rather than tuples.
    """
    statement = seek(statement, ordering, request, start)
    if entities:
        rows: Sequence[Any] = (await session.scalars(statement)).all()
    else:
        # Plain column rows need none of the ORM's loading machinery: run them as Core.
        rows = (await (await session.connection()).execute(statement)).all()
    return make_page(rows, ordering, request, codec, binding)
