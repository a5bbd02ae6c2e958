"""Serving a supported `resources` operation over HTTP without the GraphQL executor.

`FastPath.respond` returns the response, or None to let the regular pipeline serve the request.
It serves only what it can answer exactly as the regular path would: a valid POSTed query whose
plan is supported (`plan.py`), with a token that verifies, whose page arguments, filter, cursor,
cost and strings all pass the same checks the regular path runs. Everything else — an error of
any kind, an anonymous caller, an account whose state changed, a value that would be a field
error — goes to the regular path, which produces the response and its errors itself. Rate limits
are counted once: when the fast path has counted a request and then hands it over, the regular
path reuses that verdict (`graph.hardening.extensions.preset_verdict`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError
from graphql.execution.values import get_argument_values, get_variable_values
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types.arguments import convert_arguments

from core import metrics, telemetry
from core.request_context import set_user
from db.enums import Role
from graph.connections.cursors import cursor_codec
from graph.connections.keyset import PageRequest
from graph.errors import PublicError
from graph.hardening.cost import check_cost
from graph.hardening.extensions import preset_verdict, write_rate_limit_headers
from graph.hardening.input_text import check_operation_text
from graph.hardening.root_fields import root_field_calls
from graph.inventory.fast_path.callers import Callers
from graph.inventory.fast_path.compiled import StatementCache
from graph.inventory.fast_path.gate import Fallback, check_account, request_data
from graph.inventory.fast_path.output import (
    Converters,
    NodeWriter,
    PageResult,
    Unwritable,
    write_page,
)
from graph.inventory.fast_path.plan import (
    DocumentPlan,
    OperationPlan,
    PagePlan,
    compile_document,
    shape_of,
)
from graph.inventory.fast_path.reads import PageRead, Read, read
from graph.inventory.fast_path.statements import (
    USER,
    PageShape,
    columns_for,
    key_name,
)
from graph.inventory.filters import ResourceCriteria, resource_ordering
from graph.runtime import Runtime
from security.access_tokens import bearer_token
from security.proxies import trusted_proxies
from security.ratelimit import Caller, tightest

logger = logging.getLogger("stratograph.fast_path")
MAX_PLANS = 256


class FastPath:
    def __init__(self, schema: strawberry.Schema, runtime: Runtime) -> None:
        self.schema = schema
        self.graphql = schema._schema
        self.runtime = runtime
        settings = runtime.settings
        self.codec = cursor_codec(settings.secret_key)
        self.callers = Callers(runtime.signer)
        self.proxies = trusted_proxies(tuple(settings.trusted_proxies))
        self.statements = StatementCache(runtime.database.engine.dialect)
        self.converters = Converters(self.graphql)
        self.plans: OrderedDict[tuple[str, str | None], DocumentPlan | None] = OrderedDict()
        self.writers: dict[tuple[Any, ...], NodeWriter] = {}
        query_type = self.graphql.query_type
        if query_type is None:
            raise TypeError("the schema has no query type")
        self.field_def = query_type.fields["resources"]
        field = schema.get_field_for_type("resources", "Query")
        if field is None:
            raise TypeError("the schema has no Query.resources")
        self.arguments = field.arguments

    @staticmethod
    def serves(schema: Any) -> bool:
        """Whether `schema` is the application's (tests mount small schemas on the same view)."""
        if not isinstance(schema, strawberry.Schema):
            return False
        query_type = schema._schema.query_type
        field = query_type.fields.get("resources") if query_type else None
        return field is not None and str(field.type) == "ResourceConnection!"

    async def respond(self, request: Request) -> Response | None:
        if request.method != "POST" or telemetry.enabled():
            return None  # traced operations keep their spans from the regular path
        if not request.headers.get("content-type", "").startswith("application/json"):
            return None
        started = time.perf_counter()
        try:
            return await self._respond(request, started)
        except Fallback:
            return None

    async def _respond(self, request: Request, started: float) -> Response:
        query, operation_name, variables = request_data(await request.body())
        token = bearer_token(request.headers.get("authorization"))
        claims = self.callers.claims(token) if token else None
        if claims is None:
            raise Fallback
        user_id = claims.user_id
        plan = self._plan(query, operation_name)
        coerced = get_variable_values(
            self.graphql, plan.operation.variable_definitions or (), variables
        )
        if isinstance(coerced, list):
            raise Fallback
        shape = shape_of(self.graphql, plan, coerced)
        if shape is None:
            raise Fallback
        known = self.callers.role(user_id)
        settings = self.runtime.settings
        if known.role == Role.ADMIN and not known.totp_enabled and settings.admins_need_totp:
            raise Fallback
        costs = settings.enable_cost_tracking
        pages = [
            (key, self._page(page, coerced, user_id) if page is not None else None)
            for key, page in shape.roots
        ]
        passes, calls = self._checks(plan, query, variables)
        if not passes:
            raise Fallback
        set_user(user_id)
        verdict = await self._count(request, calls, user_id)
        try:
            result = await read(
                self.runtime.database,
                user_id,
                "admin" if known.role == Role.ADMIN else "user",
                [prepared[1] for _, prepared in pages if prepared is not None],
                Read(*self.statements.account(), {USER: user_id}),
            )
        except Exception as error:  # the regular path meets the same failure and reports it
            logger.info("fast path read failed (%s); the regular path serves", type(error).__name__)
            raise Fallback from error
        check_account(result.account, claims.issued_at, known, self.callers, user_id)
        data: dict[str, Any] = {}
        found = iter(result.pages)
        for key, prepared in pages:
            if prepared is None:
                data[key] = "Query"
                continue
            rows, count = next(found)
            data[key] = self._write(prepared[0], rows, count, costs)
        response = Response(orjson.dumps({"data": data}), media_type="application/json")
        if verdict is not None:
            write_rate_limit_headers(response, verdict)
        _observe(plan, started)
        return response

    def _plan(self, query: str, operation_name: str | None) -> DocumentPlan:
        key = (query, operation_name)
        if key in self.plans:
            self.plans.move_to_end(key)
            found = self.plans[key]
        else:
            found = compile_document(
                self.graphql, query, operation_name, production=self.runtime.settings.is_production
            )
            self.plans[key] = found
            if len(self.plans) > MAX_PLANS:
                self.plans.popitem(last=False)
        if found is None:
            raise Fallback
        return found

    def _page(self, page: PagePlan, variables: Any, user_id: uuid.UUID) -> tuple[Any, PageRead]:
        try:
            values = get_argument_values(self.field_def, page.node, variables)
            kwargs = convert_arguments(
                values,
                self.arguments,
                scalar_registry=self.schema.schema_converter.scalar_registry,
                config=self.schema.config,
            )
            request = PageRequest.from_args(
                kwargs.get("first"), kwargs.get("after"), kwargs.get("last"), kwargs.get("before")
            )
            criteria = ResourceCriteria.from_input(kwargs.get("filter"))
            ordering = resource_ordering(kwargs.get("order_by"))
            binding = f"{ordering.name}|{user_id}"
            start = (
                self.codec.decode(binding, request.cursor, ordering.kinds)
                if request.cursor is not None
                else None
            )
        except (GraphQLError, PublicError, ValueError, TypeError) as error:
            raise Fallback from error
        shape = PageShape(
            columns_for(page.node_fields, ordering),
            criteria,
            ordering,
            request.forward,
            request.size,
            start is not None,
        )
        values = {USER: user_id}
        for index, value in enumerate(start or ()):
            values[key_name(index)] = value
        count = (
            Read(*self.statements.count(criteria), {USER: user_id}) if page.needs_count else None
        )
        context = (page, shape, request, ordering, binding)
        return context, PageRead(Read(*self.statements.page(shape), values), count)

    def _checks(
        self, plan: DocumentPlan, query: str, variables: dict[str, Any]
    ) -> tuple[bool, list[Any]]:
        """The cost limit and the input-text check the regular path runs before any resolver,
        and the root field calls it counts against the rate limits."""
        if not variables and plan.unvaried is not None:
            return plan.unvaried
        passes = (
            check_cost(self.graphql, plan.document, plan.operation, variables) is None
            and check_operation_text(plan.document, query, variables) is None
        )
        found = (passes, root_field_calls(plan.document, plan.operation, variables))
        if not variables:
            plan.unvaried = found
        return found

    async def _count(self, request: Request, calls: list[Any], user_id: uuid.UUID) -> Any:
        """Count the operation against the rate limits, as `RateLimits` would; a refusal (and
        any later hand-over) is answered by the regular path with this same verdict."""
        client = request.client
        ip = self.proxies.client_ip(client.host if client else None, request.headers)
        # The e-mail only keys log-in and own-account fields, which never take this path.
        caller = Caller(ip, str(user_id), None)
        try:
            verdict = tightest(await self.runtime.rate_limiter.hit_all(calls, caller))
        except Exception as error:
            raise Fallback from error
        preset_verdict(request, verdict)
        if verdict is not None and not verdict.allowed:
            raise Fallback
        return verdict

    def _write(self, context: Any, rows: Any, count: int | None, costs: bool) -> Any:
        page, shape, request, ordering, binding = context
        index = {name: position for position, name in enumerate(shape.columns)}

        def writer_for(fields: tuple[tuple[str, str], ...]) -> NodeWriter:
            key = (fields, shape.columns, costs)
            found = self.writers.get(key)
            if found is None:
                found = self.converters.node_writer(fields, index, costs=costs)
                if len(self.writers) > 1024:
                    self.writers.clear()
                self.writers[key] = found
            return found

        try:
            return write_page(
                page,
                writer_for,
                PageResult(rows, count),
                size=request.size,
                forward=request.forward,
                came_from_cursor=request.cursor is not None,
                ordering=ordering,
                codec=self.codec,
                binding=binding,
                index=index,
            )
        except (Unwritable, KeyError, TypeError, ValueError, AttributeError) as error:
            raise Fallback from error


def _observe(plan: DocumentPlan, started: float) -> None:
    name = plan.operation.name.value if plan.operation.name else None
    operation = metrics.operation_label(name)
    metrics.GRAPHQL_OPERATIONS.labels("query", operation, "ok").inc()
    metrics.GRAPHQL_LATENCY.labels("query", operation).observe(time.perf_counter() - started)


__all__ = ["FastPath", "OperationPlan"]
