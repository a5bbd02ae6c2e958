"""Does a read's cost grow with the inventory? `dashboard` and the nested credentials query on
PostgreSQL at several inventory sizes, in the same run.

For each size in BENCH_SCALE_SIZES (default "10000,1000000"): a fresh database where the first
user owns that many resources over BENCH_CREDENTIALS credentials (loaded with COPY, then the
aggregates rebuilt once, as after a restore; the load time is reported). Then, per query,
BENCH_ROUNDS rounds of BENCH_SECONDS against each size in turn (interleaved, so drifts in machine
load hit every size alike) with BENCH_CONCURRENCY requests in flight. The last rows give each
query's req/s at the largest size as a share of its req/s at the smallest (the target: within
20 %, i.e. a ratio ≥ 0.8).

Quick run: BENCH_SCALE_SIZES=10000,100000 BENCH_SECONDS=1 BENCH_ROUNDS=1 python -m bench
dashboard_scale
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from typing import Any

import orjson

from bench._asgi import Request, Run, load, median_run
from bench._read_api_data import (
    asyncpg_dsn,
    create_database,
    drop_database,
    populate,
    sqlalchemy_url,
)
from bench.read_api import ADMIN_DSN, CREDENTIALS_QUERY, _settings
from graph.app import create_app
from graph.runtime import Runtime
from tests.factories import access_token

ENV = os.environ.get
SIZES = tuple(int(n) for n in ENV("BENCH_SCALE_SIZES", "10000,1000000").split(",") if n.strip())
CREDENTIALS = int(ENV("BENCH_CREDENTIALS", "10"))
SECONDS = float(ENV("BENCH_SECONDS", "3"))
ROUNDS = int(ENV("BENCH_ROUNDS", "3"))
CONCURRENCY = int(ENV("BENCH_CONCURRENCY", "16"))

DASHBOARD_QUERY = """query { dashboard {
  totalResources activeVms totalStorage totalNetworks estimatedMonthlyCost
  providerBreakdown { provider count vms storage networks } costByProvider { provider cost }
  costByService { service cost } regionDistribution { region count }
  accounts { account provider count }
  providerHealth { credential { id name } health { status checkedAt } } lastUpdated } }"""
CASES = (("dashboard", DASHBOARD_QUERY), ("credentials + nested pages", CREDENTIALS_QUERY))


async def _loaded(size: int, directory: str) -> tuple[Any, str, tuple[Any, ...], float]:
    """A server on a fresh database holding `size` resources for its first user."""
    name = await create_database(ADMIN_DSN)
    app = create_app(_settings(sqlalchemy_url(ADMIN_DSN, name), f"{directory}/{size}"))
    runtime: Runtime = app.state.runtime
    started = time.perf_counter()
    data = await populate(runtime, asyncpg_dsn(ADMIN_DSN, name), 2, size, 1000, CREDENTIALS)
    loaded = time.perf_counter() - started
    print(f"  {size:,} resources loaded in {loaded:.0f}s", file=sys.stderr, flush=True)
    auth = ((b"authorization", f"Bearer {access_token(runtime, data.user)}".encode()),)
    return app, name, auth, loaded


async def _run() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    servers: dict[int, tuple[Any, str, tuple[Any, ...], float]] = {}
    with tempfile.TemporaryDirectory() as directory:
        try:
            for size in SIZES:
                os.makedirs(f"{directory}/{size}")
                servers[size] = await _loaded(size, directory)
            rates: dict[tuple[str, int], float] = {}
            for label, query in CASES:
                runs: dict[int, list[Run]] = {size: [] for size in SIZES}
                for _ in range(ROUNDS):  # interleaved, so drifts in machine load hit every size
                    for size, (app, _, auth, _) in servers.items():
                        request = Request("/graphql", orjson.dumps({"query": query}), auth)
                        runs[size].append(await load(app, request, SECONDS, CONCURRENCY))
                for size in SIZES:
                    rate, p50, p99 = median_run(runs[size])
                    rates[(label, size)] = rate
                    rows.append(
                        {
                            "case": f"{label}, {size:,} resources",
                            "req/s": f"{rate:.0f}",
                            "p50 ms": f"{p50:.1f}",
                            "p99 ms": f"{p99:.1f}",
                            "load s": f"{servers[size][3]:.0f}",
                        }
                    )
                    print(f"  {rows[-1]}", file=sys.stderr, flush=True)
        finally:
            for app, name, _, _ in servers.values():
                await app.state.runtime.close()
                await drop_database(ADMIN_DSN, name)
    smallest, largest = min(SIZES), max(SIZES)
    for label, _ in CASES:
        ratio = rates[(label, largest)] / rates[(label, smallest)]
        rows.append(
            {"case": f"{label}: req/s at {largest:,} ÷ at {smallest:,}", "ratio": f"{ratio:.2f}"}
        )
    return rows


def main() -> list[dict[str, object]]:
    return asyncio.run(_run())


if __name__ == "__main__":
    from bench.__main__ import table

    print(table(main()))
