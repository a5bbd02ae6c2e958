"""Periodic sync of every credential: each tick enqueues a SCHEDULED job for every credential
whose last job was queued more than one interval ago. Safe to run on several machines at once:
the per-credential lock in `jobs.enqueue` re-checks the interval inside the transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from db.engine import Database
from db.enums import SyncTrigger
from db.models import CloudCredentialRow, SyncJobRow
from db.types import utcnow
from sync import jobs
from sync.maintenance import Maintenance

logger = logging.getLogger("stratograph.sync")


class SyncScheduler:
    def __init__(
        self,
        database: Database,
        interval: timedelta,
        *,
        on_enqueued: Callable[[list[uuid.UUID]], None] = lambda _: None,
        clock: Callable[[], datetime] = utcnow,
        maintenance: Maintenance | None = None,
    ) -> None:
        self.database = database
        self.interval = interval
        self.on_enqueued = on_enqueued
        self.clock = clock
        self.maintenance = maintenance
        self._task: asyncio.Task[None] | None = None

    async def due(self, now: datetime) -> list[uuid.UUID]:
        """Credentials with no job queued within the last interval."""
        latest = (
            select(SyncJobRow.credential_id, func.max(SyncJobRow.queued_at).label("latest"))
            .group_by(SyncJobRow.credential_id)
            .subquery()
        )
        statement = (
            select(CloudCredentialRow.id)
            .outerjoin(latest, latest.c.credential_id == CloudCredentialRow.id)
            .where((latest.c.latest.is_(None)) | (latest.c.latest <= now - self.interval))
            .order_by(CloudCredentialRow.id)
        )
        async with self.database.system_session() as session:
            return list((await session.scalars(statement)).all())

    async def tick(self) -> list[uuid.UUID]:
        """Enqueue the due credentials; returns the ids of the jobs created."""
        now = self.clock()
        created: list[uuid.UUID] = []
        for credential_id in await self.due(now):
            async with self.database.system_session() as session:
                outcome = await jobs.enqueue(
                    session,
                    credential_id,
                    SyncTrigger.SCHEDULED,
                    not_queued_since=now - self.interval,
                    now=now,
                )
            if outcome is not None and outcome[1]:
                created.append(outcome[0].id)
        if created:
            logger.info("scheduled %d sync jobs", len(created))
            self.on_enqueued(created)
        if self.maintenance is not None:
            await self.maintenance.run_if_due(now)
        return created

    async def run_forever(self, check_every: timedelta = timedelta(minutes=1)) -> None:
        period = min(check_every, self.interval).total_seconds()
        while True:
            try:
                await self.tick()
            except Exception as error:  # keep scheduling after a transient database error
                logger.warning("sync scheduler tick failed: %s", type(error).__name__)
            await asyncio.sleep(period)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name="sync-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
