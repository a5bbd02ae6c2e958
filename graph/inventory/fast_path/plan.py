"""Compiling an operation into an output plan: which pages to read and which keys to write.

A document is parsed and validated once, with the rules the regular pipeline applies; an
operation whose every selection is on the whitelist below becomes a `DocumentPlan`. Fields are
collected with graphql-core's own `collect_fields`/`collect_subfields` (fragments, inline
fragments, aliases, field merging, `@skip`/`@include`), so response keys come out in the order
graphql-core would write them. Conditions that read variables make the collected shape depend on
their values: a `DocumentPlan` keeps one `OperationPlan` per combination of those values.

Anything not listed — another root field, a resolver field of `CloudResource` (`credential`,
`relations`, or any field added later), another directive — makes the operation unsupported, and
the regular execution serves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    get_operation_ast,
    parse,
    specified_rules,
    visit,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.schema.schema import validate_document

from graph.hardening.rules import LIMIT_RULES, MAX_TOKENS
from graph.inventory.fast_path import compat  # noqa: F401 - checks graphql-core on import

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
ROOT_FIELD = "resources"
CONDITIONS = frozenset({"skip", "include"})


class Unsupported(Exception):
    """The operation uses something the fast path does not produce."""


@dataclass(frozen=True, slots=True)
class PagePlan:
    """One `resources` root field: its arguments' node and the keys to write."""

    key: str
    node: FieldNode
    # (response key, connection field name, sub-plan)
    connection: tuple[tuple[str, str, Any], ...]
    needs_cursors: bool
    needs_count: bool
    node_fields: tuple[str, ...]  # every node field name read (for the selected columns)


@dataclass(frozen=True, slots=True)
class OperationPlan:
    # (response key, PagePlan or None for `__typename`)
    roots: tuple[tuple[str, PagePlan | None], ...]


@dataclass
class DocumentPlan:
    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]
    # Variables that `@skip`/`@include` read: their values pick the shape.
    condition_variables: tuple[str, ...]
    shapes: dict[tuple[Any, ...], OperationPlan | None] = field(default_factory=dict)
    # Without variables, the cost, text and rate-limit checks only depend on the document:
    # (passes the cost and text checks, the root field calls), kept after the first request.
    unvaried: tuple[bool, list[Any]] | None = None


class _Directives(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.other = False
        self.variables: set[str] = set()

    def enter_directive(self, node: Any, *_: Any) -> None:
        if node.name.value not in CONDITIONS:
            self.other = True
        for argument in node.arguments or ():
            if isinstance(argument.value, VariableNode):
                self.variables.add(argument.value.name.value)


def compile_document(
    schema: GraphQLSchema, query: str, operation_name: str | None, *, production: bool
) -> DocumentPlan | None:
    """The plan of a valid, supported query operation; None for anything else."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    rules = (*specified_rules, *LIMIT_RULES)
    if production:
        rules = (*rules, NoSchemaIntrospectionCustomRule)
    if validate_document(schema, document, rules):
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    fragments: dict[str, FragmentDetails] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            if definition.variable_definitions:
                return None  # fragment arguments (experimental syntax)
            fragments[definition.name.value] = FragmentDetails(definition)
    directives = _Directives()
    visit(document, directives)
    if directives.other:
        return None
    return DocumentPlan(document, operation, fragments, tuple(sorted(directives.variables)))


def shape_of(
    schema: GraphQLSchema, plan: DocumentPlan, variables: VariableValues
) -> OperationPlan | None:
    """The collected shape for these condition values (cached on the plan)."""
    key = tuple(variables.coerced.get(name) for name in plan.condition_variables)
    if key in plan.shapes:
        return plan.shapes[key]
    try:
        shape: OperationPlan | None = _collect(schema, plan, variables)
    except Unsupported:
        shape = None
    if len(plan.shapes) < 64:  # conditions from many variables: keep the first combinations
        plan.shapes[key] = shape
    return shape


def _collect(schema: GraphQLSchema, plan: DocumentPlan, variables: VariableValues) -> OperationPlan:
    query_type = schema.query_type
    if query_type is None:
        raise Unsupported
    collected = collect_fields(schema, plan.fragments, variables, query_type, plan.operation)
    _plain(collected)
    roots: list[tuple[str, PagePlan | None]] = []
    for key, group in collected.grouped_field_set.items():
        name = group[0].node.name.value
        if name == "__typename":
            roots.append((key, None))
        elif name == ROOT_FIELD:
            roots.append((key, _page(schema, plan, variables, key, group)))
        else:
            raise Unsupported
    if not any(page is not None for _, page in roots):
        raise Unsupported
    return OperationPlan(tuple(roots))


def _plain(collected: Any) -> None:
    if collected.new_defer_usages or collected.forbidden_directive_instances:
        raise Unsupported


def _sub(
    schema: GraphQLSchema,
    plan: DocumentPlan,
    variables: VariableValues,
    type_name: str,
    group: list[FieldDetails],
    allowed: frozenset[str],
) -> list[tuple[str, str, list[FieldDetails]]]:
    runtime_type = schema.get_type(type_name)
    if not isinstance(runtime_type, GraphQLObjectType):
        raise Unsupported
    collected = collect_subfields(
        schema, plan.fragments, variables, plan.operation, runtime_type, group
    )
    _plain(collected)
    fields: list[tuple[str, str, list[FieldDetails]]] = []
    for key, sub_group in collected.grouped_field_set.items():
        name = sub_group[0].node.name.value
        if name not in allowed or any(details.node.arguments for details in sub_group):
            raise Unsupported
        fields.append((key, name, sub_group))
    return fields


def _page(
    schema: GraphQLSchema,
    plan: DocumentPlan,
    variables: VariableValues,
    key: str,
    group: list[FieldDetails],
) -> PagePlan:
    connection: list[tuple[str, str, Any]] = []
    needs_cursors = needs_count = False
    read: set[str] = set()
    for sub_key, name, sub_group in _sub(
        schema, plan, variables, "ResourceConnection", group, CONNECTION_FIELDS
    ):
        if name == "edges":
            edge: list[tuple[str, str, Any]] = []
            for edge_key, edge_name, edge_group in _sub(
                schema, plan, variables, "ResourceEdge", sub_group, EDGE_FIELDS
            ):
                if edge_name == "node":
                    fields = tuple(
                        (node_key, node_name)
                        for node_key, node_name, _ in _sub(
                            schema, plan, variables, "CloudResource", edge_group, NODE_FIELDS
                        )
                    )
                    read.update(name for _, name in fields)
                    edge.append((edge_key, edge_name, fields))
                else:
                    needs_cursors = needs_cursors or edge_name == "cursor"
                    edge.append((edge_key, edge_name, None))
            connection.append((sub_key, name, tuple(edge)))
        elif name == "pageInfo":
            info = tuple(
                (info_key, info_name)
                for info_key, info_name, _ in _sub(
                    schema, plan, variables, "PageInfo", sub_group, PAGE_INFO_FIELDS
                )
            )
            needs_cursors = needs_cursors or any(
                info_name in ("startCursor", "endCursor") for _, info_name in info
            )
            connection.append((sub_key, name, info))
        else:
            needs_count = needs_count or name == "totalCount"
            connection.append((sub_key, name, None))
    return PagePlan(
        key=key,
        node=group[0].node,
        connection=tuple(connection),
        needs_cursors=needs_cursors,
        needs_count=needs_count,
        node_fields=tuple(sorted(read)),
    )
