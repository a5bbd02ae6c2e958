"""Production's error hygiene: no suggestions that map the schema for an attacker."""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from graph.context import Context

SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


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
