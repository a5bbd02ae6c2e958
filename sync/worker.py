"""`stratograph worker`: run sync jobs (and the schedule) outside the web server.

Several workers on several machines share the queue in the database: claims use
`FOR UPDATE SKIP LOCKED` on PostgreSQL, job creation is serialized per credential, and a job
whose worker dies is recovered by any other worker once its heartbeat is stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from core import metrics
from core.settings import Settings
from db.engine import Database, create_engine
from db.role_check import guard_database_role
from providers.endpoints import CloudEndpoints
from security.key_ages import KeyRings, observe_keys
from security.vault import Vault
from sync.engine import InventoryFactory
from sync.inventories import registry_factory
from sync.options import SyncOptions
from sync.service import SyncService

logger = logging.getLogger("stratograph.sync")


async def run_worker(
    settings: Settings,
    *,
    once: bool = False,
    stop: asyncio.Event | None = None,
    factory: InventoryFactory | None = None,
) -> None:
    """Run jobs until SIGINT/SIGTERM (or `stop`); with `once`, drain the queue and return."""
    database = Database(create_engine(settings.database_url))
    metrics.POOLS.watch("worker", database.engine)
    inventories = factory or registry_factory(
        Vault(settings.vault_keys), CloudEndpoints.from_settings(settings)
    )
    service = SyncService(
        database,
        inventories,
        SyncOptions.from_settings(settings),
        extra_maintenance=lambda: _observed(database, settings),
    )
    try:
        await guard_database_role(database.engine, production=settings.is_production)
        await observe_keys(database, KeyRings.from_settings(settings))
        if once:
            await service.runner.recover()
            await service.runner.drain()
            return
        stop = stop or _stop_on_signals()
        service.start_background(run_jobs=True)
        logger.info("sync worker %s started", service.runner.worker_id)
        await stop.wait()
        logger.info(
            "sync worker %s stopping; running jobs go back to the queue", service.runner.worker_id
        )
    finally:
        await service.stop()
        await database.dispose()


async def _observed(database: Database, settings: Settings) -> None:
    await observe_keys(database, KeyRings.from_settings(settings))


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # platforms without signal handlers
            loop.add_signal_handler(sig, stop.set)
    return stop
