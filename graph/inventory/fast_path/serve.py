"""Serving a supported operation over HTTP without the GraphQL executor.

`FastPath.respond` returns the response, or None to let the regular pipeline serve the request.
It serves only what it can answer exactly as the regular path would: a valid POSTed query whose
root fields are all ones a root kind serves (`ROOTS`; `roots.py` gives their protocol), with a
token that verifies, whose arguments, cursors, cost and strings all pass the same checks the
regular path runs. Everything else — an error of any kind, an anonymous caller, an account whose
state changed, a value that would be a field error — goes to the regular path, which produces the
response and its errors itself. Rate limits are counted once: when the fast path has counted a
request and then hands it over, the regular path reuses that verdict
(`graph.hardening.extensions.preset_verdict`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from typing import Any

import orjson
import strawberry
from graphql.execution.values import get_variable_values
from starlette.requests import Request
from starlette.responses import Response

from core import metrics, telemetry
from core.request_context import set_user
from db.enums import Role
from graph.connections.cursors import cursor_codec
from graph.hardening.cost import check_cost
from graph.hardening.extensions import preset_verdict, write_rate_limit_headers
from graph.hardening.input_text import check_operation_text
from graph.hardening.root_fields import root_field_calls
from graph.inventory.fast_path.callers import Callers
from graph.inventory.fast_path.compiled import StatementCache
from graph.inventory.fast_path.credentials import compile_credentials
from graph.inventory.fast_path.dashboard import compile_dashboard
from graph.inventory.fast_path.gate import Fallback, check_account, request_data
from graph.inventory.fast_path.output import Converters, NodeWriters
from graph.inventory.fast_path.page import UNWRITABLE, compile_page
from graph.inventory.fast_path.plan import (
    Compile,
    DocumentPlan,
    OperationPlan,
    compile_document,
    shape_of,
)
from graph.inventory.fast_path.reads import Read, read
from graph.inventory.fast_path.roots import Asking, Prepared, Services
from graph.inventory.fast_path.statements import USER
from graph.runtime import Runtime
from security.access_tokens import bearer_token
from security.proxies import trusted_proxies
from security.ratelimit import Caller, tightest

logger = logging.getLogger("stratograph.fast_path")
MAX_PLANS = 256
ROOTS: dict[str, Compile] = {
    "resources": compile_page,
    "dashboard": compile_dashboard,
    "credentials": compile_credentials,
}


class FastPath:
    def __init__(self, schema: strawberry.Schema, runtime: Runtime) -> None:
        self.schema = schema
        self.graphql = schema._schema
        self.runtime = runtime
        settings = runtime.settings
        self.callers = Callers(runtime.signer)
        self.proxies = trusted_proxies(tuple(settings.trusted_proxies))
        self.statements = StatementCache(runtime.database.engine.dialect)
        self.services = Services(
            schema,
            self.graphql,
            settings,
            cursor_codec(settings.secret_key),
            self.statements,
            NodeWriters(Converters(self.graphql)),
        )
        self.plans: OrderedDict[tuple[str, str | None], DocumentPlan | None] = OrderedDict()

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
        shape = shape_of(self.graphql, plan, coerced, ROOTS)
        if shape is None:
            raise Fallback
        known = self.callers.role(user_id)
        settings = self.runtime.settings
        if known.role == Role.ADMIN and not known.totp_enabled and settings.admins_need_totp:
            raise Fallback
        asking = Asking(user_id, coerced)
        roots: list[tuple[str, Prepared | None]] = [
            (key, root.prepare(self.services, asking) if root is not None else None)
            for key, root in shape.roots
        ]
        passes, calls = self._checks(plan, query, variables)
        if not passes:
            raise Fallback
        set_user(user_id)
        verdict = await self._count(request, calls, user_id)
        reads = [item for _, prepared in roots if prepared is not None for item in prepared.reads]
        try:
            result = await read(
                self.runtime.database,
                user_id,
                "admin" if known.role == Role.ADMIN else "user",
                reads,
                Read(*self.statements.account(), {USER: user_id}),
            )
        except Exception as error:  # the regular path meets the same failure and reports it
            logger.info("fast path read failed (%s); the regular path serves", type(error).__name__)
            raise Fallback from error
        check_account(result.account, claims.issued_at, known, self.callers, user_id)
        data: dict[str, Any] = {}
        position = 0
        for key, prepared in roots:
            if prepared is None:
                data[key] = "Query"
                continue
            taken = len(prepared.reads)
            try:
                data[key] = prepared.write(result.results[position : position + taken])
            except UNWRITABLE as error:
                raise Fallback from error
            position += taken
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


def _observe(plan: DocumentPlan, started: float) -> None:
    name = plan.operation.name.value if plan.operation.name else None
    operation = metrics.operation_label(name)
    metrics.GRAPHQL_OPERATIONS.labels("query", operation, "ok").inc()
    metrics.GRAPHQL_LATENCY.labels("query", operation).observe(time.perf_counter() - started)


__all__ = ["FastPath", "OperationPlan"]
