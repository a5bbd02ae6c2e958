"""Drive an ASGI app in-process (no sockets, no HTTP client) and measure throughput and latency.

Both the GraphQL server and its hand-written floor go through this same driver, so the client's
cost is identical for both and out of the ratio.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

ASGIApp = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]


async def call(app: ASGIApp, request: Request) -> tuple[int, bytes]:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(request.body)).encode()),
            *request.headers,
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("bench", 80),
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # a real server would wait for disconnect
        sent = True
        return {"type": "http.request", "body": request.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


@dataclass
class Run:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def load(app: ASGIApp, request: Request, seconds: float, concurrency: int) -> Run:
    """As many requests as `concurrency` workers complete in `seconds`; every one must be 200."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, body = await call(app, request)
            latencies.append(time.perf_counter() - started)
            if status != 200 or b'"errors"' in body[:2048]:
                raise RuntimeError(f"benchmark request failed: {status} {body[:300]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(len(latencies), time.perf_counter() - started, latencies)


def median_run(runs: list[Run]) -> tuple[float, float, float]:
    """Median requests/s over runs; p50/p99 latency in ms over every request of every run."""
    every = Run(0, 1.0, [latency for run in runs for latency in run.latencies])
    return (
        statistics.median(run.rate for run in runs),
        every.percentile(0.50) * 1000,
        every.percentile(0.99) * 1000,
    )
