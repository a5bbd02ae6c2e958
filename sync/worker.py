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

from core import metrics, telemetry
from core.settings import Settings
from db.engine import Database, create_engine
from db.role_check import guard_database_role
from integrations.webhooks.dispatcher import WebhookDispatcher
from integrations.webhooks.options import WebhookOptions
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
    telemetry.configure_tracing()
    database = Database(create_engine(settings.database_url))
    telemetry.instrument_engine(database.engine)
    metrics.POOLS.watch("worker", database.engine)
    vault = Vault(settings.vault_keys)
    inventories = factory or registry_factory(vault, CloudEndpoints.from_settings(settings))
    service = SyncService(
        database,
        inventories,
        SyncOptions.from_settings(settings),
        extra_maintenance=lambda: _observed(database, settings),
    )
    webhooks = WebhookDispatcher(database, vault, WebhookOptions.from_settings(settings))
    try:
        await guard_database_role(database.engine, production=settings.is_production)
        await observe_keys(database, KeyRings.from_settings(settings))
        if once:
            await service.runner.recover()
            await service.runner.drain()
            await webhooks.run_once()
            return
        stop = stop or _stop_on_signals()
        service.start_background(run_jobs=True)
        webhooks.start()
        logger.info("sync worker %s started", service.runner.worker_id)
        await stop.wait()
        logger.info(
            "sync worker %s stopping; running jobs go back to the queue", service.runner.worker_id
        )
    finally:
        await service.stop()
        await webhooks.stop()
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
