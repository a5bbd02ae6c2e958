"""The ASGI application: `/graphql` (HTTP and WebSocket), health, readiness and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.schema import BaseSchema

from core import metrics, telemetry
from core.request_context import RequestContextMiddleware
from core.settings import Settings, get_settings
from db.role_check import guard_database_role
from graph.export.routes import export_endpoint
from graph.runtime import Runtime
from graph.schema import app_schema
from graph.unavailable import DatabaseUnavailableMiddleware
from graph.view import GraphQLView
from security.http import HttpPolicy, install_http_security
from security.token_purge import RefreshTokenPurge

logger = logging.getLogger("stratograph.http")


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    # Without the shared rate-limit store the process still serves (limits hold per process):
    # degraded, not unready.
    limits = runtime.rate_limiter.storage.state
    try:
        await runtime.database.ping()
    except Exception as error:  # any failure means "not ready"; the reason goes to the log only
        logger.warning("readiness check failed: database unreachable (%s)", type(error).__name__)
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "rateLimits": limits},
            status_code=503,
        )
    status = "ok" if limits == "ok" else "degraded"
    return JSONResponse({"status": status, "database": "ok", "rateLimits": limits})


async def metrics_endpoint(_: Request) -> Response:
    body, content_type = metrics.render()
    return PlainTextResponse(body, media_type=content_type)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (never the raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            route_name = getattr(route, "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(scope["method"], route_name, str(status)).inc()
            metrics.HTTP_LATENCY.labels(scope["method"], route_name).observe(
                time.perf_counter() - started
            )


def create_app(
    settings: Settings | None = None, *, graphql_schema: BaseSchema | None = None
) -> Starlette:
    """The app; `graphql_schema` lets tests mount a small schema behind the same protections."""
    runtime = Runtime.from_settings(settings or get_settings())
    view = GraphQLView(graphql_schema or app_schema(runtime.settings), runtime)
    token_purge = RefreshTokenPurge(runtime.database)

    settings = runtime.settings
    listener = (
        metrics.MetricsListener(settings.metrics_host, settings.metrics_port)
        if settings.metrics_port
        else None
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await guard_database_role(runtime.database.engine, production=settings.is_production)
        if listener is not None:
            listener.start()
        # Key ages are recorded from the first start with a key, and shown on /metrics.
        await runtime.observe_keys()
        # Sync jobs run in this process unless `stratograph worker` runs them (SYNC_IN_PROCESS).
        runtime.sync.start_background(run_jobs=settings.sync_in_process)
        token_purge.start()
        if settings.sync_in_process:  # webhooks are delivered where jobs run
            runtime.webhooks.start()
        try:
            yield
        finally:
            await token_purge.stop()
            if listener is not None:
                listener.stop()
            await runtime.close()

    routes = [
        Route("/graphql", view, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/export/{dataset}", export_endpoint, methods=["GET"]),
    ]
    if settings.metrics_on_main_app:
        routes.append(Route("/metrics", metrics_endpoint, methods=["GET"]))
    if view.graphiql_assets is not None:  # development only: production serves no IDE
        routes.append(Route("/graphiql-assets/{path:path}", view.graphiql_assets.serve))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.token_purge = token_purge
    app.state.metrics_listener = listener
    metrics.POOLS.watch("api", runtime.database.engine)
    # Innermost: a database outage met before execution (authentication) becomes a typed 503.
    app.add_middleware(DatabaseUnavailableMiddleware)
    # Added first, so it runs inside the HTTP middlewares and sees the request id they chose.
    app.add_middleware(RequestContextMiddleware)
    install_http_security(
        app,
        HttpPolicy.from_settings(runtime.settings),
        graphiql_html=view.graphql_ide_html if view.graphql_ide else None,
    )
    app.add_middleware(MetricsMiddleware)
    tracing = telemetry.asgi_middleware()
    if tracing is not None:  # outermost: the request's span covers everything below
        middleware, options = tracing
        app.add_middleware(middleware, **options)
    return app
