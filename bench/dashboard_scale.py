"""Does a read's cost grow with the inventory? `dashboard` and the nested credentials query on
PostgreSQL at several inventory sizes, in the same run.

For each size in BENCH_SCALE_SIZES (default "10000,1000000"): a fresh database where the first
user owns that many resources over BENCH_CREDENTIALS credentials (loaded with COPY, then the
aggregates rebuilt once, as after a restore; the load time is reported), then BENCH_ROUNDS rounds
of BENCH_SECONDS per query with BENCH_CONCURRENCY requests in flight. The last rows give each
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

import orjson

from bench._asgi import Request, load, median_run
from bench._read_api_data import create_database, drop_database, populate, sqlalchemy_url
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


async def _one(size: int) -> dict[str, float]:
    """req/s per case at this size (and a row per case printed as it goes)."""
    name = await create_database(ADMIN_DSN)
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        app = create_app(_settings(sqlalchemy_url(ADMIN_DSN, name), directory))
        runtime: Runtime = app.state.runtime
        try:
            from bench._read_api_data import asyncpg_dsn

            started = time.perf_counter()
            data = await populate(runtime, asyncpg_dsn(ADMIN_DSN, name), 2, size, 1000, CREDENTIALS)
            loaded = time.perf_counter() - started
            print(f"  {size:,} resources loaded in {loaded:.0f}s", file=sys.stderr, flush=True)
            auth = ((b"authorization", f"Bearer {access_token(runtime, data.user)}".encode()),)
            for label, query in CASES:
                request = Request("/graphql", orjson.dumps({"query": query}), auth)
                runs = [await load(app, request, SECONDS, CONCURRENCY) for _ in range(ROUNDS)]
                rate, p50, p99 = median_run(runs)
                rates[label] = rate
                ROWS.append(
                    {
                        "case": f"{label}, {size:,} resources",
                        "req/s": f"{rate:.0f}",
                        "p50 ms": f"{p50:.1f}",
                        "p99 ms": f"{p99:.1f}",
                        "load s": f"{loaded:.0f}",
                    }
                )
                print(f"  {ROWS[-1]}", file=sys.stderr, flush=True)
        finally:
            await runtime.close()
            await drop_database(ADMIN_DSN, name)
    return rates


ROWS: list[dict[str, object]] = []


async def _run() -> list[dict[str, object]]:
    ROWS.clear()
    by_size = {size: await _one(size) for size in SIZES}
    smallest, largest = min(SIZES), max(SIZES)
    for label, _ in CASES:
        ratio = by_size[largest][label] / by_size[smallest][label]
        ROWS.append(
            {
                "case": f"{label}: req/s at {largest:,} ÷ at {smallest:,}",
                "ratio": f"{ratio:.2f}",
            }
        )
    return list(ROWS)


def main() -> list[dict[str, object]]:
    return asyncio.run(_run())


if __name__ == "__main__":
    from bench.__main__ import table

    print(table(main()))
