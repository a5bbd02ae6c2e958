"""The root fields an operation will execute, as the rate limiter counts them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    value_from_ast_untyped,
)

from graph.hardening.cost import effective_variables
from security.password_policy import normalize_email
from security.ratelimit import FieldCall

MAX_COUNTED_CALLS = 1000


def root_field_calls(
    document: DocumentNode, operation: OperationDefinitionNode, variables: dict[str, Any] | None
) -> list[FieldCall]:
    """One call per root field node, aliases and fragments included (`@skip` is ignored:
    counting a skipped field is the safe side)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    values = effective_variables(operation, variables)
    calls: list[FieldCall] = []
    for node in _fields(operation.selection_set, fragments, set()):
        calls.append(FieldCall(node.name.value, _input_email(node, values)))
        if len(calls) >= MAX_COUNTED_CALLS:
            break  # already over any sensible limit; no need to walk a huge document further
    return calls


def _fields(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    visited: set[str],
) -> Iterator[FieldNode]:
    # Like graphql-core's field collection, a named fragment is expanded once per operation:
    # spreading it again executes nothing more, and a fan-out of spreads stays linear.
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments, visited)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in visited:
                visited.add(name)
                yield from _fields(fragment.selection_set, fragments, visited)


def _input_email(node: FieldNode, variables: dict[str, Any]) -> str | None:
    """`input.email`, literal or from variables, normalized the way accounts compare it (an
    address that does not validate is keyed as typed, trimmed and lower-cased)."""
    for argument in node.arguments or ():
        if argument.name.value != "input":
            continue
        value = value_from_ast_untyped(argument.value, variables)
        email = value.get("email") if isinstance(value, dict) else None
        if isinstance(email, str) and email.strip():
            normalized, _ = normalize_email(email)
            return normalized or email.strip().lower()
    return None
