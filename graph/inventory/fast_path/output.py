"""Writing a page's response straight from driver rows: one dict per edge and per node, no
intermediate object, values converted the way the schema's scalars and enums serialize them.

A value the regular path would turn into an error (a null in a non-null field, an enum value the
schema does not know, a float that is not finite) raises `Unwritable`, and the whole request is
served by the regular path instead, which reports it with its usual error and path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLEnumType, GraphQLSchema

from graph.connections.cursors import CursorCodec
from graph.connections.keyset import Ordering
from graph.inventory.fast_path.plan import PagePlan
from graph.inventory.types import HOURS_PER_MONTH
from graph.node import to_global_id

Convert = Callable[[Any], Any]


class Unwritable(Exception):
    """A value only the regular path can report on."""


def _enum(schema: GraphQLSchema, name: str) -> Convert:
    enum_type = schema.get_type(name)
    if not isinstance(enum_type, GraphQLEnumType):
        raise TypeError(f"{name} is not an enum")
    # Stored value -> the GraphQL name its Python member serializes to.
    names = {getattr(value.value, "value", value.value): key for key, value in enum_type.values.items()}

    def convert(value: Any) -> Any:
        found = names.get(value)
        if found is None:
            raise Unwritable
        return found

    return convert


def _required(value: Any) -> Any:
    if value is None:
        raise Unwritable
    return value


def _moment(value: Any) -> Any:
    if value is None:
        raise Unwritable
    return value.isoformat()


def _optional_moment(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _finite(value: Any) -> Any:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise Unwritable
    return number


def _monthly(value: Any) -> Any:
    if value is None:
        return None
    return _finite(round(value * HOURS_PER_MONTH, 2))


def _resource_id(value: Any) -> Any:
    return to_global_id("CloudResource", value)


def _null(_: Any) -> Any:
    return None


@dataclass(frozen=True, slots=True)
class NodeWriter:
    # (response key, column index, conversion or None to copy the value)
    steps: tuple[tuple[str, int, Convert | None], ...]

    def write(self, row: Sequence[Any]) -> dict[str, Any]:
        node: dict[str, Any] = {}
        for key, index, convert in self.steps:
            value = row[index]
            node[key] = value if convert is None else convert(value)
        return node


@dataclass(frozen=True, slots=True)
class GatedNodeWriter(NodeWriter):
    """With `costSource`, which shows only when `costPerHour` does: it reads both columns."""

    # (response key, source column, cost column)
    gated: tuple[tuple[str, int, int], ...] = ()
    keys: tuple[str, ...] = ()

    def write(self, row: Sequence[Any]) -> dict[str, Any]:
        node = NodeWriter.write(self, row)
        for key, source, hourly in self.gated:
            node[key] = row[source] if row[hourly] is not None else None
        # Keys in the selection's order, as graphql-core writes them.
        return {key: node[key] for key in self.keys}


class Converters:
    """Per schema: how each node field is written from its column."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.by_field: dict[str, tuple[str, Convert | None]] = {
            "id": ("id", _resource_id),
            "provider": ("provider", _enum(schema, "Provider")),
            "type": ("type", _enum(schema, "ResourceType")),
            "nativeType": ("native_type", _required),
            "resourceId": ("resource_id", _required),
            "name": ("name", _required),
            "region": ("region", _required),
            "account": ("account", _required),
            "status": ("status", _enum(schema, "ResourceStatus")),
            "tags": ("tags", _required),
            "metadata": ("metadata_", _required),
            "configuration": ("configuration", _required),
            "costPerHour": ("cost_per_hour", _finite),
            "estimatedMonthlyCost": ("cost_per_hour", _monthly),
            "firstSeenAt": ("first_seen_at", _moment),
            "lastSyncedAt": ("last_synced_at", _moment),
            "deletedAt": ("deleted_at", _optional_moment),
        }

    def node_writer(
        self, fields: Sequence[tuple[str, str]], index: dict[str, int], *, costs: bool
    ) -> NodeWriter:
        steps: list[tuple[str, int, Convert | None]] = []
        gated: list[tuple[str, int, int]] = []
        for key, name in fields:
            if name == "__typename":
                steps.append((key, 0, _typename))
            elif name in ("costPerHour", "estimatedMonthlyCost", "costSource") and not costs:
                steps.append((key, 0, _null))
            elif name == "costSource":
                gated.append((key, index["cost_source"], index["cost_per_hour"]))
            else:
                column, convert = self.by_field[name]
                steps.append((key, index[column], convert))
        if not gated:
            return NodeWriter(tuple(steps))
        return GatedNodeWriter(tuple(steps), tuple(gated), tuple(key for key, _ in fields))


def _typename(_: Any) -> Any:
    return "CloudResource"


@dataclass(frozen=True, slots=True)
class PageResult:
    rows: Sequence[Any]  # up to size + 1 rows in fetch order
    count: int | None


def write_page(
    plan: PagePlan,
    writer_for: Callable[[tuple[tuple[str, str], ...]], NodeWriter],
    result: PageResult,
    *,
    size: int,
    forward: bool,
    came_from_cursor: bool,
    ordering: Ordering,
    codec: CursorCodec,
    binding: str,
) -> dict[str, Any]:
    """The connection's value, keys in the plan's order (as `keyset.make_page` pages it)."""
    rows = result.rows
    more = len(rows) > size
    kept = list(rows[:size])
    if not forward:
        kept.reverse()
    kinds = ordering.kinds
    extractors = [key.extract for key in ordering.keys]

    def cursor(row: Any) -> str:
        return codec.encode(binding, tuple(extract(row) for extract in extractors), kinds)

    edge_cursors = any(
        name == "cursor"
        for _, field, sub in plan.connection
        if field == "edges"
        for _, name, _ in sub
    )
    cursors = [cursor(row) for row in kept] if edge_cursors else None
    has_next = more if forward else came_from_cursor
    has_previous = came_from_cursor if forward else more
    value: dict[str, Any] = {}
    for key, field, sub in plan.connection:
        if field == "edges":
            value[key] = _edges(sub, kept, cursors, writer_for)
        elif field == "pageInfo":
            info: dict[str, Any] = {}
            for info_key, name in sub:
                if name == "hasNextPage":
                    info[info_key] = has_next
                elif name == "hasPreviousPage":
                    info[info_key] = has_previous
                elif name == "__typename":
                    info[info_key] = "PageInfo"
                elif not kept:
                    info[info_key] = None
                elif cursors is not None:
                    info[info_key] = cursors[0] if name == "startCursor" else cursors[-1]
                else:
                    info[info_key] = cursor(kept[0] if name == "startCursor" else kept[-1])
            value[key] = info
        elif field == "totalCount":
            value[key] = result.count
        else:
            value[key] = "ResourceConnection"
    return value


def _edges(
    sub: Sequence[tuple[str, str, Any]],
    kept: list[Any],
    cursors: list[str] | None,
    writer_for: Callable[[tuple[tuple[str, str], ...]], NodeWriter],
) -> list[dict[str, Any]]:
    parts = [
        (key, name, writer_for(fields) if name == "node" else None) for key, name, fields in sub
    ]
    edges: list[dict[str, Any]] = []
    for position, row in enumerate(kept):
        edge: dict[str, Any] = {}
        for key, name, writer in parts:
            if writer is not None:
                edge[key] = writer.write(row)
            elif name == "cursor" and cursors is not None:
                edge[key] = cursors[position]
            else:
                edge[key] = "ResourceEdge"
        edges.append(edge)
    return edges
