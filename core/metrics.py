"""Prometheus metrics of the process (module-level by design: one registry per process)."""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("stratograph.metrics")

HTTP_REQUESTS = Counter(
    "stratograph_http_requests_total", "HTTP requests served", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "stratograph_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)
GRAPHQL_OPERATIONS = Counter(
    "stratograph_graphql_operations_total",
    "GraphQL operations executed, by type, operation name and outcome (ok or an error code)",
    ["operation_type", "operation", "outcome"],
)
GRAPHQL_LATENCY = Histogram(
    "stratograph_graphql_operation_duration_seconds",
    "GraphQL operation latency, parse to result",
    ["operation_type", "operation"],
)
# Incremented by the rate limiter each time it refuses an operation.
RATE_LIMITED = Counter(
    "stratograph_rate_limited_total", "Operations refused by a rate limit", ["field"]
)

RATE_LIMIT_STORAGE_ERRORS = Counter(
    "stratograph_rate_limit_storage_errors_total",
    "Rate-limit storage calls that failed (counted per process instead)",
)
RATE_LIMIT_DEGRADED = Gauge(
    "stratograph_rate_limit_degraded",
    "1 while the shared rate-limit storage is unavailable and limits hold per process only",
)

# Operation names come from clients: an unbounded label would let anyone grow the registry.
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_OPERATION_NAMES = 200
_seen_names: set[str] = set()
_seen_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    """The operation name as a label: 'anonymous', the name, or 'other' past the cap."""
    if not name:
        return "anonymous"
    if not _OPERATION_NAME.match(name):
        return "other"
    with _seen_lock:
        if name in _seen_names:
            return name
        if len(_seen_names) >= MAX_OPERATION_NAMES:
            return "other"
        _seen_names.add(name)
        return name


class PoolCollector(Collector):
    """Connection pool gauges of every live engine of the process, read at scrape time."""

    def __init__(self) -> None:
        self._engines: weakref.WeakValueDictionary[str, AsyncEngine] = weakref.WeakValueDictionary()

    def watch(self, name: str, engine: AsyncEngine) -> None:
        self._engines[name] = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauges = {
            "size": GaugeMetricFamily(
                "stratograph_db_pool_size", "Configured pool size", labels=["pool"]
            ),
            "checkedout": GaugeMetricFamily(
                "stratograph_db_pool_checked_out", "Connections in use", labels=["pool"]
            ),
            "checkedin": GaugeMetricFamily(
                "stratograph_db_pool_checked_in", "Idle connections in the pool", labels=["pool"]
            ),
            "overflow": GaugeMetricFamily(
                "stratograph_db_pool_overflow", "Connections beyond the pool size", labels=["pool"]
            ),
        }
        for name, engine in list(self._engines.items()):
            pool = engine.sync_engine.pool
            for attribute, gauge in gauges.items():
                read = getattr(pool, attribute, None)  # a NullPool (in-memory SQLite) has none
                if callable(read):
                    gauge.add_metric([name], float(read()))
        yield from gauges.values()


POOLS = PoolCollector()
REGISTRY.register(POOLS)


class KeyAgeCollector(Collector):
    """`stratograph_key_age_days{kind,kid}`, computed at scrape time from first-seen dates."""

    def __init__(self) -> None:
        self._first_seen: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()

    def set(self, first_seen: dict[tuple[str, str], datetime]) -> None:
        with self._lock:
            self._first_seen = dict(first_seen)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "stratograph_key_age_days",
            "Days since each configured signing or vault key was first seen",
            labels=["kind", "kid"],
        )
        now = datetime.now(UTC)
        with self._lock:
            entries = list(self._first_seen.items())
        for (kind, kid), first in entries:
            gauge.add_metric([kind, kid], (now - first).total_seconds() / 86400)
        yield gauge


KEY_AGES = KeyAgeCollector()
REGISTRY.register(KEY_AGES)


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


class MetricsListener:
    """`/metrics` on a port of its own (METRICS_PORT), away from the public listener: the load
    balancer and the Host allow-list never see it, and a firewall can keep it in the cluster."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._server: WSGIServer | None = None

    def start(self) -> None:
        self._server, _ = start_http_server(self.port, addr=self.host)
        logger.info("metrics served on http://%s:%d/metrics", self.host, self.bound_port)

    @property
    def bound_port(self) -> int:
        return int(self._server.server_port) if self._server else 0

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


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

SECURITY_EVENTS = Counter(
    "stratograph_security_events_total",
    "Security events raised (suspicious activity and security-relevant changes), by kind",
    ["kind"],
)
LOGIN_FAILURES = Counter(
    "stratograph_login_failures_total",
    "Refused log-in steps (logIn and completeLogIn), by reason",
    ["reason"],
)
