"""Writing a page's response straight from driver rows: one dict per edge and per node, no
intermediate object, values converted the way the schema's scalars and enums serialize them.

A value the regular path would turn into an error (a null in a non-null field, an enum value the
schema does not know, a float that is not finite) raises `Unwritable`, and the whole request is
served by the regular path instead, which reports it with its usual error and path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from graphql import GraphQLEnumType, GraphQLSchema

from graph.connections.cursors import CursorCodec
from graph.connections.keyset import Ordering
from graph.inventory.types import HOURS_PER_MONTH
from graph.node import global_id_encoder

Convert = Callable[[Any], Any]


class Unwritable(Exception):
    """A value only the regular path can report on."""


def _enum_names(schema: GraphQLSchema, name: str) -> dict[Any, str]:
    """Stored value -> the GraphQL name its Python member serializes to."""
    enum_type = schema.get_type(name)
    if not isinstance(enum_type, GraphQLEnumType):
        raise TypeError(f"{name} is not an enum")
    return {getattr(v.value, "value", v.value): key for key, v in enum_type.values.items()}


def _required(value: Any) -> Any:
    if value is None:
        raise Unwritable
    return value


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


_resource_id = global_id_encoder("CloudResource")


NodeWriter = Callable[[Sequence[Any]], dict[str, Any]]
# A response key as the GraphQL lexer produces it (nothing else reaches generated code).
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_COSTS = frozenset({"costPerHour", "estimatedMonthlyCost", "costSource"})
# Node fields copied as they are: NOT NULL text columns.
_TEXT = {
    "nativeType": "native_type",
    "resourceId": "resource_id",
    "name": "name",
    "region": "region",
    "account": "account",
}
_JSON = {"tags": "tags", "metadata": "metadata_", "configuration": "configuration"}
_ENUMS = {"provider": "Provider", "type": "ResourceType", "status": "ResourceStatus"}
_MOMENTS = {"firstSeenAt": "first_seen_at", "lastSyncedAt": "last_synced_at"}


class Converters:
    """Per schema: writes each node selection as one generated function of the row.

    The function is a single dict display, `{"id": _gid(r[0]), "name": r[3], …}`, so a row costs
    one call and only the conversions it needs — the per-row work graphql-jit and Grafast compile
    to. Its keys are response keys checked against the GraphQL name grammar; its values read row
    positions and the helpers below, nothing from the request.
    """

    def __init__(self, schema: GraphQLSchema) -> None:
        self.enums = {name: _enum_names(schema, type_name) for name, type_name in _ENUMS.items()}

    def node_writer(
        self, fields: Sequence[tuple[str, str]], index: dict[str, int], *, costs: bool
    ) -> NodeWriter:
        namespace: dict[str, Any] = {
            "_gid": _resource_id,
            "_finite": _finite,
            "_monthly": _monthly,
            "_json": _required,
            **{f"_{name}": names for name, names in self.enums.items()},
        }
        entries = []
        for key, name in fields:
            if not _NAME.fullmatch(key):
                raise ValueError("not a GraphQL name")
            entries.append(f"{key!r}: {self._value(name, index, costs=costs)}")
        source = "def write(r):\n    return {" + ", ".join(entries) + "}\n"
        exec(compile(source, "<fast path node writer>", "exec"), namespace)  # noqa: S102
        writer: NodeWriter = namespace["write"]
        return writer

    def _value(self, name: str, index: dict[str, int], *, costs: bool) -> str:
        if name == "__typename":
            return "'CloudResource'"
        if name in _COSTS and not costs:
            return "None"
        if name == "id":
            return f"_gid(r[{index['id']}])"
        if name in _TEXT:
            return f"r[{index[_TEXT[name]]}]"
        if name in _JSON:
            return f"_json(r[{index[_JSON[name]]}])"
        if name in _ENUMS:
            return f"_{name}[r[{index[name]}]]"  # an unknown value: KeyError, the regular path
        if name in _MOMENTS:
            return f"r[{index[_MOMENTS[name]]}].isoformat()"  # None: AttributeError, likewise
        if name == "deletedAt":
            position = index["deleted_at"]
            return f"(None if r[{position}] is None else r[{position}].isoformat())"
        hourly = index["cost_per_hour"]
        if name == "costPerHour":
            return f"_finite(r[{hourly}])"
        if name == "estimatedMonthlyCost":
            return f"_monthly(r[{hourly}])"
        if name == "costSource":
            return f"(None if r[{hourly}] is None else r[{index['cost_source']}])"
        raise ValueError(f"no writer for {name}")


class NodeWriters:
    """Generated node writers by (selection, columns, costs shown), kept across requests."""

    def __init__(self, converters: Converters, size: int = 1024) -> None:
        self.converters = converters
        self.size = size
        self._writers: dict[tuple[Any, ...], NodeWriter] = {}

    def get(
        self, fields: tuple[tuple[str, str], ...], columns: tuple[str, ...], *, costs: bool
    ) -> NodeWriter:
        key = (fields, columns, costs)
        found = self._writers.get(key)
        if found is None:
            index = {name: position for position, name in enumerate(columns)}
            found = self.converters.node_writer(fields, index, costs=costs)
            if len(self._writers) > self.size:
                self._writers.clear()
            self._writers[key] = found
        return found


@dataclass(frozen=True, slots=True)
class PageResult:
    rows: Sequence[Any]  # up to size + 1 rows in fetch order
    count: int | None


def write_page(
    connection: Sequence[tuple[str, str, Any]],
    writer_for: Callable[[tuple[tuple[str, str], ...]], NodeWriter],
    result: PageResult,
    *,
    size: int,
    forward: bool,
    came_from_cursor: bool,
    ordering: Ordering,
    codec: CursorCodec,
    binding: str,
    index: dict[str, int],
) -> dict[str, Any]:
    """The connection's value, keys in the plan's order (as `keyset.make_page` pages it)."""
    rows = result.rows
    more = len(rows) > size
    kept = list(rows[:size])
    if not forward:
        kept.reverse()
    encode = codec.encoder(binding, ordering.kinds)
    columns = [key.column for key in ordering.keys]
    if len(columns) > 1 and None not in columns:
        # Plain column keys: all of a row's values in one C call.
        cursor: Callable[[Any], str] = _by_position(encode, [index[c] for c in columns if c])
    else:
        extractors = [key.extract for key in ordering.keys]

        def cursor(row: Any) -> str:
            return encode([extract(row) for extract in extractors])

    edge_cursors = any(
        name == "cursor" for _, field, sub in connection if field == "edges" for _, name, _ in sub
    )
    cursors = [cursor(row) for row in kept] if edge_cursors else None
    has_next = more if forward else came_from_cursor
    has_previous = came_from_cursor if forward else more
    value: dict[str, Any] = {}
    for key, field, sub in connection:
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


def _by_position(encode: Callable[[Any], str], positions: list[int]) -> Callable[[Any], str]:
    values = itemgetter(*positions)
    return lambda row: encode(values(row))


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
                edge[key] = writer(row)
            elif name == "cursor" and cursors is not None:
                edge[key] = cursors[position]
            else:
                edge[key] = "ResourceEdge"
        edges.append(edge)
    return edges
