"""The product's HTTP read path against PostGraphile (the peer) and the hand-written floor.

One private PostgreSQL database, migrated with the product's migrations: BENCH_RESOURCES
resources (100,000) for the measured user among BENCH_USERS users (10), each other user owning
BENCH_OTHER_RESOURCES (10,000). Every server is a real process on a free loopback port, started
one at a time, connected as the application role (row-level security applies) and given the
product's access token: `stratograph serve` in production mode behind a trusted proxy,
PostGraphile 5 (tools/postgraphile, `make bench-tools`) and the floor (bench/_read_api_floor.py
under uvicorn). Before it is measured, each server must return, for every case, the ids the
database itself lists in the same order; a difference fails the run.

wrk drives each case at each of BENCH_HTTP_CONNECTIONS (1,32) for BENCH_HTTP_WARMUP seconds
(3, not counted) and then BENCH_HTTP_SECONDS (10); BENCH_HTTP_ROUNDS (1) repeats the whole
sequence of servers and reports medians. Server CPU per request is the server's utime + stime
over the measured window divided by the requests wrk completed in it. BENCH_PEER_USER_CHECK=0
lets PostGraphile skip the per-request read of the user's row that the product and the floor do
(see tools/postgraphile/serve.mjs). BENCH_BEFORE_SOURCE names another checkout of the code (e.g.
`git worktree add --detach /tmp/old REV`): its `stratograph serve` is measured too, as "before",
on the same database (the database is migrated by this checkout, so REV must read its schema).

Quick run: BENCH_QUICK=1 python -m bench http_peer
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench import _wrk
from bench._http_peer_cases import CASES, Case, peer_ids, product_ids
from bench._http_servers import Running, ServerSpec, running
from bench._read_api_data import asyncpg_dsn, create_database, drop_database, populate
from core.settings import Settings
from graph.runtime import Runtime

ENV = os.environ.get
RESOURCES = int(ENV("BENCH_RESOURCES", "100000"))
USERS = int(ENV("BENCH_USERS", "10"))
OTHER_RESOURCES = int(ENV("BENCH_OTHER_RESOURCES", "10000"))
CREDENTIALS = int(ENV("BENCH_CREDENTIALS", "10"))
WARMUP = float(ENV("BENCH_HTTP_WARMUP", "3"))
SECONDS = float(ENV("BENCH_HTTP_SECONDS", "10"))
ROUNDS = int(ENV("BENCH_HTTP_ROUNDS", "1"))
CONNECTIONS = [int(n) for n in ENV("BENCH_HTTP_CONNECTIONS", "1,32").split(",")]
ADMIN_DSN = ENV(
    "BENCH_POSTGRES_DSN", ENV("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1/postgres")
)
APP_ROLE = ENV("BENCH_APP_ROLE", ENV("TEST_POSTGRES_APP_ROLE", "stratograph_app"))
# "1": PostGraphile also reads the user's row per request (active, not revoked), as the product
# and the floor do; "0": the token's signature and expiry only, PostGraphile's usual setup.
PEER_USER_CHECK = ENV("BENCH_PEER_USER_CHECK", "1")
BEFORE_SOURCE = ENV("BENCH_BEFORE_SOURCE")
ROOT = Path(__file__).resolve().parent.parent
PEER_DIR = ROOT / "tools" / "postgraphile"
PEER = "PostGraphile"


@dataclass(frozen=True)
class Dataset:
    database: str
    user_id: uuid.UUID
    token: str
    secret_key: str
    encryption_keys: str


def _settings(database_url: str, secret_key: str, encryption_keys: str) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        secret_key=secret_key,
        encryption_keys=[encryption_keys],
        access_token_expire_minutes=24 * 60,  # outlives the longest run
        log_level="WARNING",
    )


def _dsn(database: str, role: str | None = None, driver: str = "postgresql") -> str:
    parts = urlsplit(asyncpg_dsn(ADMIN_DSN, database))
    netloc = parts.netloc if role is None else f"{role}@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit((driver, netloc, parts.path, parts.query, ""))


async def prepare(resources: int, other_resources: int) -> Dataset:
    """A migrated, filled database (as the owner) and an access token for its first user.
    A tenth of every inventory is marked deleted, so a server that forgot to leave deleted
    resources out would fail the check."""
    database = await create_database(ADMIN_DSN)
    try:
        secret_key = secrets.token_urlsafe(48)
        encryption_keys = "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
        url = _dsn(database, driver="postgresql+asyncpg")
        runtime = Runtime.from_settings(_settings(url, secret_key, encryption_keys))
        try:
            data = await populate(
                runtime, _dsn(database), USERS, resources, other_resources, CREDENTIALS
            )
            token, _ = runtime.signer.issue_access(data.user.id)
        finally:
            await runtime.close()
        connection = await asyncpg.connect(_dsn(database))
        try:
            await connection.execute(
                "UPDATE resources SET deleted_at = last_synced_at WHERE resource_id LIKE '%7'"
            )
            await connection.execute("ANALYZE resources")
        finally:
            await connection.close()
    except BaseException:
        await drop_database(ADMIN_DSN, database)
        raise
    return Dataset(database, data.user.id, token, secret_key, encryption_keys)


async def expected_ids(dataset: Dataset, case: Case) -> list[uuid.UUID]:
    """The page as the database lists it (owner connection, the product's order)."""
    where, values = "", []
    if case.provider:
        where, values = " AND provider = $3 AND type = $4", [case.provider, case.type]
    connection = await asyncpg.connect(_dsn(dataset.database))
    try:
        rows = await connection.fetch(
            "SELECT id FROM resources WHERE user_id = $1 AND deleted_at IS NULL"
            f"{where} ORDER BY name, id LIMIT $2",
            dataset.user_id,
            case.first,
            *values,
        )
    finally:
        await connection.close()
    return [row["id"] for row in rows]


@dataclass(frozen=True)
class Server:
    spec: ServerSpec
    body: Any  # (Case, Dataset) -> bytes
    ids: Any  # decoded answer -> list of row ids


def servers(dataset: Dataset, directory: str) -> Iterator[Server | str]:
    """Each server to measure, or the reason it cannot run here."""
    base = {"PATH": ENV("PATH", ""), "HOME": directory, "LANG": "C.UTF-8"}
    app_url = _dsn(dataset.database, APP_ROLE)
    if shutil.which("node") is None:
        yield f"{PEER} skipped: node is not installed"
    elif not (PEER_DIR / "node_modules").is_dir():
        yield f"{PEER} skipped: tools/postgraphile is not installed (make bench-tools)"
    else:
        peer_env = {**base, "DATABASE_URL": app_url, "SECRET_KEY": dataset.secret_key}
        peer_env |= {"NODE_ENV": "production", "USER_CHECK": PEER_USER_CHECK}
        argv = ["node", "--import", "./polyfill.mjs", "serve.mjs"]
        spec = ServerSpec(PEER, argv, peer_env, str(PEER_DIR), "/graphql")
        yield Server(spec, lambda c, d: c.peer(d.user_id), peer_ids)
    product_env = {
        **base,
        "ENVIRONMENT": "production",
        "DATABASE_URL": _dsn(dataset.database, APP_ROLE, "postgresql+asyncpg"),
        "SECRET_KEY": dataset.secret_key,
        "ENCRYPTION_KEYS": dataset.encryption_keys,
        "ALLOWED_HOSTS": "127.0.0.1",
        "TRUSTED_PROXIES": "127.0.0.1",  # wrk stands for the TLS proxy (X-Forwarded-Proto)
        "RATE_LIMIT_DEFAULT": "100000000/minute",
        "RATE_LIMIT_DASHBOARD": "100000000/minute",
        "SYNC_INTERVAL_MINUTES": "0",
        "LOG_LEVEL": "WARNING",
    }
    serve = [sys.executable, "-m", "stratograph", "serve", "--host", "127.0.0.1"]
    serve += ["--port", "{port}"]
    spec = ServerSpec("product", serve, product_env, directory, "/graphql")
    yield Server(spec, lambda c, d: c.product(), product_ids)
    if BEFORE_SOURCE:  # `-m` runs from the working directory, so its code is the checkout's
        before_env = {**product_env, "PYTHONPATH": BEFORE_SOURCE}
        spec = ServerSpec("before", serve, before_env, BEFORE_SOURCE, "/graphql")
        yield Server(spec, lambda c, d: c.product(), product_ids)
    floor_env = {**product_env, "FLOOR_DSN": app_url, "PYTHONPATH": str(ROOT)}
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "bench._floor_server:app"]
    uvicorn += ["--host", "127.0.0.1", "--port", "{port}", "--no-access-log"]
    yield Server(
        ServerSpec("floor", uvicorn, floor_env, directory, "/resources"),
        lambda c, d: c.floor(),
        product_ids,
    )


def headers(dataset: Dataset) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {dataset.token}",
        "X-Forwarded-Proto": "https",
    }


def check(server: Server, live: Running, dataset: Dataset, case: Case, want: list[Any]) -> None:
    """The server's page has the database's ids in the database's order, or AssertionError."""
    answer = live.post(server.body(case, dataset), headers(dataset))
    if answer.get("errors"):
        raise AssertionError(f"{server.spec.name}, {case.label}: {answer['errors']}")
    got = server.ids(answer)
    if got != want:
        same = sum(1 for _ in zip(got, want, strict=False))
        differ = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), same)
        raise AssertionError(
            f"{server.spec.name}, {case.label}: {len(got)} ids where the database lists "
            f"{len(want)}; first difference at position {differ}"
        )


@dataclass(frozen=True)
class Measured:
    rate: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float


def measure(
    server: Server, live: Running, dataset: Dataset, case: Case, connections: int
) -> Measured:
    lua = _wrk.script(server.body(case, dataset), headers(dataset))
    _wrk.run(live.url, lua, connections=connections, seconds=WARMUP, warm_up=True)
    drain(server, live, dataset, case)
    before = live.cpu_seconds()
    result = _wrk.run(live.url, lua, connections=connections, seconds=SECONDS)
    spent = live.cpu_seconds() - before
    drain(server, live, dataset, case)
    return Measured(result.rate, result.p50_ms, result.p99_ms, spent * 1000 / result.requests)


def drain(server: Server, live: Running, dataset: Dataset, case: Case) -> None:
    """wrk stops without waiting for the requests still in flight; one more request answered
    means the server has worked through them (it serves in arrival order), so they neither
    count in the next window nor slow it down."""
    live.post(server.body(case, dataset), headers(dataset))


def serve_each(
    dataset: Dataset, *, measuring: bool, rounds: int = 1
) -> tuple[dict[Any, list[Measured]], list[str]]:
    """Start every server in turn (`rounds` times, so a drift in the machine's load hits them
    all), check its pages, and (when measuring) load it with wrk. Returns the measurements by
    (case, connections, server) and the reasons of skipped servers."""
    wanted = {case: asyncio.run(expected_ids(dataset, case)) for case in CASES}
    found: dict[Any, list[Measured]] = {}
    skipped: dict[str, None] = {}
    with tempfile.TemporaryDirectory() as directory:
        for _ in range(rounds):
            for server in servers(dataset, directory):
                if isinstance(server, str):
                    skipped[server] = None
                    continue
                print(f"  {server.spec.name} …", file=sys.stderr, flush=True)
                with running(server.spec) as live:
                    for case in CASES:
                        check(server, live, dataset, case, wanted[case])
                    if measuring:
                        _load(server, live, dataset, found)
                        for case in CASES:  # still the same answers after the load
                            check(server, live, dataset, case, wanted[case])
    return found, list(skipped)


def _load(
    server: Server, live: Running, dataset: Dataset, found: dict[Any, list[Measured]]
) -> None:
    for case in CASES:
        for connections in CONNECTIONS:
            got = measure(server, live, dataset, case, connections)
            found.setdefault((case, connections, server.spec.name), []).append(got)
            print(f"    {case.label}, {connections} conn: {got}", file=sys.stderr, flush=True)


def _median(runs: list[Measured]) -> Measured:
    return Measured(
        statistics.median(r.rate for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        statistics.median(r.cpu_ms for r in runs),
    )


def rows(found: dict[Any, list[Measured]], skipped: list[str]) -> list[dict[str, object]]:
    """One row per case, connection count and server: medians over the rounds."""
    produced: list[dict[str, object]] = [{"case": reason} for reason in skipped]
    names = list(dict.fromkeys(name for _, _, name in found))
    for case in CASES:
        for connections in CONNECTIONS:
            peer_runs = found.get((case, connections, PEER))
            peer = _median(peer_runs) if peer_runs else None
            for name in names:
                got = _median(found[(case, connections, name)])
                produced.append(
                    {
                        "case": f"{case.label}, {connections} conn: {name}",
                        "× PostGraphile": f"{got.rate / peer.rate:.2f}" if peer else "-",
                        "req/s": f"{got.rate:.0f}",
                        "p50 ms": f"{got.p50_ms:.1f}",
                        "p99 ms": f"{got.p99_ms:.1f}",
                        "CPU ms/req": f"{got.cpu_ms:.2f}",
                    }
                )
    return produced


def run(*, measuring: bool, resources: int, other_resources: int) -> list[dict[str, object]]:
    reason = _wrk.missing() if measuring else None
    if reason:
        return [{"case": f"skipped: {reason}"}]
    print(f"  loading {resources} resources …", file=sys.stderr, flush=True)
    dataset = asyncio.run(prepare(resources, other_resources))
    try:
        found, skipped = serve_each(dataset, measuring=measuring, rounds=ROUNDS)
    finally:
        if not ENV("BENCH_KEEP"):
            asyncio.run(drop_database(ADMIN_DSN, dataset.database))
    return rows(found, skipped)


def main() -> list[dict[str, object]]:
    produced = run(measuring=True, resources=RESOURCES, other_resources=OTHER_RESOURCES)
    from bench.__main__ import table

    for case in CASES:  # one table per case on stderr; the runner prints the common one
        mine = [r for r in produced if str(r["case"]).startswith(case.label)]
        if mine:
            print(f"\n{case.label}\n{table(mine)}", file=sys.stderr, flush=True)
    return produced


if __name__ == "__main__":
    from bench.__main__ import table

    print(table(main()))
