"""One gate for every string a client sends: no NUL characters, no unpaired surrogates.

PostgreSQL's `text` cannot hold U+0000 (asyncpg raises `DataError` deep inside a resolver) and
neither database nor any UTF-8 encoder can hold a lone surrogate (`\\ud800`). Rather than guard
each field, every string of an operation — literals in the document and values in the variables,
however deeply nested in input objects and lists — is checked here before anything executes. A
refusal is a top-level `BAD_REQUEST` naming where the bad value is (a variable path, or the
literal's location), never the value itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

from graph.errors import ErrorCode
from graph.hardening.extensions import refuse

MESSAGE = "String values must not contain NUL characters or unpaired surrogates."


def unsafe_text(value: str) -> bool:
    """True for a string PostgreSQL or UTF-8 cannot hold."""
    if "\x00" in value:
        return True
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return False


def unsafe_variable_path(value: Any, path: list[str | int]) -> list[str | int] | None:
    """The path of the first unsafe string inside a variable's value (keys included)."""
    if isinstance(value, str):
        return path if unsafe_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and unsafe_text(key):
                return path
            found = unsafe_variable_path(item, [*path, str(key)])
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unsafe_variable_path(item, [*path, index])
            if found is not None:
                return found
    return None


class _UnsafeLiteral(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: StringValueNode | None = None

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if unsafe_text(node.value):
            self.found = node
            return self.BREAK
        return None


def unsafe_literal(document: DocumentNode, source: str | None) -> StringValueNode | None:
    # Only an escape sequence or a non-ASCII character can produce a NUL or a surrogate in a
    # parsed literal (the lexer refuses a raw NUL); plain queries skip the walk.
    if source is not None and source.isascii() and "\\u" not in source:
        return None
    visitor = _UnsafeLiteral()
    visit(document, visitor)
    return visitor.found


def check_operation_text(
    document: DocumentNode, source: str | None, variables: dict[str, Any] | None
) -> GraphQLError | None:
    for name, value in (variables if isinstance(variables, dict) else {}).items():
        path = unsafe_variable_path(value, [name])
        if path is not None or unsafe_text(name):
            return GraphQLError(
                f"{MESSAGE} (variable ${name})",
                extensions={"code": ErrorCode.BAD_REQUEST.value, "variablePath": path or [name]},
            )
    literal = unsafe_literal(document, source)
    if literal is not None:
        code = ErrorCode.BAD_REQUEST.value
        return GraphQLError(MESSAGE, nodes=[literal], extensions={"code": code})
    return None


class InputText(SchemaExtension):
    """Refuses an operation carrying an unsafe string before any resolver (or limiter) runs."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if context.result is None and document is not None:
            error = check_operation_text(document, context.query, context.variables)
            if error is not None:
                refuse(context, error)
        yield
