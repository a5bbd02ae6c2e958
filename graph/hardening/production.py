"""Error hygiene for every response: no suggestions in production, limit errors with a code.

graphql-core phrases field, argument, type and enum-value hints as "Did you mean …?"; Strawberry's
`disable_field_suggestions` only strips field hints. Every error of every operation (parse,
validation, variable coercion, execution; HTTP and WebSocket) passes through
`Schema.process_errors`, so the rewrite happens there, before masking and formatting.
"""

from __future__ import annotations

import re
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.types import ExecutionContext

from graph.context import Context
from graph.errors import ErrorCode
from graph.hardening.rules import MAX_TOKENS

SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
PARSE_ABORTED = "tokens. Parsing aborted."


def is_production(context: Any) -> bool:
    return isinstance(context, Context) and context.runtime.settings.is_production


def is_request_error(error: GraphQLError) -> bool:
    """A code-less error about the request itself: a syntax error, or one raised before any field
    ran (variable values that do not fit their types, an unknown operation name). Validation
    errors are coded earlier (`QueryLimits.on_validate`); resolver errors have a path."""
    if (error.extensions or {}).get("code"):
        return False
    if isinstance(error, GraphQLSyntaxError):
        return True
    original = error.original_error
    return error.path is None and (original is None or isinstance(original, GraphQLError))


def strip_suggestions(message: str) -> str:
    return SUGGESTION.sub("", message).strip()


class HardenedSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        production = is_production(execution_context.context if execution_context else None)
        for error in errors:
            if PARSE_ABORTED in error.message and not error.extensions:
                error.extensions = {
                    "code": ErrorCode.QUERY_TOO_COMPLEX.value,
                    "maxTokens": MAX_TOKENS,
                }
            elif is_request_error(error):
                error.extensions = {**(error.extensions or {}), "code": ErrorCode.BAD_REQUEST.value}
            if production and "Did you mean" in error.message:
                error.message = strip_suggestions(error.message)
        super().process_errors(errors, execution_context)
