"""Prometheus metrics of the process (module-level by design: one registry per process)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

HTTP_REQUESTS = Counter(
    "stratograph_http_requests_total", "HTTP requests served", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "stratograph_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)
GRAPHQL_OPERATIONS = Counter(
    "stratograph_graphql_operations_total",
    "GraphQL operations executed",
    ["operation_type", "outcome"],
)


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
