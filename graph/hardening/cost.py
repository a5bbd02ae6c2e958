"""Worst-case size of a query, from the page sizes of its connections (GitHub's model).

Every field returning a `…Connection` fetches up to `first`/`last` nodes (1–100, default 20) for
each parent node; a plain list holds its `limit`/`first` argument's count, else LIST_ESTIMATE.
The cost is the total number of nodes the query could return. GitHub allows 500,000; here a row
of a dozen fields costs about 80 µs of CPU (README, "Query limits"), so 500,000 nodes would
be ~40 s of one core. The budget of 10,000 nodes keeps the worst case near one second and still
allows every single-level page of 100, and a nested page of 100 under a short list.

Cost is linear in the multiplier, so each fragment is measured once at multiplier 1 and scaled:
the walk is linear in the document even for fragment fan-out bombs, and cycles count as 0.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.pyutils import Undefined

from graph.errors import ErrorCode
from graph.hardening.rules import too_complex

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
LIST_ESTIMATE = 10
MAX_NODES = 10_000


class PageSizeError(GraphQLError):
    def __init__(self, message: str, node: FieldNode) -> None:
        super().__init__(message, nodes=[node], extensions={"code": ErrorCode.BAD_REQUEST.value})


def page_size(field: FieldNode, variables: dict[str, Any]) -> int:
    """The page a connection field asks for; out-of-range or non-integer sizes are refused."""
    sizes: list[int] = []
    for argument in field.arguments or ():
        name = argument.name.value
        if name not in ("first", "last"):
            continue
        value = value_from_ast_untyped(argument.value, variables)
        if value is None or value is Undefined:  # Undefined: a variable that was not sent
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise PageSizeError(f"'{name}' on '{field.name.value}' must be an integer.", field)
        if not 1 <= value <= MAX_PAGE_SIZE:
            raise PageSizeError(
                f"'{name}' on '{field.name.value}' must be between 1 and {MAX_PAGE_SIZE}.", field
            )
        sizes.append(value)
    return max(sizes) if sizes else DEFAULT_PAGE_SIZE


def _list_size(field: FieldNode, definition: GraphQLField, variables: dict[str, Any]) -> int:
    """A plain list's size: its `limit`/`first` argument (sent, else the schema's default),
    else LIST_ESTIMATE."""
    sent = {argument.name.value: argument.value for argument in field.arguments or ()}
    for name in ("limit", "first", "last"):
        if name in sent:
            value = value_from_ast_untyped(sent[name], variables)
        elif name in definition.args:
            value = definition.args[name].default_value
        else:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return LIST_ESTIMATE


class _CostWalker:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]):
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.fragment_costs: dict[str, int] = {}
        self.in_progress: set[str] = set()

    def selection_set(self, parent: GraphQLNamedType | None, node: SelectionSetNode | None) -> int:
        """Nodes fetched by one instance of `parent` selecting `node`."""
        if node is None:
            return 0
        total = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(target, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> int:
        if name in self.fragment_costs:
            return self.fragment_costs[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.in_progress:
            return 0
        self.in_progress.add(name)
        try:
            target = self.schema.get_type(definition.type_condition.name.value)
            cost = self.selection_set(target, definition.selection_set)
        finally:
            self.in_progress.discard(name)
        self.fragment_costs[name] = cost
        return cost

    def field(self, parent: GraphQLNamedType | None, node: FieldNode) -> int:
        if node.name.value.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if parent.name.endswith("Connection"):
            # `edges`/`nodes` of a connection: the page size was counted on the connection.
            return self.selection_set(named, node.selection_set)
        if named.name.endswith("Connection"):
            items = page_size(node, self.variables)
        elif is_list_type(get_nullable_type(definition.type)):
            items = _list_size(node, definition, self.variables)
        else:
            return self.selection_set(named, node.selection_set)
        return items + items * self.selection_set(named, node.selection_set)


def effective_variables(
    operation: OperationDefinitionNode, variables: dict[str, Any] | None
) -> dict[str, Any]:
    """The variables as execution will see them: provided values over declared defaults
    (else `query($n: Int = 500)` would slip a page size past the check)."""
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        if definition.default_value is not None:
            values[definition.variable.name.value] = value_from_ast_untyped(
                definition.default_value
            )
    values.update(variables or {})
    return values


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any] | None,
) -> int:
    """Worst-case node count; raises PageSizeError for a bad `first`/`last`."""
    root = schema.get_root_type(operation.operation)
    return _CostWalker(schema, document, effective_variables(operation, variables)).selection_set(
        root, operation.selection_set
    )


def check_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any] | None,
) -> GraphQLError | None:
    """The error refusing this operation, or None when it fits the budget."""
    try:
        cost = operation_cost(schema, document, operation, variables)
    except PageSizeError as error:
        return error
    if cost > MAX_NODES:
        return too_complex(
            f"The query could return up to {cost} nodes; the limit is {MAX_NODES}. "
            "Ask for smaller pages or fewer nested connections.",
            operation,
            cost=cost,
            maxCost=MAX_NODES,
        )
    return None
