"""Running one claimed job: open the credential's inventory, plan its scopes, have them listed and
written (`sync/scopes.py`), retire scopes that left the plan, and finish the job row honestly.

A credential that covers several cloud accounts (`MultiAccountInventory`) is not listed here:
its job is split into one part per account (`sync/organization.py`), which any worker runs.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from core import metrics, telemetry
from db.engine import Database
from db.enums import AccountStatus, SyncJobStatus
from db.models import CloudCredentialRow, SyncJobRow
from db.types import utcnow
from providers.base import CloudInventory, MultiAccountInventory, Scope
from sync import accounts, jobs, parts
from sync.credential_health import record_sync_health
from sync.deadline import Deadline
from sync.dropped_scopes import retire_unplanned_scopes
from sync.job_progress import JobProgress
from sync.options import SyncOptions
from sync.organization import Organization
from sync.progress import ProgressHub
from sync.retry import Sleep
from sync.scopes import ScopeBatch, ScopeRunner
from sync.tally import PLAN_SCOPE, Tally, log_failure, safe_error

logger = logging.getLogger("stratograph.sync")

# Builds a credential's inventory (opening its secret); may be sync or async.
InventoryFactory = Callable[[CloudCredentialRow], "CloudInventory | Awaitable[CloudInventory]"]

CLOSE_SECONDS = 10.0


class SyncEngine:
    def __init__(
        self,
        database: Database,
        factory: InventoryFactory,
        hub: ProgressHub,
        options: SyncOptions,
        *,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.database = database
        self.factory = factory
        self.hub = hub
        self.options = options
        self.scopes = ScopeRunner(database, hub, options, sleep=sleep, rand=rand)
        self.organization = Organization(self)

    async def run(self, job_id: uuid.UUID, worker_id: str) -> SyncJobStatus:
        """Run a job this worker has claimed; returns its status (RUNNING once it was split
        into parts)."""
        with metrics.SYNC_JOB_DURATION.time():
            span = {"sync.job.id": str(job_id)}
            return await telemetry.in_span("sync.job", span, self._run(job_id, worker_id))

    async def run_part(self, lease: parts.PartLease) -> SyncJobStatus:
        """Run one account's part of an organization-wide job; returns the part's status."""
        span = {"sync.job.id": str(lease.job_id), "sync.account": lease.account_id}
        return await telemetry.in_span("sync.part", span, self.organization.run_part(lease))

    async def credential_of(self, job_id: uuid.UUID) -> CloudCredentialRow | None:
        async with self.database.system_session() as session:
            return await session.scalar(
                select(CloudCredentialRow)
                .join(SyncJobRow, SyncJobRow.credential_id == CloudCredentialRow.id)
                .where(SyncJobRow.id == job_id)
            )

    async def _run(self, job_id: uuid.UUID, worker_id: str) -> SyncJobStatus:
        credential = await self.credential_of(job_id)
        if credential is None:  # the credential was deleted; its jobs went with it
            return SyncJobStatus.FAILED
        try:
            inventory = await self.open_inventory(credential)
        except Exception as error:
            return await self.fail_before_listing(credential, job_id, worker_id, error, None)
        try:
            if isinstance(inventory, MultiAccountInventory):
                return await self.organization.split(credential, inventory, job_id, worker_id)
            started = time.perf_counter()
            try:
                planning = Deadline(self.options.scope_timeout_seconds, "planning the sync")
                scopes = await planning.run(self.scopes.retrying(inventory.plan))
            except Exception as error:
                return await self.fail_before_listing(
                    credential, job_id, worker_id, error, elapsed_ms(started)
                )
            tally = Tally(total=len(scopes), response_ms=elapsed_ms(started))
            progress = JobProgress(job_id, worker_id)
            batch = await self.scopes.run(
                credential, inventory, scopes, progress, tally, keep_waiting=True
            )
            await self._retire_unplanned(credential, scopes, batch, tally)
            status = tally.outcome()
            await self.finish(credential, job_id, worker_id, status, tally)
            return status
        finally:
            await self.close_inventory(inventory)

    async def fail_before_listing(
        self,
        credential: CloudCredentialRow,
        job_id: uuid.UUID,
        worker_id: str,
        error: Exception,
        response_ms: int | None,
    ) -> SyncJobStatus:
        """The credential could not be opened or its scopes planned: nothing was listed."""
        log_failure(error, "planning")
        tally = Tally(total=0, errors=[safe_error(PLAN_SCOPE, error)], response_ms=response_ms)
        await self.finish(credential, job_id, worker_id, SyncJobStatus.FAILED, tally)
        return SyncJobStatus.FAILED

    async def _retire_unplanned(
        self,
        credential: CloudCredentialRow,
        scopes: list[Scope],
        batch: ScopeBatch,
        tally: Tally,
    ) -> None:
        """Rows of scopes the plan no longer has are marked deleted (counted in `removed`); the
        completions still waiting are recorded in the same transaction."""
        async with batch.pending.taken() as waiting, self.database.system_session() as session:
            removed = await retire_unplanned_scopes(
                session, credential, scopes, utcnow(), job_id=batch.progress.job_id
            )
            await batch.record_waiting(session, waiting, removed=removed)
        tally.removed += removed

    @staticmethod
    async def close_inventory(inventory: CloudInventory) -> None:
        """Release the SDK clients (a failure to close never changes the job's outcome)."""
        try:
            await asyncio.wait_for(inventory.close(), CLOSE_SECONDS)
        except Exception as error:
            logger.warning("closing an inventory failed: %s", type(error).__name__)

    async def open_inventory(self, credential: CloudCredentialRow) -> CloudInventory:
        built = self.factory(credential)
        if inspect.isawaitable(built):
            return await built
        return built

    async def finish(
        self,
        credential: CloudCredentialRow,
        job_id: uuid.UUID,
        worker_id: str,
        status: SyncJobStatus,
        tally: Tally,
    ) -> None:
        values = tally.values()
        values["progress"] = 1.0
        at = utcnow()
        async with self.database.system_session() as session:
            await jobs.finish(session, job_id, worker_id, status, **values)
            # Same transaction: the health shown always agrees with the job that ended.
            await record_sync_health(
                session, credential.id, status, tally.errors, response_ms=tally.response_ms, at=at
            )
            for account_id in sorted(tally.accounts):
                await accounts.record_outcome(
                    session, credential.id, account_id, status=AccountStatus.ACTIVE,
                    error=None, synced_at=at,
                )  # fmt: skip
            if tally.accounts:
                await accounts.refresh_counts(session, credential.id)
        self.observe_finished(job_id, status, tally)

    def observe_finished(self, job_id: uuid.UUID, status: SyncJobStatus, tally: Tally) -> None:
        self.hub.publish(job_id)
        metrics.SYNC_JOBS.labels(status.value).inc()
        for change in ("added", "updated", "removed"):
            metrics.SYNC_RESOURCES.labels(change).inc(getattr(tally, change))
        logger.info(
            "sync job %s finished %s: +%d ~%d -%d, %d errors, %d warnings",
            job_id,
            status.value,
            tally.added,
            tally.updated,
            tally.removed,
            len(tally.errors),
            len(tally.warnings),
        )


def elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
