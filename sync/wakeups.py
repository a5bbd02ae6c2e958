"""Waking idle workers when work is queued: PostgreSQL LISTEN/NOTIFY, with polling as fallback.

The transaction that queues a job or the parts of one sends a NOTIFY, which PostgreSQL delivers
only when that transaction commits, so a woken worker always finds the work. Each process holds
one dedicated connection that LISTENs (asyncpg's `add_listener`); while it is up, the runner's
poll is only a slow safety net. SQLite has no such channel: there the runner polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database

logger = logging.getLogger("stratograph.sync")

CHANNEL = "stratograph_sync_work"
RECONNECT_SECONDS = 5.0


async def notify_work(session: AsyncSession) -> None:
    """Tell listening workers that work was queued (delivered when this transaction commits)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(CHANNEL, "")))


class WorkListener:
    """Calls `on_notify` for every NOTIFY on the work channel, reconnecting when the connection
    drops. `listening` is set while notifications can arrive."""

    def __init__(
        self,
        database: Database,
        on_notify: Callable[[], None],
        *,
        reconnect_seconds: float = RECONNECT_SECONDS,
    ) -> None:
        self.database = database
        self.on_notify = on_notify
        self.reconnect_seconds = reconnect_seconds
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def supported(self) -> bool:
        return self.database.is_postgres

    def start(self) -> None:
        if self.supported and self._task is None:
            self._task = asyncio.create_task(self._run(), name="sync-work-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.listening.clear()

    async def _run(self) -> None:
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database may be away: listen again later
                logger.warning("sync work listener lost its connection: %s", type(error).__name__)
            self.listening.clear()
            await asyncio.sleep(self.reconnect_seconds)

    async def _listen_once(self) -> None:
        lost = asyncio.Event()

        def notified(*_: Any) -> None:
            self.on_notify()

        def terminated(*_: Any) -> None:
            lost.set()

        async with self.database.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.add_listener(CHANNEL, notified)
            driver.add_termination_listener(terminated)
            try:
                self.listening.set()
                # Work queued while nobody listened is found by looking once now.
                self.on_notify()
                await lost.wait()
            finally:
                self.listening.clear()
                driver.remove_termination_listener(terminated)
                if not driver.is_closed():
                    with contextlib.suppress(Exception):
                        await driver.remove_listener(CHANNEL, notified)
