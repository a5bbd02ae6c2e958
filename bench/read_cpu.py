"""Server CPU per request of the read cases, one request at a time: read fast path vs regular.

The same three cases as `read_api` (the `resources(first: 100)` page, the nested credentials
query, the dashboard), on PostgreSQL, sent serially through the ASGI app: wall time and process
CPU time per request (CPU excludes waiting on PostgreSQL, so it is the server's own cost, and
steadier than req/s on a shared machine), with the fast path on and off, interleaved rounds.
`ratio` is the regular path's CPU per request over the fast path's.

Knobs: BENCH_RESOURCES (default 100000), BENCH_CPU_REQUESTS per round (300), BENCH_ROUNDS (3).
Quick run: BENCH_RESOURCES=10000 BENCH_CPU_REQUESTS=100 BENCH_ROUNDS=1 python -m bench read_cpu
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from typing import Any

import orjson

from bench._asgi import Request, call
from bench._read_api_data import (
    asyncpg_dsn,
    create_database,
    drop_database,
    populate,
    sqlalchemy_url,
)
from bench.read_api import ADMIN_DSN, CASES, CREDENTIALS, OTHER_RESOURCES, USERS, _settings
from tests.factories import access_token

ENV = os.environ.get
RESOURCES = int(ENV("BENCH_RESOURCES", "100000"))
REQUESTS = int(ENV("BENCH_CPU_REQUESTS", "300"))
ROUNDS = int(ENV("BENCH_ROUNDS", "3"))


def _view(app: Any) -> Any:
    return next(
        route.endpoint
        for route in app.routes
        if getattr(route, "path", None) == "/graphql" and getattr(route, "methods", None)
    )


async def _per_request(app: Any, request: Request) -> tuple[float, float]:
    """(wall ms, CPU ms) per request over REQUESTS serial requests."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(REQUESTS):
        status, _ = await call(app, request)
        if status != 200:
            raise AssertionError(f"status {status}")
    return (
        (time.perf_counter() - wall) * 1000 / REQUESTS,
        (time.process_time() - cpu) * 1000 / REQUESTS,
    )


async def _run() -> list[dict[str, object]]:
    from graph.app import create_app

    name = await create_database(ADMIN_DSN)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as directory:
        app = create_app(_settings(sqlalchemy_url(ADMIN_DSN, name), directory))
        runtime = app.state.runtime
        view = _view(app)
        fast_path = view.fast_path
        try:
            print(f"  loading {RESOURCES} resources …", file=sys.stderr, flush=True)
            dsn = asyncpg_dsn(ADMIN_DSN, name)
            data = await populate(runtime, dsn, USERS, RESOURCES, OTHER_RESOURCES, CREDENTIALS)
            auth = ((b"authorization", f"Bearer {access_token(runtime, data.user)}".encode()),)
            for label, query, _ in CASES:
                request = Request("/graphql", orjson.dumps({"query": query}), auth)
                runs: dict[str, list[tuple[float, float]]] = {"fast": [], "regular": []}
                for _ in range(ROUNDS):
                    for variant, path in (("fast", fast_path), ("regular", None)):
                        view.fast_path = path
                        await _per_request(app, request)  # warm caches and plans
                        runs[variant].append(await _per_request(app, request))
                view.fast_path = fast_path
                fast = [statistics.median(values) for values in zip(*runs["fast"], strict=True)]
                slow = [statistics.median(values) for values in zip(*runs["regular"], strict=True)]
                rows.append(
                    {
                        "case": label,
                        "ratio": f"{slow[1] / fast[1]:.1f}",
                        "fast CPU ms": f"{fast[1]:.2f}",
                        "regular CPU ms": f"{slow[1]:.2f}",
                        "fast wall ms": f"{fast[0]:.2f}",
                        "regular wall ms": f"{slow[0]:.2f}",
                    }
                )
                print(f"  {rows[-1]}", file=sys.stderr, flush=True)
        finally:
            view.fast_path = fast_path
            await runtime.close()
            await drop_database(ADMIN_DSN, name)
    return rows


def main() -> list[dict[str, object]]:
    return asyncio.run(_run())


if __name__ == "__main__":
    from bench.__main__ import table

    print(table(main()))
