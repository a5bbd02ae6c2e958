"""A span per GraphQL operation: its type and name, never its variables or document (either may
hold a password or a secret written inline)."""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry.trace import Status, StatusCode
from strawberry.extensions import SchemaExtension

from core import telemetry


class OperationTracing(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        if not telemetry.enabled():
            yield
            return
        # Not made current: the hook resumes in another context, where detaching would fail.
        span = telemetry.tracer().start_span("graphql.operation")
        try:
            yield
        finally:
            context = self.execution_context
            try:
                kind = context.operation_type.value
            except Exception:  # no document, or no operation of that name
                kind = "unknown"
            name = context.operation_name or "anonymous"
            span.update_name(f"{kind} {name}")
            span.set_attribute("graphql.operation.type", kind)
            span.set_attribute("graphql.operation.name", name)
            errors = context.result.errors if context.result else None
            if errors:
                span.set_status(Status(StatusCode.ERROR))
                span.set_attribute("graphql.errors", len(errors))
            span.end()
