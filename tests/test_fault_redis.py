"""Fault matrix (b): the shared rate-limit store stops and comes back while the app serves.

A private redis-server on a free port (never the shared one). While it is away, every limit
still holds per process (log-in included), requests are served, `/readyz` says degraded, the
outage is logged once and counted in the metrics; when it returns, counting goes back to it
without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest
import redis

import security.limit_storage
from graph.app import create_app
from security.passwords import PasswordHasher
from tests.conftest import make_settings
from tests.private_servers import private_redis

LOG_IN = """
mutation($email: String!) {
  logIn(input: {email: $email, password: "Wrong-Guess-1"}) { accessToken userErrors { code } }
}
"""


async def log_in_codes(http: httpx.AsyncClient, email: str, attempts: int) -> list[str]:
    codes = []
    for _ in range(attempts):
        response = await http.post(
            "/graphql", json={"query": LOG_IN, "variables": {"email": email}}
        )
        assert response.status_code < 500, response.text
        body = response.json()
        errors = body.get("errors") or []
        codes.append(errors[0]["extensions"]["code"] if errors else "ANSWERED")
    return codes


async def test_limits_hold_per_process_while_redis_is_away_and_recover(
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(security.limit_storage, "RETRY_SECONDS", 0.2)
    with private_redis() as server:
        # Given the app counting log-ins (3 a minute) in a private Redis
        settings = make_settings(
            database_url, tmp_path, rate_limit_storage_url=server.url, rate_limit_login="3/minute"
        )
        app = create_app(settings)
        app.state.runtime.passwords = PasswordHasher.fast_for_tests()
        transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 4000))
        store = redis.Redis.from_url(server.url)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                assert await log_in_codes(http, "a@example.com", 4) == ["ANSWERED"] * 3 + [
                    "RATE_LIMITED"
                ]
                assert store.keys("*"), "counted in Redis"

                # When Redis stops
                server.stop()
                caplog.set_level(logging.WARNING, logger="stratograph.ratelimit")
                during = await log_in_codes(http, "b@example.com", 4)
                # Then the limit still holds (per process), the app serves and says degraded
                assert during == ["ANSWERED"] * 3 + ["RATE_LIMITED"]
                ready = await http.get("/readyz")
                scraped = (await http.get("/metrics")).text
                assert ready.status_code == 200
                assert ready.json()["rateLimits"] == "degraded"
                assert "stratograph_rate_limit_degraded 1.0" in scraped
                assert "stratograph_rate_limit_storage_errors_total" in scraped
                outage_lines = [r for r in caplog.records if "unavailable" in r.getMessage()]
                assert len(outage_lines) == 1, [r.getMessage() for r in outage_lines]
                assert all(r.exc_info is None for r in caplog.records)

                # When Redis comes back (empty: it keeps nothing on disk)
                server.start()
                deadline = time.monotonic() + 15
                while (await http.get("/readyz")).json()["rateLimits"] != "ok":
                    await http.post("/graphql", json={"query": "{ __typename }"})
                    assert time.monotonic() < deadline, "never recovered"
                    await asyncio.sleep(0.1)

                # Then counting is shared again: in Redis, and the limit holds there
                after = await log_in_codes(http, "c@example.com", 4)
                assert after == ["ANSWERED"] * 3 + ["RATE_LIMITED"]
                assert store.keys("*"), "counted in Redis again"
        finally:
            store.close()
            await app.state.runtime.close()
