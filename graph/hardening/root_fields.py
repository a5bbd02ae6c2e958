"""The root fields an operation will execute, as the rate limiter counts them."""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    OperationDefinitionNode,
    value_from_ast_untyped,
)

from graph.hardening.cost import effective_variables
from graph.hardening.fragments import fragments_of
from security.password_policy import normalize_email
from security.ratelimit import FieldCall

MAX_COUNTED_CALLS = 1000


def root_field_calls(
    document: DocumentNode, operation: OperationDefinitionNode, variables: dict[str, Any] | None
) -> list[FieldCall]:
    """One call per root field node, aliases and fragments included (`@skip` is ignored:
    counting a skipped field is the safe side)."""
    values = effective_variables(operation, variables)
    calls: list[FieldCall] = []
    # A named fragment executes once however often it is spread: counted once too.
    for node in fragments_of(document).fields(operation.selection_set):
        calls.append(FieldCall(node.name.value, _input_email(node, values)))
        if len(calls) >= MAX_COUNTED_CALLS:
            break  # already over any sensible limit; no need to walk a huge document further
    return calls


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
