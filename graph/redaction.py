"""Keep submitted values out of GraphQL error messages and the log lines written for them.

graphql-core quotes the offending input in coercion and validation messages ("…to include required
field 'secretAccessKey', found: {accessKeyId: …}"), and `str(GraphQLError)` appends the lines of the
query around the error. Either can carry a password or a cloud secret, so messages are redacted
before anything logs them or sends them (`graph.error_pipeline`).
"""

from __future__ import annotations

import re

from graphql import GraphQLError

from graph.errors import PublicError

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
