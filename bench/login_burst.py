"""Does a burst of logins stall other requests? p99 of `{ me { email } }` with and without one.

Both phases run in one process against one in-process ASGI app on a fresh SQLite database, with
production password-hashing cost. Logins hash in a bounded thread pool, so `me` requests (which
hash nothing) should keep flowing: the target is p99 during the burst within 5x of p99 without.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from core.settings import Settings
from db.migrate import upgrade_async
from graph.app import create_app
from graph.runtime import Runtime

ME = "query { me { email } }"
SIGN_UP = "mutation($i: SignUpInput!) { signUp(input: $i) { userErrors { code } } }"
LOG_IN = "mutation($i: LogInInput!) { logIn(input: $i) { accessToken userErrors { code } } }"
PASSWORD = "Bench-Password-42"
ME_CLIENTS = 4
ME_REQUESTS_PER_PHASE = int(os.environ.get("BENCH_ME_REQUESTS", "300"))
LOGIN_CLIENTS = int(os.environ.get("BENCH_LOGIN_CLIENTS", "16"))
TARGET_RATIO = 5.0


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


async def post(http: httpx.AsyncClient, query: str, variables: Mapping[str, object] | None = None,
               token: str | None = None) -> dict[str, Any]:  # fmt: skip
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query, "variables": variables},
                               headers=headers)  # fmt: skip
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


async def me_load(http: httpx.AsyncClient, token: str, count: int) -> list[float]:
    """`count` `me` requests spread over a few concurrent clients; their latencies in ms."""
    latencies: list[float] = []
    remaining = count

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await post(http, ME, token=token)
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(client() for _ in range(ME_CLIENTS)))
    return latencies


async def login_burst(http: httpx.AsyncClient, email: str, stop: asyncio.Event) -> int:
    """Concurrent logins until told to stop; returns how many completed."""
    done = 0

    async def client() -> None:
        nonlocal done
        while not stop.is_set():
            body = await post(http, LOG_IN, {"i": {"email": email, "password": PASSWORD}})
            assert body["data"]["logIn"]["accessToken"], body
            done += 1

    await asyncio.gather(*(client() for _ in range(LOGIN_CLIENTS)))
    return done


async def run(directory: Path) -> tuple[list[float], list[float], int]:
    url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    await upgrade_async(url)
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=url,
        secret_key=secrets.token_urlsafe(48),
        encryption_keys=["b1:" + base64.b64encode(secrets.token_bytes(32)).decode()],
        dev_secrets_file=str(directory / "secrets.json"),
        rate_limit_login="1000000/minute",  # the limiter is not what is measured here
        rate_limit_default="1000000/minute",
    )
    app = create_app(settings)
    runtime: Runtime = app.state.runtime
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for email in ("reader@example.com", "burst@example.com"):
                variables = {"i": {"email": email, "password": PASSWORD, "fullName": "Bench"}}
                await post(http, SIGN_UP, variables)
            login = await post(http, LOG_IN, {"i": {"email": "reader@example.com",
                                                    "password": PASSWORD}})  # fmt: skip
            token = str(login["data"]["logIn"]["accessToken"])
            await me_load(http, token, 50)  # warm caches
            quiet = await me_load(http, token, ME_REQUESTS_PER_PHASE)
            stop = asyncio.Event()
            burst = asyncio.create_task(login_burst(http, "burst@example.com", stop))
            await asyncio.sleep(0.2)  # let the burst fill the hashing pool
            loaded = await me_load(http, token, ME_REQUESTS_PER_PHASE)
            stop.set()
            logins = await burst
    finally:
        await runtime.close()
    return quiet, loaded, logins


def main() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as directory:
        quiet, loaded, logins = asyncio.run(run(Path(directory)))
    ratio = p99(loaded) / p99(quiet)
    return [
        {
            "case": f"p99 of me during a burst of {LOGIN_CLIENTS} concurrent logins",
            "measured": f"{p99(loaded):.1f} ms (p50 {statistics.median(loaded):.1f} ms)",
            "baseline": f"{p99(quiet):.1f} ms quiet (p50 {statistics.median(quiet):.1f} ms)",
            "ratio": f"{ratio:.2f}",
            "target": f"≤ {TARGET_RATIO:.0f}x {'ok' if ratio <= TARGET_RATIO else 'MISSED'}",
            "note": f"{logins} logins served during the burst",
        }
    ]
