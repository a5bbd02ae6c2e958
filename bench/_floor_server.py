"""The read-API floor as an ASGI app of its own, for `uvicorn --factory bench._floor_server:app`.

Settings come from the environment as for `stratograph serve` (SECRET_KEY verifies the product's
access tokens); FLOOR_DSN is the asyncpg DSN it reads with, the app role's in bench/http_peer.py.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from bench._read_api_floor import Floor
from core.settings import Settings
from graph.runtime import Runtime


def app() -> Starlette:
    runtime = Runtime.from_settings(Settings())
    floor = Floor(runtime, os.environ["FLOOR_DSN"])
    served = floor.app()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await floor.start()
        try:
            yield
        finally:
            await floor.stop()
            await runtime.close()

    served.router.lifespan_context = lifespan
    return served
