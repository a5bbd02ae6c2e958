"""Compiling an operation into an output plan: which roots to read and which keys to write.

A document is parsed and validated once, with the rules the regular pipeline applies; an
operation whose every root field is one the fast path serves (`roots.py`: each root kind compiles
its own selection) becomes a `DocumentPlan`. Fields are
collected with graphql-core's own `collect_fields`/`collect_subfields` (fragments, inline
fragments, aliases, field merging, `@skip`/`@include`), so response keys come out in the order
graphql-core would write them. Conditions that read variables make the collected shape depend on
their values: a `DocumentPlan` keeps one `OperationPlan` per combination of those values.

Anything a root kind does not list — another root field, a resolver field (`credential`,
`relations`, or any field added later), another directive — makes the operation unsupported, and
the regular execution serves it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
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

CONDITIONS = frozenset({"skip", "include"})


class Unsupported(Exception):
    """The operation uses something the fast path does not produce."""


@dataclass(frozen=True, slots=True)
class OperationPlan:
    # (response key, the root's plan or None for `__typename`)
    roots: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Collecting:
    """What collecting a selection needs: the schema, the document, the variables' values."""

    schema: GraphQLSchema
    plan: DocumentPlan
    variables: VariableValues

    def subfields(
        self, type_name: str, group: list[FieldDetails], allowed: frozenset[str] | None = None
    ) -> list[tuple[str, str, list[FieldDetails]]]:
        """(response key, field name, field group) of `group`'s selection on `type_name`, in
        graphql-core's order; a field outside `allowed` (when given) or with arguments is
        unsupported."""
        runtime_type = self.schema.get_type(type_name)
        if not isinstance(runtime_type, GraphQLObjectType):
            raise Unsupported
        collected = collect_subfields(
            self.schema,
            self.plan.fragments,
            self.variables,
            self.plan.operation,
            runtime_type,
            group,
        )
        _plain(collected)
        fields: list[tuple[str, str, list[FieldDetails]]] = []
        for key, sub_group in collected.grouped_field_set.items():
            name = sub_group[0].node.name.value
            if allowed is not None and (
                name not in allowed or any(details.node.arguments for details in sub_group)
            ):
                raise Unsupported
            fields.append((key, name, sub_group))
        return fields


# Compiles one root field's group (response key, field group) into its plan.
Compile = Callable[[Collecting, str, list[FieldDetails]], Any]


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
    schema: GraphQLSchema,
    plan: DocumentPlan,
    variables: VariableValues,
    roots: Mapping[str, Compile],
) -> OperationPlan | None:
    """The collected shape for these condition values (cached on the plan)."""
    key = tuple(variables.coerced.get(name) for name in plan.condition_variables)
    if key in plan.shapes:
        return plan.shapes[key]
    try:
        shape: OperationPlan | None = _collect(Collecting(schema, plan, variables), roots)
    except Unsupported:
        shape = None
    if len(plan.shapes) < 64:  # conditions from many variables: keep the first combinations
        plan.shapes[key] = shape
    return shape


def _collect(collecting: Collecting, roots: Mapping[str, Compile]) -> OperationPlan:
    schema, plan = collecting.schema, collecting.plan
    query_type = schema.query_type
    if query_type is None:
        raise Unsupported
    collected = collect_fields(
        schema, plan.fragments, collecting.variables, query_type, plan.operation
    )
    _plain(collected)
    found: list[tuple[str, Any]] = []
    for key, group in collected.grouped_field_set.items():
        name = group[0].node.name.value
        if name == "__typename":
            found.append((key, None))
        elif name in roots:
            found.append((key, roots[name](collecting, key, group)))
        else:
            raise Unsupported
    if not any(root is not None for _, root in found):
        raise Unsupported
    return OperationPlan(tuple(found))


def _plain(collected: Any) -> None:
    if collected.new_defer_usages or collected.forbidden_directive_instances:
        raise Unsupported
