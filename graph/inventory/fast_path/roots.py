"""The protocol of a root field the fast path serves, and what its steps may use.

Each root kind (`page.py`: `resources`; `dashboard.py`: `dashboard`; `credentials.py`:
`credentials`) has three steps: compile its field group once per document shape (`plan.py` calls
it; anything it does not produce raises `Unsupported`), prepare its reads per request (raising
`Fallback` whenever the regular path would refuse or report something), and write its value from
those reads' results (raising `Unwritable` for a value only the regular path can report on).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import strawberry
from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema
from graphql.execution.values import VariableValues

from core.settings import Settings
from graph.connections.cursors import CursorCodec
from graph.inventory.fast_path.compiled import StatementCache
from graph.inventory.fast_path.output import NodeWriters
from graph.inventory.fast_path.reads import Read


@dataclass(frozen=True, slots=True)
class Services:
    """Per server: the schema and the caches every request shares."""

    schema: strawberry.Schema
    graphql: GraphQLSchema
    settings: Settings
    codec: CursorCodec
    statements: StatementCache
    nodes: NodeWriters
    fields: dict[tuple[str, str], tuple[GraphQLField, list[Any]]] = field(default_factory=dict)

    def field(self, type_name: str, name: str) -> tuple[GraphQLField, list[Any]]:
        """The field's graphql-core definition and its Strawberry arguments."""
        found = self.fields.get((type_name, name))
        if found is None:
            object_type = self.graphql.get_type(type_name)
            definition = self.schema.get_field_for_type(name, type_name)
            if not isinstance(object_type, GraphQLObjectType) or definition is None:
                raise TypeError(f"the schema has no {type_name}.{name}")
            found = (object_type.fields[name], definition.arguments)
            self.fields[(type_name, name)] = found
        return found


@dataclass(frozen=True, slots=True)
class Asking:
    """Per request: who asks, and the operation's variables."""

    user_id: uuid.UUID
    variables: VariableValues


class Prepared(Protocol):
    """A root's reads for one request, and how to write its value from their results."""

    @property
    def reads(self) -> Sequence[Read]: ...

    def write(self, results: Sequence[Any]) -> Any:
        """`results` holds one entry per read, in order: its rows, or its value when scalar."""
        ...


class RootPlan(Protocol):
    def prepare(self, services: Services, asking: Asking) -> Prepared: ...
