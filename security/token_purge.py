"""Periodic purge of dead refresh tokens (expired, or revoked more than a day ago) and of
`mfaToken` challenges that can no longer be completed.

Every server process runs it (`graph.app`'s lifespan): the delete is idempotent, so several
processes purging at once only repeat each other's work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from db.engine import Database
from security import mfa_challenges, refresh_tokens

logger = logging.getLogger("stratograph.auth")

PURGE_EVERY = timedelta(hours=1)


def _now() -> datetime:
    return datetime.now(UTC)


class RefreshTokenPurge:
    def __init__(
        self,
        database: Database,
        *,
        every: timedelta = PURGE_EVERY,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.database = database
        self.every = every
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        async with self.database.system_session() as session:
            now = self.clock()
            purged = await refresh_tokens.purge(session, now=now)
            challenges = await mfa_challenges.purge(session, now=now)
        if challenges:
            logger.info("purged %d finished log-in challenges", challenges)
        if purged:
            logger.info("purged %d dead refresh tokens", purged)
        return purged

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as error:  # a database outage must not end the schedule
                logger.warning("refresh-token purge failed: %s", type(error).__name__)
            await asyncio.sleep(self.every.total_seconds())

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name="refresh-token-purge")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
