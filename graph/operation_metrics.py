"""Counts and times each GraphQL operation by type, name and outcome (Prometheus)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from core import metrics
from graph.errors import ErrorCode

# Outcome labels stay a small, known set: "ok", one of our error codes, or "error".
_KNOWN_CODES = frozenset(code.value for code in ErrorCode) | {
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
}


def outcome_of(errors: list[GraphQLError] | None) -> str:
    if not errors:
        return "ok"
    code = (errors[0].extensions or {}).get("code")
    return code if isinstance(code, str) and code in _KNOWN_CODES else "error"


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        try:
            operation_type = context.operation_type.value
        except Exception:  # no parsable document: nothing to classify it by
            operation_type = "unknown"
        operation = metrics.operation_label(context.operation_name)
        if context.pre_execution_errors:  # parse or validation refused the document
            outcome = outcome_of(context.pre_execution_errors)
            if outcome == "error":
                outcome = "GRAPHQL_VALIDATION_FAILED"
        else:
            outcome = outcome_of(context.result.errors if context.result else None)
        metrics.GRAPHQL_OPERATIONS.labels(operation_type, operation, outcome).inc()
        metrics.GRAPHQL_LATENCY.labels(operation_type, operation).observe(
            time.perf_counter() - started
        )
