"""The `resources` root: a keyset page of the caller's resources, plain node fields only.

Compiled: which connection fields, edge fields and node fields to write (`connection_plan`, also
used for the nested pages of `credentials`). Prepared: the arguments coerced by graphql-core and
converted by Strawberry, then `PageRequest.from_args`, `ResourceCriteria.from_input`,
`resource_ordering` and the cursor codec, as the resolver runs them; the page statement (which
carries the caller's account) and, for `totalCount`, the count. Written: `write_page`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from graphql.execution.collect_fields import FieldDetails
from graphql.execution.values import get_argument_values
from strawberry.types.arguments import convert_arguments

from graph.connections.keyset import Ordering, PageRequest, cursor_binding
from graph.errors import PublicError
from graph.inventory.fast_path.gate import Fallback
from graph.inventory.fast_path.output import PageResult, Unwritable, write_page
from graph.inventory.fast_path.plan import Collecting
from graph.inventory.fast_path.reads import Read
from graph.inventory.fast_path.roots import Asking, Services
from graph.inventory.fast_path.statements import USER, PageShape, columns_for, key_name
from graph.inventory.filters import ResourceCriteria, resource_ordering

# GraphQL field -> what it is made of. Only plain attributes of the row are here.
NODE_FIELDS = frozenset(
    {
        "id",
        "provider",
        "type",
        "nativeType",
        "resourceId",
        "name",
        "region",
        "account",
        "status",
        "tags",
        "metadata",
        "configuration",
        "costPerHour",
        "estimatedMonthlyCost",
        "costSource",
        "firstSeenAt",
        "lastSyncedAt",
        "deletedAt",
        "__typename",
    }
)
PAGE_INFO_FIELDS = frozenset(
    {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"}
)
EDGE_FIELDS = frozenset({"cursor", "node", "__typename"})
CONNECTION_FIELDS = frozenset({"edges", "pageInfo", "totalCount", "__typename"})
# Ways the regular path refuses arguments: each sends the request to it.
REFUSALS = (GraphQLError, PublicError, ValueError, TypeError)
UNWRITABLE = (Unwritable, KeyError, TypeError, ValueError, AttributeError)


@dataclass(frozen=True, slots=True)
class ConnectionPlan:
    """A `ResourceConnection` selection: keys to write, and what they need read."""

    # (response key, connection field name, sub-plan)
    connection: tuple[tuple[str, str, Any], ...]
    needs_count: bool
    node_fields: tuple[str, ...]  # every node field name read (for the selected columns)


def connection_plan(collecting: Collecting, group: list[FieldDetails]) -> ConnectionPlan:
    connection: list[tuple[str, str, Any]] = []
    needs_count = False
    read: set[str] = set()
    for sub_key, name, sub_group in collecting.subfields(
        "ResourceConnection", group, CONNECTION_FIELDS
    ):
        if name == "edges":
            edge: list[tuple[str, str, Any]] = []
            for edge_key, edge_name, edge_group in collecting.subfields(
                "ResourceEdge", sub_group, EDGE_FIELDS
            ):
                if edge_name == "node":
                    fields = tuple(
                        (node_key, node_name)
                        for node_key, node_name, _ in collecting.subfields(
                            "CloudResource", edge_group, NODE_FIELDS
                        )
                    )
                    read.update(name for _, name in fields)
                    edge.append((edge_key, edge_name, fields))
                else:
                    edge.append((edge_key, edge_name, None))
            connection.append((sub_key, name, tuple(edge)))
        elif name == "pageInfo":
            info = tuple(
                (info_key, info_name)
                for info_key, info_name, _ in collecting.subfields(
                    "PageInfo", sub_group, PAGE_INFO_FIELDS
                )
            )
            connection.append((sub_key, name, info))
        else:
            needs_count = needs_count or name == "totalCount"
            connection.append((sub_key, name, None))
    return ConnectionPlan(tuple(connection), needs_count, tuple(sorted(read)))


def write_connection(
    services: Services,
    plan: ConnectionPlan,
    rows: Sequence[Any],
    count: int | None,
    *,
    columns: tuple[str, ...],
    request: PageRequest,
    ordering: Ordering,
    binding: str,
) -> dict[str, Any]:
    costs = services.settings.enable_cost_tracking
    index = {name: position for position, name in enumerate(columns)}
    try:
        return write_page(
            plan.connection,
            lambda fields: services.nodes.get(fields, columns, costs=costs),
            PageResult(rows, count),
            size=request.size,
            forward=request.forward,
            came_from_cursor=request.cursor is not None,
            ordering=ordering,
            codec=services.codec,
            binding=binding,
            index=index,
        )
    except UNWRITABLE as error:
        raise Fallback from error


@dataclass(frozen=True, slots=True)
class PagePlan:
    """One `resources` root field: its arguments' node and its connection's plan."""

    node: Any
    connection: ConnectionPlan

    def prepare(self, services: Services, asking: Asking) -> PreparedPage:
        try:
            kwargs = arguments(services, "Query", "resources", self.node, asking)
            request = PageRequest.from_args(
                kwargs.get("first"), kwargs.get("after"), kwargs.get("last"), kwargs.get("before")
            )
            criteria = ResourceCriteria.from_input(kwargs.get("filter"))
            ordering = resource_ordering(kwargs.get("order_by"))
            binding = cursor_binding(ordering, caller=str(asking.user_id))
            start = (
                services.codec.decode(binding, request.cursor, ordering.kinds)
                if request.cursor is not None
                else None
            )
        except REFUSALS as error:
            raise Fallback from error
        shape = PageShape(
            columns_for(self.connection.node_fields, ordering),
            criteria,
            ordering,
            request.forward,
            request.size,
            start is not None,
        )
        values = {USER: asking.user_id}
        for index, value in enumerate(start or ()):
            values[key_name(index)] = value
        reads = [Read(*services.statements.page(shape), values, carries_account=True)]
        if self.connection.needs_count:
            counted = services.statements.count(criteria)
            reads.append(Read(*counted, {USER: asking.user_id}, scalar=True))
        return PreparedPage(services, self, shape, request, ordering, binding, reads)


@dataclass(frozen=True, slots=True)
class PreparedPage:
    services: Services
    plan: PagePlan
    shape: PageShape
    request: PageRequest
    ordering: Ordering
    binding: str
    reads: list[Read]

    def write(self, results: Sequence[Any]) -> Any:
        rows = results[0]
        if rows and rows[0][self.shape.columns.index("id")] is None:
            rows = []  # PostgreSQL's outer join row of an empty page (it carries the account)
        return write_connection(
            self.services,
            self.plan.connection,
            rows,
            int(results[1]) if len(results) > 1 else None,
            columns=self.shape.columns,
            request=self.request,
            ordering=self.ordering,
            binding=self.binding,
        )


def arguments(services: Services, type_name: str, field: str, node: Any, asking: Asking) -> Any:
    """The field's arguments as its resolver receives them (coerced, then converted)."""
    field_def, definitions = services.field(type_name, field)
    values = get_argument_values(field_def, node, asking.variables)
    return convert_arguments(
        values,
        definitions,
        scalar_registry=services.schema.schema_converter.scalar_registry,
        config=services.schema.config,
    )


def compile_page(collecting: Collecting, key: str, group: list[FieldDetails]) -> PagePlan:
    return PagePlan(group[0].node, connection_plan(collecting, group))
