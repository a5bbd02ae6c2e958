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


SYNC_JOBS = Counter("stratograph_sync_jobs_total", "Sync jobs finished", ["status"])
SYNC_JOB_DURATION = Histogram(
    "stratograph_sync_job_duration_seconds",
    "Wall time of sync jobs, claim to finish",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800),
)
SYNC_RESOURCES = Counter(
    "stratograph_sync_resources_total", "Inventory rows changed by syncs", ["change"]
)
SYNC_RETRIES = Counter(
    "stratograph_sync_retries_total", "Retried provider calls (throttling, 5xx)", ["code"]
)
