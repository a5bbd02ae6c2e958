"""Schema extensions enforcing the query limits, the cost budget and the rate limits.

Both run at `on_execute`, after validation (so the document is known to be well formed) and
with the request's variables (which page sizes and log-in e-mails may come from). A refused
operation gets its result set before execution (a subscription gets the error raised), so no
resolver runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, get_operation_ast
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from core import metrics
from graph.context import Context
from graph.errors import ErrorCode, PublicError
from graph.hardening.cost import check_cost
from graph.hardening.production import is_production
from graph.hardening.root_fields import root_field_calls
from graph.hardening.rules import LIMIT_RULES, MAX_TOKENS
from security.ratelimit import Caller, Verdict, tightest


class QueryLimits(SchemaExtension):
    """Token, depth, alias, directive and cost limits; no introspection in production."""

    def on_operation(self) -> Iterator[None]:
        # Parsing stops at the limit instead of building a huge AST first.
        self.execution_context.parse_options["max_tokens"] = MAX_TOKENS
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        rules = (*context.validation_rules, *LIMIT_RULES)
        if is_production(context.context):
            rules = (*rules, NoSchemaIntrospectionCustomRule)
        context.validation_rules = rules
        yield
        # Validation ran (or came from the cache): what it found and did not code is a rule break.
        for error in context.pre_execution_errors or ():
            if not (error.extensions or {}).get("code"):
                error.extensions = {
                    **(error.extensions or {}),
                    "code": ErrorCode.GRAPHQL_VALIDATION_FAILED.value,
                }

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = get_operation_ast(document, context.operation_name) if document else None
        if context.result is None and document is not None and operation is not None:
            error = check_cost(context.schema._schema, document, operation, context.variables)
            if error is not None:
                refuse(context, error)
        yield


class RateLimits(SchemaExtension):
    """Counts every executed root field against its rule; refuses the operation when over."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        request = context.context
        document = context.graphql_document
        operation = get_operation_ast(document, context.operation_name) if document else None
        if (
            context.result is None
            and isinstance(request, Context)
            and document is not None
            and operation is not None
        ):
            preset = getattr(request.connection.state, PRESET_VERDICT, None)
            if isinstance(preset, PresetVerdict):
                # Counted already by the read fast path, which handed this request over.
                verdict = preset.verdict
            else:
                calls = root_field_calls(document, operation, context.variables)
                user = request.user
                caller = Caller(
                    request.client_ip,
                    str(user.id) if user else None,
                    user.email if user else None,
                )
                verdict = tightest(await request.runtime.rate_limiter.hit_all(calls, caller))
            if verdict is not None:
                _write_headers(request, verdict)
                if not verdict.allowed:
                    # Root field names are bounded by the schema (validation ran first).
                    field = calls[0].name if calls else "unknown"
                    metrics.RATE_LIMITED.labels(field).inc()
                    error = PublicError(
                        f"Too many requests: retry in {verdict.reset_after} seconds.",
                        ErrorCode.RATE_LIMITED,
                        retryAfter=verdict.reset_after,
                    )
                    refuse(context, error, status=429)
        yield


PRESET_VERDICT = "rate_limit_verdict"


@dataclass(frozen=True, slots=True)
class PresetVerdict:
    verdict: Verdict | None


def preset_verdict(request: Request, verdict: Verdict | None) -> None:
    """Record that this HTTP request was counted (the fast path, before handing it over)."""
    setattr(request.state, PRESET_VERDICT, PresetVerdict(verdict))


def refuse(context: ExecutionContext, error: GraphQLError, status: int | None = None) -> None:
    """Answer the operation with `error` instead of executing it."""
    request = context.context
    if isinstance(request, Context) and isinstance(request.response, Response) and status:
        request.response.status_code = status
    if context.operation_type is OperationType.SUBSCRIPTION:
        # Strawberry's subscribe ignores a preset result but reports what on_execute raises.
        raise error
    context.result = GraphQLExecutionResult(data=None, errors=[error])


def _write_headers(request: Context, verdict: Verdict) -> None:
    response = request.response
    if not isinstance(response, Response):
        return  # WebSocket: no headers after the handshake
    write_rate_limit_headers(response, verdict)


def write_rate_limit_headers(response: Response, verdict: Verdict) -> None:
    response.headers["RateLimit-Limit"] = str(verdict.limit)
    response.headers["RateLimit-Remaining"] = str(verdict.remaining)
    response.headers["RateLimit-Reset"] = str(verdict.reset_after)
    response.headers["RateLimit-Policy"] = f"{verdict.limit};w={verdict.window}"
    if not verdict.allowed:
        response.headers["Retry-After"] = str(verdict.reset_after)
