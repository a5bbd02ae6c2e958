"""SIGTERM lets in-flight requests finish: uvicorn runs with our options and drains first."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from core.settings import Settings
from graph.app import create_app
from stratograph.serving import uvicorn_options
from tests.conftest import make_settings


class Gate:
    """Holds requests marked `x-hold` until released, so one is surely in flight."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (b"x-hold", b"1") in scope["headers"]:
            self.entered.set()
            await self.release.wait()
        await self.app(scope, receive, send)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False


def test_serve_options_drain_requests_and_leave_logging_to_us(tmp_path: Path) -> None:
    settings: Settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/x.db", tmp_path)
    options = uvicorn_options(settings, host="127.0.0.1", port=0, graceful_timeout=12)
    assert options["timeout_graceful_shutdown"] == 12
    assert options["log_config"] is None


async def test_a_request_in_flight_at_shutdown_completes(settings: Settings) -> None:
    # given a served app with a request held inside it
    gate = Gate(create_app(settings))
    options = uvicorn_options(settings, host="127.0.0.1", port=0, graceful_timeout=10)
    del options["workers"]
    server = uvicorn.Server(uvicorn.Config(gate, lifespan="on", **options))
    serving = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        in_flight = asyncio.create_task(client.get("/healthz", headers={"x-hold": "1"}))
        await asyncio.wait_for(gate.entered.wait(), 10)
        # when shutdown starts (what SIGTERM does) and the server stops accepting
        server.should_exit = True
        while await asyncio.to_thread(_accepts, port):
            assert time.monotonic() < deadline, "server kept accepting after shutdown began"
            await asyncio.sleep(0.02)
        gate.release.set()
        response = await asyncio.wait_for(in_flight, 10)
    # then the held request was answered, and the server then stopped cleanly
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    await asyncio.wait_for(serving, 10)
