"""Keep submitted values out of GraphQL error messages and the log lines written for them.

graphql-core quotes the offending input in coercion and validation messages ("…to include required
field 'secretAccessKey', found: {accessKeyId: …}"), and `str(GraphQLError)` appends the lines of the
query around the error. Either can carry a password or a cloud secret, so messages are redacted
before anything logs them or sends them, and errors are logged without the query source.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import strawberry
from graphql import GraphQLError

from db.availability import is_database_unavailable
from graph.errors import PublicError

logger = logging.getLogger("strawberry.execution")

REDACTED = "<redacted>"
_VALUE_PATTERNS = (
    # "…, found: {…}." / "…. Found: {…}." / "Expected value of type 'X', found \"…\"."
    re.compile(r"([,.] [Ff]ound:?) .*$", re.DOTALL),
    # "String cannot represent a non string value: […]" and every other scalar's wording.
    re.compile(r"(cannot represent [^:]*:) .*$", re.DOTALL),
)


def redact_message(message: str) -> str:
    for pattern in _VALUE_PATTERNS:
        message = pattern.sub(rf"\1 {REDACTED}.", message)
    return message


def redact_error(error: GraphQLError) -> None:
    """Redact an error and the GraphQL errors it wraps, in place. Our own `PublicError`s are
    written to be shown as they are and left alone."""
    current: BaseException | None = error
    seen: set[int] = set()
    while (
        isinstance(current, GraphQLError)
        and not isinstance(current, PublicError)
        and id(current) not in seen
    ):
        seen.add(id(current))
        current.message = redact_message(current.message)
        current = current.original_error


class RedactingSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: Any | None = None
    ) -> None:
        for error in errors:
            redact_error(error)
            original = error.original_error
            # Unexpected exceptions keep their traceback; GraphQL errors log only their message,
            # never `str(error)`, which prints the query lines (and any inline secret) around it.
            exc_info = None if isinstance(original, GraphQLError) else original
            if is_database_unavailable(original):
                # An outage, not a bug: one line per failed operation, no traceback.
                logger.warning(
                    "database unavailable (%s) (path: %s)",
                    type(original).__name__,
                    list(error.path or []),
                )
                continue
            logger.error("%s (path: %s)", error.message, list(error.path or []), exc_info=exc_info)
