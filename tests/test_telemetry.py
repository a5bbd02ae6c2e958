"""OpenTelemetry: spans for an HTTP request, its GraphQL operation and SQL, and a sync job with
its scopes reach an in-memory exporter; no span carries variables or SQL parameters; log lines
carry the trace id; nothing is installed unless an exporter is configured."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
import sqlalchemy.exc
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from core import telemetry
from core.logs import TraceContextFilter
from core.settings import Settings
from graph.app import create_app
from providers.base import Scope
from tests.factories import access_token, create_user
from tests.sync_support import ScriptedInventory, make_service, record, sync_once
from tests.sync_support import create_credential as create_sync_credential


class Recorder(InMemorySpanExporter):
    """Keeps spans only while a test of this module runs (the provider outlives it)."""

    active = False

    def export(self, spans: Sequence[ReadableSpan]) -> Any:
        return super().export(spans) if self.active else None


RECORDER = Recorder()


@pytest.fixture
def spans() -> Iterator[Recorder]:
    telemetry.configure_tracing(processors=[SimpleSpanProcessor(RECORDER)])
    RECORDER.clear()
    RECORDER.active = True
    yield RECORDER
    RECORDER.active = False
    RECORDER.clear()
    telemetry.disable()


def is_sql(span: ReadableSpan) -> bool:
    return "db.statement" in (span.attributes or {}) or "db.query.text" in (span.attributes or {})


def attribute_text(found: Sequence[ReadableSpan]) -> str:
    return repr([(s.name, dict(s.attributes or {})) for s in found])


async def test_a_request_its_operation_and_its_sql_are_traced(
    spans: Recorder, settings: Settings
) -> None:
    # Given the app built with tracing on
    app = create_app(settings)
    runtime = app.state.runtime
    try:
        user = await create_user(runtime, email="traced-user@example.com")
        token = access_token(runtime, user)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.30", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            # When a named operation with a secret-looking variable is sent
            response = await client.post(
                "/graphql",
                json={
                    "query": "query Mine($probe: String) { me { id email } "
                    "resources(first: 5, filter: {search: $probe}) { edges { node { id } } } }",
                    "operationName": "Mine",
                    "variables": {"probe": "hunter2-variable-value"},
                },
                headers={"authorization": f"Bearer {token}"},
            )
        assert response.status_code == 200
    finally:
        await runtime.close()
    found = spans.get_finished_spans()
    # Then the request, the operation and its SQL are spans of one trace
    (server,) = [s for s in found if s.kind is SpanKind.SERVER]
    (operation,) = [s for s in found if s.name == "query Mine"]
    trace_id = server.context.trace_id
    sql = [s for s in found if s.context.trace_id == trace_id and is_sql(s)]
    assert server.name.startswith("POST")
    assert operation.attributes["graphql.operation.name"] == "Mine"  # type: ignore[index]
    assert operation.context.trace_id == trace_id and operation.parent is not None
    statements = " ".join(str((s.attributes or {}).get("db.statement", "")) for s in sql)
    assert "FROM users" in statements and "FROM resources" in statements, statements
    # And no span carries the variables or the statements' parameters
    text = attribute_text(found)
    assert "hunter2-variable-value" not in text
    assert str(user.id) not in text and "traced-user@example.com" not in text


async def test_a_sync_job_is_a_span_with_its_scopes_as_children(
    spans: Recorder, runtime: Any
) -> None:
    scopes = [Scope("us-east-1", "ec2:instance"), Scope("eu-west-1", "ec2:instance")]
    user = await create_user(runtime)
    credential = await create_sync_credential(runtime.database, user)
    inventory = ScriptedInventory({scope: [record(f"i-{scope.region}", scope)] for scope in scopes})
    service = make_service(runtime.database, {credential.id: inventory})
    await sync_once(service, credential.id)
    found = spans.get_finished_spans()
    (job,) = [s for s in found if s.name == "sync.job"]
    children = [s for s in found if s.name == "sync.scope"]
    assert sorted(str((s.attributes or {})["sync.scope"]) for s in children) == [
        "eu-west-1/ec2:instance",
        "us-east-1/ec2:instance",
    ]
    assert all(s.parent is not None and s.parent.span_id == job.context.span_id for s in children)


def test_log_lines_in_a_span_carry_its_trace_id(spans: Recorder) -> None:
    with telemetry.tracer().start_as_current_span("work") as span:
        record_ = logging.makeLogRecord({"msg": "inside"})
        TraceContextFilter().filter(record_)
    assert getattr(record_, "trace_id", None) == format(span.get_span_context().trace_id, "032x")
    outside = logging.makeLogRecord({"msg": "outside"})
    TraceContextFilter().filter(outside)
    assert not hasattr(outside, "trace_id")


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, []),
        ({"OTEL_TRACES_EXPORTER": "none"}, []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "console,otlp"}, ["console", "otlp"]),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, []),
    ],
)
def test_tracing_is_on_only_when_an_exporter_is_named(
    environ: dict[str, str], expected: list[str]
) -> None:
    assert telemetry.exporter_names(environ) == expected


def test_without_otel_variables_nothing_is_installed(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environ.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/off.db", ENVIRONMENT="test")
    code = (
        "from graph.app import create_app; from core import telemetry; "
        "from opentelemetry import trace; app = create_app(); "
        "print(telemetry.enabled(), type(trace.get_tracer_provider()).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[1], timeout=120,
    )  # fmt: skip
    assert out.stdout.split() == ["False", "ProxyTracerProvider"]


async def test_a_failed_statement_span_names_the_error_not_the_values_it_quotes(
    spans: Recorder, settings: Settings
) -> None:
    # Given the app built with tracing on
    app = create_app(settings)
    runtime = app.state.runtime
    probe = "probe-value-4d1f"
    try:
        # When a statement fails on a value (PostgreSQL quotes an ill-formed uuid in its message)
        with pytest.raises(sqlalchemy.exc.DBAPIError) as refused:
            async with runtime.database.system_session() as session:
                await session.execute(
                    sqlalchemy.text("INSERT INTO users (id) VALUES (:v)"), {"v": probe}
                )
    finally:
        await runtime.close()
    # Then the SQL span is marked failed with the error's type, never the message that quotes it
    failed = [s for s in spans.get_finished_spans() if is_sql(s) and not s.status.is_ok]
    assert failed, "the failed INSERT has a span"
    for span in failed:
        assert span.status.description == type(refused.value.orig).__name__
        assert probe not in repr((span.status.description, list(span.events), span.attributes))
