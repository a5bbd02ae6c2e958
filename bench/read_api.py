"""Read-API throughput on PostgreSQL: GraphQL against a hand-written floor in the same process.

Data: BENCH_USERS users; the first owns BENCH_RESOURCES resources over BENCH_CREDENTIALS
credentials, every other user BENCH_OTHER_RESOURCES. Cases: (1) `resources(first: 100)` with 12
fields, (2) every credential with resourceCount, lastSync and resources(first: 10), (3) the
dashboard. Each case runs BENCH_ROUNDS interleaved rounds of BENCH_SECONDS against the GraphQL
server, against the same server with the regular path (no read fast path, graphql-core's
per-field execution: the "before") and against the floor (asyncpg + orjson, the same JSON,
checked equal before timing), with BENCH_CONCURRENCY requests in flight. A cProfile of case (1)
gives each package's share of the CPU time.

Quick run: BENCH_RESOURCES=10000 BENCH_SECONDS=1 BENCH_ROUNDS=1 python -m bench read_api
"""

from __future__ import annotations

import asyncio
import base64
import cProfile
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import orjson
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from bench._asgi import Request, call, load, median_run
from bench._read_api_data import asyncpg_dsn, create_database, drop_database, populate
from bench._read_api_floor import Floor
from core.settings import Settings
from graph.app import create_app
from graph.runtime import Runtime
from tests.factories import access_token

ENV = os.environ.get
RESOURCES = int(ENV("BENCH_RESOURCES", "100000"))
USERS = int(ENV("BENCH_USERS", "10"))
OTHER_RESOURCES = int(ENV("BENCH_OTHER_RESOURCES", "1000"))
CREDENTIALS = int(ENV("BENCH_CREDENTIALS", "10"))
SECONDS = float(ENV("BENCH_SECONDS", "3"))
ROUNDS = int(ENV("BENCH_ROUNDS", "3"))
CONCURRENCY = int(ENV("BENCH_CONCURRENCY", "16"))
PROFILE_REQUESTS = int(ENV("BENCH_PROFILE_REQUESTS", "200"))
ADMIN_DSN = ENV(
    "BENCH_POSTGRES_DSN", ENV("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1/postgres")
)

RESOURCES_QUERY = """query { resources(first: 100) {
  pageInfo { hasNextPage endCursor }
  edges { cursor node { id name provider type nativeType resourceId region account status tags
                        costPerHour lastSyncedAt } } } }"""
CREDENTIALS_QUERY = """query { credentials {
  id name provider resourceCount lastSync { id status }
  resources(first: 10) { pageInfo { hasNextPage endCursor }
                         edges { cursor node { id name type status region } } } } }"""
DASHBOARD_QUERY = """query { dashboard {
  totalResources activeVms totalStorage totalNetworks estimatedMonthlyCost
  providerBreakdown { provider count vms storage networks } costByProvider { provider cost }
  costByService { service cost } regionDistribution { region count }
  providerHealth { credential { id name } health { status checkedAt } }
  recentActivity(limit: 5) { kind at summary } lastUpdated } }"""
CASES = [
    ("resources(first: 100), 12 fields", RESOURCES_QUERY, "/resources"),
    ("credentials + count, lastSync, resources(first: 10)", CREDENTIALS_QUERY, "/credentials"),
    ("dashboard", DASHBOARD_QUERY, "/dashboard"),
]
# Where the time of a GraphQL request goes, by the package of the function that spends it.
PACKAGES = ("strawberry", "graphql", "sqlalchemy", "asyncpg", "starlette", "orjson", "asyncio")


def _settings(database_url: str, directory: str) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
        encryption_keys=["k1:" + base64.b64encode(secrets.token_bytes(32)).decode()],
        dev_secrets_file=f"{directory}/secrets.json",
        allowed_hosts=["*"],
        rate_limit_default="100000000/minute",
        rate_limit_dashboard="100000000/minute",
        log_level="WARNING",
    )


def _has_credentials_query(app: Any) -> bool:
    from graph.schema import schema

    query_type = schema._schema.query_type
    return query_type is not None and "credentials" in query_type.fields


async def _same_data(app: Any, floor: Any, graphql: Request, by_hand: Request) -> None:
    _, ours = await call(app, graphql)
    _, theirs = await call(floor, by_hand)
    if orjson.loads(ours) != orjson.loads(theirs):
        raise AssertionError(f"floor and GraphQL differ for {graphql.body[:60]!r}")


@contextmanager
def _regular_execution(app: Any) -> Iterator[None]:
    """Serve with the regular pipeline (the "before"): no read fast path, and graphql-core's
    regular per-field execution."""
    from graph.schema import schema

    view = next(
        route.endpoint
        for route in app.routes
        if getattr(route, "path", None) == "/graphql" and getattr(route, "methods", None)
    )
    fast, fast_path = schema.execution_context_class, view.fast_path
    schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
    view.fast_path = None
    try:
        yield
    finally:
        schema.execution_context_class = fast
        view.fast_path = fast_path


async def _profile(app: Any, request: Request) -> dict[str, float]:
    """Share of the request's CPU time (process time, so waiting on PostgreSQL is excluded) spent
    in each package."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(PROFILE_REQUESTS):
        await call(app, request)
    profiler.disable()
    stats = pstats.Stats(profiler)
    totals: dict[str, float] = {}
    for (filename, _, function), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        totals[_package(filename, function)] = totals.get(_package(filename, function), 0) + tottime
    whole = sum(totals.values()) or 1.0
    return {package: seconds / whole for package, seconds in totals.items()}


def _package(filename: str, function: str) -> str:
    if filename == "~":  # C functions: attribute the I/O ones, keep the rest apart
        return "I/O syscalls" if "socket" in function or "poll" in function else "C builtins"
    if filename.endswith("/graph/execution.py"):
        return "graph/execution.py (compiled GraphQL execution)"
    found = next((p for p in PACKAGES if f"/{p}/" in filename), None)
    if found:
        return found
    if "site-packages" in filename:
        return "other libraries"
    if any(f"/{own}/" in filename for own in ("graph", "db", "security", "stratograph")):
        return "stratograph"
    return "bench driver + stdlib"


async def _run() -> list[dict[str, object]]:
    name = await create_database(ADMIN_DSN)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as directory:
        from bench._read_api_data import sqlalchemy_url

        app = create_app(_settings(sqlalchemy_url(ADMIN_DSN, name), directory))
        runtime: Runtime = app.state.runtime
        floor = Floor(runtime, asyncpg_dsn(ADMIN_DSN, name))
        try:
            print(f"  loading {RESOURCES} resources …", file=sys.stderr, flush=True)
            data = await populate(
                runtime, floor.dsn, USERS, RESOURCES, OTHER_RESOURCES, CREDENTIALS
            )
            await floor.start()
            floor_app = floor.app()
            auth = ((b"authorization", f"Bearer {access_token(runtime, data.user)}".encode()),)
            for label, query, path in CASES:
                if path == "/credentials" and not _has_credentials_query(app):
                    rows.append({"case": label, "note": "skipped: no `credentials` query"})
                    continue
                graphql = Request("/graphql", orjson.dumps({"query": query}), auth)
                by_hand = Request(path, b"{}", auth)
                await _same_data(app, floor_app, graphql, by_hand)
                fast, regular, theirs = [], [], []
                for _ in range(ROUNDS):  # interleaved, so drifts in machine load hit all three
                    fast.append(await load(app, graphql, SECONDS, CONCURRENCY))
                    with _regular_execution(app):
                        regular.append(await load(app, graphql, SECONDS, CONCURRENCY))
                    theirs.append(await load(floor_app, by_hand, SECONDS, CONCURRENCY))
                floor_rate, floor_p50, floor_p99 = median_run(theirs)
                for variant, runs in (("", fast), (" [before: regular path]", regular)):
                    rate, p50, p99 = median_run(runs)
                    rows.append(
                        {
                            "case": label + variant,
                            "req/s": f"{rate:.0f}",
                            "p50 ms": f"{p50:.1f}",
                            "p99 ms": f"{p99:.1f}",
                            "floor req/s": f"{floor_rate:.0f}",
                            "floor p50/p99 ms": f"{floor_p50:.1f}/{floor_p99:.1f}",
                            "× floor": f"{rate / floor_rate:.2f}",
                        }
                    )
                    print(f"  {rows[-1]}", file=sys.stderr, flush=True)
            graphql = Request("/graphql", orjson.dumps({"query": RESOURCES_QUERY}), auth)
            for variant, mode in (("", nullcontext()), (" [before]", _regular_execution(app))):
                with mode:
                    shares = await _profile(app, graphql)
                top = sorted(shares.items(), key=lambda item: -item[1])
                rows.append(
                    {
                        "case": f"profile of (1){variant}, {PROFILE_REQUESTS} requests",
                        "note": "CPU: " + ", ".join(f"{p} {s:.0%}" for p, s in top[:8]),
                    }
                )
        finally:
            await floor.stop()
            await runtime.close()
            if not ENV("BENCH_KEEP"):
                await drop_database(ADMIN_DSN, name)
    return rows


def main() -> list[dict[str, object]]:
    return asyncio.run(_run())


if __name__ == "__main__":
    from bench.__main__ import table

    print(table(main()))
