"""The GraphQL side of connections: one generic `Connection`/`Edge`, `PageInfo`, page arguments.

A domain declares its connection once, and the edge type, the field descriptions and `from_page`
come from here:

    @connection(CloudResource, Listing("Resource", "resource", "resources", "A resource"),
                "A page of cloud resources (Relay cursor connection).")
    class ResourceConnection(Connection[CloudResource]):
        pass
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, Protocol, Self, TypeVar, cast

import strawberry
from sqlalchemy import Select

from graph.connections.cursors import CursorCodec, cursor_codec
from graph.connections.keyset import Ordering, Page, PageRequest, cursor_binding, fetch_page
from graph.context import Info
from graph.page_bounds import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

CountFn = Callable[[], Awaitable[int]]

FirstArg = Annotated[
    int | None,
    strawberry.argument(
        description=(
            f"Return the first N items (1–{MAX_PAGE_SIZE}; {DEFAULT_PAGE_SIZE} when neither "
            "is given)."
        )
    ),
]
AfterArg = Annotated[
    str | None,
    strawberry.argument(description="Start after this cursor (an edge's `cursor`)."),
]
LastArg = Annotated[
    int | None, strawberry.argument(description=f"Return the last N items (1–{MAX_PAGE_SIZE}).")
]
BeforeArg = Annotated[
    str | None,
    strawberry.argument(description="End before this cursor (an edge's `cursor`)."),
]


@strawberry.type(description="Where a page sits in the whole list (Relay cursor connections).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item of the page; null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item of the page; null when the page is empty."
    )

    @classmethod
    def from_page(cls, page: Page) -> PageInfo:
        return cls(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        )


@strawberry.type(description="Fields every connection has.")
class ConnectionFields:
    page_info: PageInfo = strawberry.field(description="Pagination state of this page.")
    # How to count every item matching the query; run only when `totalCount` is asked for.
    count_fn: strawberry.Private[CountFn]

    @strawberry.field(description="How many items match the query, across all pages.")
    async def total_count(self) -> int:
        return await self.count_fn()


class RowNode(Protocol):
    """A Node type that builds itself from a row of its list query."""

    @classmethod
    def from_row(cls, row: Any) -> Self: ...


NodeT = TypeVar("NodeT", bound=RowNode)
ConnectionT = TypeVar("ConnectionT", bound="Connection[Any]")


@dataclass
class Edge(Generic[NodeT]):
    """An item of a page with its cursor; `connection` makes the GraphQL type of each kind."""

    cursor: str
    node: NodeT


@dataclass
class Connection(ConnectionFields, Generic[NodeT]):
    """A page of one Node type: edges, `pageInfo` and a lazy `totalCount`."""

    edges: list[Edge[NodeT]]
    node_type: ClassVar[type[Any]]
    edge_type: ClassVar[type[Edge[Any]]]

    @classmethod
    def from_page(cls, page: Page, count: CountFn) -> Self:
        edge, to_node = cls.edge_type, cls.node_type.from_row
        return cls(
            edges=[
                edge(cursor=cursor, node=to_node(row))
                for row, cursor in zip(page.rows, page.cursors, strict=True)
            ],
            page_info=PageInfo.from_page(page),
            count_fn=count,
        )


@dataclass(frozen=True, slots=True)
class Listing:
    """How a kind of node is named in its connection's GraphQL names and descriptions."""

    type_prefix: str  # "Resource" -> ResourceConnection, ResourceEdge
    singular: str  # "resource"
    plural: str  # "resources"
    one: str  # "A resource": how an edge's description starts


def connection(
    node: type[NodeT], listing: Listing, description: str
) -> Callable[[type[ConnectionT]], type[ConnectionT]]:
    """Make `cls` the GraphQL connection of `node`, with its edge type named after `listing`."""

    def build(cls: type[ConnectionT]) -> type[ConnectionT]:
        edge = strawberry.type(
            name=f"{listing.type_prefix}Edge",
            description=f"{listing.one} in a page of {listing.plural}, with its cursor.",
        )(_edge_class(node, listing))
        cls.__annotations__ = {"edges": list[edge]}  # type: ignore[valid-type]
        # The generic field gets this kind's description; strawberry reads it from the class.
        setattr(cls, "edges", strawberry.field(description=f"The {listing.plural} of this page."))  # noqa: B010
        cls.node_type = node
        cls.edge_type = edge
        return strawberry.type(name=f"{listing.type_prefix}Connection", description=description)(
            cls
        )

    return build


def _edge_class(node: type[Any], listing: Listing) -> type[Edge[Any]]:
    def body(namespace: dict[str, Any]) -> None:
        namespace["__annotations__"] = {"cursor": str, "node": node}
        namespace["cursor"] = strawberry.field(
            description=f"Opaque position of this {listing.singular} in the list."
        )
        namespace["node"] = strawberry.field(description=f"The {listing.singular}.")
        namespace["__module__"] = node.__module__

    return types.new_class(f"{listing.type_prefix}Edge", (Edge,), exec_body=body)


def codec(info: Info) -> CursorCodec:
    return cursor_codec(info.context.runtime.settings.secret_key)


def binding(info: Info, ordering: Ordering, *extra: str) -> str:
    """`cursor_binding` for the request's caller."""
    user = info.context.user
    return cursor_binding(ordering, *extra, caller=str(user.id) if user else "anonymous")


def decode_start(
    info: Info, ordering: Ordering, request: PageRequest, bound_to: str
) -> tuple[Any, ...] | None:
    """The cursor's key values, checked before any SQL runs (BAD_REQUEST when not ours)."""
    if request.cursor is None:
        return None
    return codec(info).decode(bound_to, request.cursor, ordering.kinds)


async def paginate(
    info: Info,
    statement: Select[Any],
    count_statement: Select[tuple[int]],
    ordering: Ordering,
    request: PageRequest,
    *extra_binding: str,
    entities: bool = False,
) -> tuple[Page, CountFn]:
    """One page of an already scoped and filtered select, plus a lazy count of all its rows."""
    bound_to = binding(info, ordering, *extra_binding)
    start = decode_start(info, ordering, request, bound_to)
    db = info.context.db
    async with db.session() as session:
        page = await fetch_page(
            session, statement, ordering, request, start, codec(info), bound_to, entities=entities
        )

    async def count() -> int:
        async with db.session() as session:
            return int(await session.scalar(cast(Select[Any], count_statement)) or 0)

    return page, count
