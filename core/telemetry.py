"""OpenTelemetry traces, configured by the standard `OTEL_*` variables and off unless an
exporter is named (`OTEL_TRACES_EXPORTER`, or an `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`).

Off means nothing is installed: no SDK provider, no middleware, no SQL or HTTP hooks; spans the
code opens through `tracer()` are the API's no-op spans. On, the process gets spans for each HTTP
request (ASGI), GraphQL operation (graph/tracing.py), SQL statement (statement text only, never
parameters), cloud SDK call (botocore; Azure and GCP go through `requests`), webhook delivery and
sync job with its scopes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import sqlalchemy
from opentelemetry import trace

logger = logging.getLogger("stratograph.telemetry")
SERVICE_NAME = "stratograph"

_provider: Any = None
T = TypeVar("T")


def tracer() -> trace.Tracer:
    return trace.get_tracer("stratograph")


def enabled() -> bool:
    return _provider is not None


async def in_span(name: str, attributes: dict[str, str], work: Awaitable[T]) -> T:
    """Await `work` inside a span made current for it (and for the tasks it starts).

    A failure is recorded by its type only: an exception's text may quote a secret."""
    with tracer().start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            return await work
        except BaseException as error:
            span.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
            raise


def exporter_names(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The trace exporters the environment asks for (empty: tracing stays off)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = [n.strip().lower() for n in environ.get("OTEL_TRACES_EXPORTER", "").split(",")]
    named = [n for n in named if n]
    if named:
        return [] if named == ["none"] else named
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return ["otlp"] if endpoint else []


def _exporter(name: str) -> Any:
    if name == "otlp":
        # http/protobuf; endpoint, headers, timeout and compression come from OTEL_EXPORTER_OTLP_*.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER {name!r} is not supported (use otlp or console)")


def configure_tracing(
    environ: Mapping[str, str] = os.environ, *, processors: list[Any] | None = None
) -> bool:
    """Install the SDK and the instrumentations once per process; True when tracing is on.

    `processors` replaces the exporters the environment names (tests pass an in-memory one).
    """
    global _provider
    if _provider is not None:
        return True
    if processors is None:
        names = exporter_names(environ)
        if not names:
            return False
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        # Batched: spans leave on a background thread; OTEL_BSP_* tune the batches.
        processors = [BatchSpanProcessor(_exporter(name)) for name in names]
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    attributes = {} if environ.get("OTEL_SERVICE_NAME") else {"service.name": SERVICE_NAME}
    # The sampler comes from OTEL_TRACES_SAMPLER / _ARG (default: parent-based, always on).
    provider = TracerProvider(resource=Resource.create(attributes))
    for processor in processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _provider = provider
    _instrument_clients()
    logger.info("OpenTelemetry tracing on")
    return True


def _instrument_clients() -> None:
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    BotocoreInstrumentor().instrument()  # type: ignore[no-untyped-call]
    RequestsInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()


def instrument_engine(engine: Any) -> None:
    """SQL spans for one engine (statement text, no parameters, no SQL comments added)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__ as version
    from opentelemetry.metrics import get_meter

    # EngineTracer per engine: the instrumentor's `instrument(engine=…)` only works for the
    # first engine of a process, and servers, workers and tests each build their own.
    usage = get_meter("stratograph.sql", version).create_up_down_counter(
        "db.client.connections.usage", unit="connections"
    )
    sql_tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", version, _provider)
    sync_engine = getattr(engine, "sync_engine", engine)
    EngineTracer(  # type: ignore[no-untyped-call]
        sql_tracer, sync_engine, usage, False, {}, False
    )
    # The instrumentation marks a failed statement with the driver's message, which can quote
    # the offending value ("invalid UUID 'x'"): record the error's type alone instead.
    from opentelemetry.instrumentation.sqlalchemy import engine as sql_engine

    sqlalchemy.event.remove(sync_engine, "handle_error", sql_engine._handle_error)
    sqlalchemy.event.listen(sync_engine, "handle_error", _mark_failed_statement)


def _mark_failed_statement(context: Any) -> None:
    span = getattr(context.execution_context, "_otel_span", None)
    if span is None:
        return
    if span.is_recording():
        error_type = type(context.original_exception).__name__
        span.set_status(trace.Status(trace.StatusCode.ERROR, error_type))
    span.end()


def asgi_middleware() -> tuple[Any, dict[str, Any]] | None:
    """The ASGI server-span middleware and its options, or None when tracing is off."""
    if _provider is None:
        return None
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    # No spans per ASGI message: a streamed export would produce one per chunk.
    return OpenTelemetryMiddleware, {"exclude_spans": ["receive", "send"]}


def flush() -> None:
    if _provider is not None:
        _provider.force_flush()


def disable() -> None:
    """Stop adding spans to requests and clients (tests; the SDK provider itself stays set)."""
    global _provider
    if _provider is None:
        return
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    for instrumentor in (BotocoreInstrumentor, RequestsInstrumentor, HTTPXClientInstrumentor):
        instrumentor().uninstrument()
    _provider.force_flush()
    _provider = None
