"""An export interrupted by the client: the server rolls back its transaction and releases the
cursor and the connection at once (checked on the pool, and on PostgreSQL's own view)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event

from core.settings import Settings
from graph.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.inventory_factories import create_credential, insert_resources, resource_values
from tests.live_server import live_server

ROWS = 20_000  # several MiB of CSV: far more than socket buffers hold


class PoolWatch:
    """Connections checked out of the engine's pool right now."""

    def __init__(self, runtime: Runtime) -> None:
        self.out = 0
        pool = runtime.database.engine.sync_engine.pool
        event.listen(pool, "checkout", self._checkout)
        event.listen(pool, "checkin", self._checkin)

    def _checkout(self, *_: Any) -> None:
        self.out += 1

    def _checkin(self, *_: Any) -> None:
        self.out -= 1


async def wait_for(condition: Any, seconds: float = 15.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.05)
    return bool(await condition())


async def postgres_sessions_in_transaction(runtime: Runtime) -> int:
    url = runtime.database.engine.url
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user="postgres", database=url.database
    )
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> "
                "pg_backend_pid() AND state IN ('active', 'idle in transaction')",
                url.database,
            )
        )
    finally:
        await connection.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # No schedule: the live server's lifespan must not try to sync the fake credential.
    return make_settings(database_url, tmp_path, sync_interval_minutes=0)


async def test_a_client_leaving_mid_stream_leaves_no_transaction_open(runtime: Runtime) -> None:
    # Given a large inventory and a live server
    user = await create_user(runtime)
    credential = await create_credential(runtime, user)
    await insert_resources(runtime, [resource_values(credential, i) for i in range(ROWS)])
    token = access_token(runtime, user)
    watch = PoolWatch(runtime)
    app = runtime_app(runtime)
    async with live_server(app) as address, httpx.AsyncClient() as client:
        # When a client starts the download, reads one chunk and goes away
        async with client.stream(
            "GET", f"http://{address}/export/resources",
            headers={"authorization": f"Bearer {token}"},
        ) as response:  # fmt: skip
            assert response.status_code == 200
            chunks = response.aiter_raw()
            first = await anext(chunks)
            assert first.startswith(b"id,name,")
            await anext(chunks)  # the first rows: the export's transaction is open now
            assert watch.out >= 1

        # Then its connection goes back to the pool: transaction and cursor are closed
        async def released() -> bool:
            return watch.out == 0

        assert await wait_for(released)
        if runtime.database.is_postgres:

            async def idle() -> bool:
                return await postgres_sessions_in_transaction(runtime) == 0

            assert await wait_for(idle)
        # And the server keeps serving exports
        again = await client.get(
            f"http://{address}/export/resources?search=res-00001",
            headers={"authorization": f"Bearer {token}"},
        )
        assert again.status_code == 200 and again.text.count("\r\n") == 2


def runtime_app(runtime: Runtime) -> Any:
    """The app the `runtime` fixture belongs to (its lifespan is already running elsewhere)."""
    from starlette.applications import Starlette

    from graph.app import create_app

    app: Starlette = create_app(runtime.settings)
    app.state.runtime = runtime
    return app
