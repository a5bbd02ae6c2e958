"""The sync engine's front door for one process: start jobs, run them, schedule them."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable

from db.engine import Database
from db.enums import SyncTrigger
from db.models import SyncJobRow
from sync import jobs
from sync.engine import InventoryFactory, SyncEngine
from sync.maintenance import Maintenance
from sync.options import SyncOptions
from sync.progress import ProgressHub
from sync.runner import SyncRunner
from sync.scheduler import SyncScheduler

logger = logging.getLogger("stratograph.sync")


class SyncService:
    def __init__(
        self,
        database: Database,
        factory: InventoryFactory,
        options: SyncOptions,
        *,
        hub: ProgressHub | None = None,
        engine: SyncEngine | None = None,
        extra_maintenance: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.database = database
        self.options = options
        self.hub = hub or ProgressHub()
        self.engine = engine or SyncEngine(database, factory, self.hub, options)
        self.runner = SyncRunner(database, self.engine, options)
        self.maintenance = Maintenance(
            database,
            deleted_retention=options.deleted_retention,
            history_retention=options.history_retention,
            secret_max_age=options.secret_max_age,
            extra=extra_maintenance,
        )
        self.scheduler = (
            SyncScheduler(
                database,
                options.interval,
                on_enqueued=lambda _: self.runner.wake(),
                maintenance=self.maintenance,
            )
            if options.interval is not None
            else None
        )

    async def start(
        self, credential_ids: Iterable[uuid.UUID], trigger: SyncTrigger = SyncTrigger.MANUAL
    ) -> list[SyncJobRow]:
        """Queue a job per credential, or return the one already queued/running for it.

        The caller has already checked that the credentials belong to the acting user.
        """
        result: list[SyncJobRow] = []
        for credential_id in credential_ids:
            async with self.database.system_session() as session:
                outcome = await jobs.enqueue(session, credential_id, trigger)
            if outcome is not None:
                result.append(outcome[0])
        if result:
            self.runner.wake()
        return result

    def start_background(self, *, run_jobs: bool = True) -> None:
        """Start the runner (unless jobs run in `stratograph worker`) and the scheduler."""
        if run_jobs:
            self.runner.start()
        if self.scheduler is not None:
            self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.runner.stop()
