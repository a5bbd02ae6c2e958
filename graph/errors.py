"""Top-level errors (auth, limits, bad requests) and the masking of everything unexpected.

Expected failures of a mutation are `userErrors` data (see `graph.user_errors`); the errors here
are for requests that cannot be served at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any

from graphql import GraphQLError
from starlette.responses import Response
from strawberry.extensions import MaskErrors
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from db.availability import is_database_unavailable

logger = logging.getLogger("stratograph.graphql")

MASKED_MESSAGE = "Internal server error"
UNAVAILABLE_MESSAGE = "The database is unavailable; retry shortly."
RETRY_AFTER_SECONDS = 5


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    BAD_REQUEST = "BAD_REQUEST"
    # The document parsed but breaks a validation rule (unknown field, wrong argument type, …).
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    # The database is away for a moment (restart, failover): retry after `retryAfter` seconds.
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class PublicError(GraphQLError):
    """An error whose message is safe to show; it carries `extensions.code`."""

    def __init__(self, message: str, code: ErrorCode, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code.value, **extensions})


class BadRequest(PublicError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorCode.BAD_REQUEST)


def is_public(error: GraphQLError) -> bool:
    """Validation errors and errors we raised on purpose keep their message."""
    original = error.original_error
    if original is None:
        return True
    if isinstance(original, GraphQLError):
        return is_public(original) if original is not error else True
    # The request named no runnable operation: a client error (HTTP answers 400), not a crash.
    return isinstance(original, CannotGetOperationTypeError | InvalidOperationTypeError)


class MaskInternalErrors(MaskErrors):
    """Replace unexpected errors by a generic one with a code; log the original for operators."""

    def __init__(self, should_mask_error: Callable[[GraphQLError], bool] | None = None) -> None:
        super().__init__(
            should_mask_error=should_mask_error or (lambda error: not is_public(error)),
            error_message=MASKED_MESSAGE,
        )
        self._unavailable = False

    def on_operation(self) -> Iterator[None]:
        self._unavailable = False
        yield from super().on_operation()
        response = getattr(self.execution_context.context, "response", None)
        if self._unavailable and isinstance(response, Response):
            response.status_code = 503
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if is_database_unavailable(original):
            self._unavailable = True
            return GraphQLError(
                message=UNAVAILABLE_MESSAGE,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                original_error=None,
                extensions={
                    "code": ErrorCode.SERVICE_UNAVAILABLE.value,
                    "retryAfter": RETRY_AFTER_SECONDS,
                },
            )
        logger.error(
            "unhandled error in resolver",
            exc_info=(type(original), original, original.__traceback__) if original else None,
            extra={"graphql_path": list(error.path or [])},
        )
        return GraphQLError(
            message=MASKED_MESSAGE,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value},
        )
