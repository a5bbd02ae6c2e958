"""The one path every GraphQL error takes: a fixed sequence of named steps, then masking.

Every error of every operation (parse, validation, variable coercion, execution; HTTP and
WebSocket) reaches `Schema.process_errors` before it is sent. There the steps of `STEPS` run, in
this order, on each error:

1. `code_parse_limit`: the parser's "…tokens. Parsing aborted." gets `QUERY_TOO_COMPLEX`;
2. `code_bad_request`: any other code-less error about the request itself (a syntax error,
   variables that do not fit their types, an unknown operation name) gets `BAD_REQUEST`;
3. `hide_suggestions`: in production, no "Did you mean …?" (graphql-core phrases field,
   argument, type and enum hints; Strawberry's `disable_field_suggestions` strips field hints only);
4. `redact_values`: submitted values out of messages (`graph.redaction`);
5. `log`: the one log line of the error, after redaction, never `str(error)` (which prints the
   query lines, and any inline secret, around it); unexpected exceptions with their traceback, an
   unreachable database as one warning without one.

Masking comes last, in the `MaskInternalErrors` extension (`graph.errors`): Strawberry runs it
when the operation ends, after `process_errors`, so operators log the original while clients get
"Internal server error" (or, for an unreachable database, SERVICE_UNAVAILABLE with a 503) with a
code. It logs nothing itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from db.availability import is_database_unavailable
from graph.errors import ErrorCode, is_public
from graph.hardening.production import is_production, is_request_error, strip_suggestions
from graph.hardening.rules import MAX_TOKENS
from graph.redaction import redact_error

logger = logging.getLogger("stratograph.graphql")

PARSE_ABORTED = "tokens. Parsing aborted."

ErrorStep = Callable[[GraphQLError, bool], None]


def code_parse_limit(error: GraphQLError, _production: bool) -> None:
    if PARSE_ABORTED in error.message and not error.extensions:
        error.extensions = {"code": ErrorCode.QUERY_TOO_COMPLEX.value, "maxTokens": MAX_TOKENS}


def code_bad_request(error: GraphQLError, _production: bool) -> None:
    if is_request_error(error):
        error.extensions = {**(error.extensions or {}), "code": ErrorCode.BAD_REQUEST.value}


def hide_suggestions(error: GraphQLError, production: bool) -> None:
    if production and "Did you mean" in error.message:
        error.message = strip_suggestions(error.message)


def redact_values(error: GraphQLError, _production: bool) -> None:
    redact_error(error)


def log(error: GraphQLError, _production: bool) -> None:
    path = list(error.path or [])
    original = error.original_error
    if is_database_unavailable(original):
        # An outage, not a bug: one line per failed operation, no traceback.
        logger.warning("database unavailable (%s) (path: %s)", type(original).__name__, path)
        return
    if is_public(error):
        logger.error("%s (path: %s)", error.message, path)
        return
    logger.error(
        "unhandled error in resolver (path: %s)",
        path,
        exc_info=(type(original), original, original.__traceback__) if original else None,
        extra={"graphql_path": path},
    )


STEPS: tuple[ErrorStep, ...] = (
    code_parse_limit,
    code_bad_request,
    hide_suggestions,
    redact_values,
    log,
)


class AppSchema(strawberry.Schema):
    """A Strawberry schema whose errors go through `STEPS`."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        production = is_production(execution_context.context if execution_context else None)
        for error in errors:
            for step in STEPS:
                step(error, production)
