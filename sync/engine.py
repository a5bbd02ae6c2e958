"""Running one claimed job: plan the credential's scopes, list them under bounded concurrency with
retries, write each completed scope, and keep the job row (progress, counts, errors) honest.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import metrics, telemetry
from db.engine import Database
from db.enums import SyncJobStatus
from db.models import CloudCredentialRow, SyncJobRow
from db.types import utcnow
from providers.base import (
    CloudInventory,
    ProviderError,
    ResourceRecord,
    Scope,
    StreamingInventory,
)
from sync import jobs, store
from sync.credential_health import record_sync_health
from sync.deadline import Deadline
from sync.dropped_scopes import retire_unplanned_scopes
from sync.options import SyncOptions
from sync.progress import ProgressHub
from sync.relations import RelationKey
from sync.report import IngestReport
from sync.retry import Sleep, with_retries
from sync.scope_changes import ScopeChanges, Stored, stored_scopes
from sync.scope_records import (
    Completion,
    PendingCompletions,
    record_completions,
    record_failure,
)

logger = logging.getLogger("stratograph.sync")

# Builds a credential's inventory (opening its secret); may be sync or async.
InventoryFactory = Callable[[CloudCredentialRow], "CloudInventory | Awaitable[CloudInventory]"]

PLAN_SCOPE = "*"
CLOSE_SECONDS = 10.0
INTERNAL_MESSAGE = "Unexpected error in the sync engine; the operators have the details."


def safe_error(scope: str, error: BaseException) -> dict[str, str]:
    """The only shape an error takes on a job: ProviderError messages are safe by contract;
    anything else is reduced to a generic message (its text could carry anything)."""
    if isinstance(error, ProviderError):
        return {"scope": scope, "code": error.code[:64], "message": error.message[:500]}
    return {"scope": scope, "code": "INTERNAL", "message": INTERNAL_MESSAGE}


@dataclass
class _Written:
    """What a streamed scope has committed so far (kept on the job even if the stream fails)."""

    added: int = 0
    updated: int = 0


@dataclass
class _Tally:
    total: int
    done: int = 0
    succeeded: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    # How long planning (the sync's first cloud call) took: the credential's response time.
    response_ms: int | None = None

    def values(self) -> dict[str, Any]:
        return {
            "progress": self.done / self.total if self.total else 1.0,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }

    def reported(self, key: str, report: IngestReport) -> None:
        """What normalizing the scope changed (warnings) and skipped (errors: the job is
        PARTIAL, since the inventory lacks those resources)."""
        self.warnings.extend(report.warnings(key))
        self.errors.extend(report.errors(key))
        if report.counts:
            logger.warning("sync %s normalized its listing: %s", key, report.summary())

    def outcome(self) -> SyncJobStatus:
        if not self.errors:
            return SyncJobStatus.SUCCEEDED
        return SyncJobStatus.PARTIAL if self.succeeded else SyncJobStatus.FAILED


@dataclass(frozen=True)
class _Batch:
    """One job's writing context: whose rows, which job, and what was stored when it started."""

    credential: CloudCredentialRow
    job_id: uuid.UUID
    worker_id: str
    step: float
    stored: Stored
    pending: PendingCompletions

    async def completed(self, session: AsyncSession, completions: list[Completion]) -> None:
        await record_completions(session, self.credential, completions, job_id=self.job_id)

    async def progress(self, session: AsyncSession, scopes: int, changes: ScopeChanges) -> None:
        """Add `scopes` finished scopes and these counts to the job (raises JobLost if this
        worker no longer owns it, so nothing of the transaction is committed)."""
        await jobs.add_progress(
            session,
            self.job_id,
            self.worker_id,
            step=self.step * scopes,
            added=changes.added,
            updated=changes.updated,
            removed=changes.removed,
        )


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
        self.sleep = sleep
        self.rand = rand

    async def run(self, job_id: uuid.UUID, worker_id: str) -> SyncJobStatus:
        """Run a job this worker has claimed; returns its final status."""
        with metrics.SYNC_JOB_DURATION.time():
            span = {"sync.job.id": str(job_id)}
            return await telemetry.in_span("sync.job", span, self._run(job_id, worker_id))

    async def _run(self, job_id: uuid.UUID, worker_id: str) -> SyncJobStatus:
        async with self.database.system_session() as session:
            credential = await session.scalar(
                select(CloudCredentialRow)
                .join(SyncJobRow, SyncJobRow.credential_id == CloudCredentialRow.id)
                .where(SyncJobRow.id == job_id)
            )
        if credential is None:  # the credential was deleted; its jobs went with it
            return SyncJobStatus.FAILED
        try:
            inventory = await self._inventory(credential)
        except Exception as error:
            return await self._fail_before_listing(credential, job_id, worker_id, error, None)
        try:
            started = time.perf_counter()
            try:
                planning = Deadline(self.options.scope_timeout_seconds, "planning the sync")
                scopes = await planning.run(self._retrying(inventory.plan))
            except Exception as error:
                return await self._fail_before_listing(
                    credential, job_id, worker_id, error, _elapsed_ms(started)
                )
            tally = _Tally(total=len(scopes), response_ms=_elapsed_ms(started))
            return await self._run_scopes(credential, inventory, scopes, job_id, worker_id, tally)
        finally:
            await self._close(inventory)

    async def _fail_before_listing(
        self,
        credential: CloudCredentialRow,
        job_id: uuid.UUID,
        worker_id: str,
        error: Exception,
        response_ms: int | None,
    ) -> SyncJobStatus:
        """The credential could not be opened or its scopes planned: nothing was listed."""
        self._log_unexpected(error, "planning")
        tally = _Tally(total=0, errors=[safe_error(PLAN_SCOPE, error)], response_ms=response_ms)
        await self._finish(credential, job_id, worker_id, SyncJobStatus.FAILED, tally)
        return SyncJobStatus.FAILED

    async def _run_scopes(
        self,
        credential: CloudCredentialRow,
        inventory: CloudInventory,
        scopes: list[Scope],
        job_id: uuid.UUID,
        worker_id: str,
        tally: _Tally,
    ) -> SyncJobStatus:
        lock = asyncio.Lock()
        credential_slots = asyncio.Semaphore(self.options.concurrency)
        region_slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.options.region_concurrency)
        )

        step = 1.0 / len(scopes) if scopes else 1.0
        async with self.database.system_session() as session:
            stored = await stored_scopes(session, credential.id)
        pending = PendingCompletions()
        batch = _Batch(credential, job_id, worker_id, step, stored, pending)

        async def listed_and_written(
            scope: Scope, written: _Written, report: IngestReport
        ) -> ScopeChanges:
            # Region slot first, so a scope waiting for its busy region holds no credential
            # slot. The credential slot is held through the write: at most `concurrency`
            # listings are in memory however slow the database is.
            if isinstance(inventory, StreamingInventory):
                # Chunks are written as they arrive, so memory stays at `concurrency` chunks
                # however large a scope grows.
                async with region_slots[scope.region], credential_slots:
                    return await self._stream_and_write(batch, inventory, scope, written, report)
            async with region_slots[scope.region]:
                await credential_slots.acquire()
                try:
                    listing = Deadline(self.options.scope_timeout_seconds, "listing the scope")
                    records = await listing.run(self._retrying(lambda: inventory.list_scope(scope)))
                except BaseException:
                    credential_slots.release()
                    raise
            try:
                return await self._write(batch, scope, records, report)
            finally:
                credential_slots.release()

        async def one(scope: Scope) -> None:
            key = store.scope_key(scope)
            written = _Written()
            report = IngestReport()
            try:
                counts = await listed_and_written(scope, written, report)
            except jobs.JobLost:
                raise
            except Exception as error:
                self._log_unexpected(error, key)
                # Rows a stream wrote before it failed stay (they were seen); nothing is removed.
                tally.added += written.added
                tally.updated += written.updated
                # Failures are rare: serialize them so the errors list is never overwritten by
                # an older copy committed later.
                async with lock:
                    tally.reported(key, report)
                    tally.errors.append(safe_error(key, error))
                    tally.done += 1
                    await self._record_failure(batch, scope, tally)
                self.hub.publish(job_id)
                return
            tally.reported(key, report)
            tally.succeeded += 1
            tally.added += counts.added
            tally.updated += counts.updated
            tally.removed += counts.removed
            tally.done += 1
            self.hub.publish(job_id)

        try:
            # A TaskGroup cancels the other scopes at once if this worker loses the job.
            async with asyncio.TaskGroup() as group:
                for scope in scopes:
                    span = {"sync.scope": store.scope_key(scope)}
                    group.create_task(telemetry.in_span("sync.scope", span, one(scope)))
        except* jobs.JobLost as lost:
            raise jobs.JobLost(str(job_id)) from lost
        await self._retire_unplanned(batch, scopes, tally)
        status = tally.outcome()
        await self._finish(credential, job_id, worker_id, status, tally)
        return status

    async def _retire_unplanned(self, batch: _Batch, scopes: list[Scope], tally: _Tally) -> None:
        """Rows of scopes the plan no longer has are marked deleted (counted in `removed`); the
        completions still waiting are recorded."""
        async with batch.pending.taken() as waiting, self.database.system_session() as session:
            removed = await retire_unplanned_scopes(session, batch.credential, scopes, utcnow())
            await record_completions(session, batch.credential, waiting, job_id=batch.job_id)
            if removed or waiting:
                await jobs.add_progress(
                    session,
                    batch.job_id,
                    batch.worker_id,
                    step=batch.step * len(waiting),
                    removed=removed,
                )
        tally.removed += removed

    @staticmethod
    async def _close(inventory: CloudInventory) -> None:
        """Release the SDK clients (a failure to close never changes the job's outcome)."""
        try:
            await asyncio.wait_for(inventory.close(), CLOSE_SECONDS)
        except Exception as error:
            logger.warning("closing an inventory failed: %s", type(error).__name__)

    async def _inventory(self, credential: CloudCredentialRow) -> CloudInventory:
        built = self.factory(credential)
        if inspect.isawaitable(built):
            return await built
        return built

    async def _retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        return await with_retries(
            call,
            retries=self.options.max_retries,
            base=self.options.backoff_base_seconds,
            cap=self.options.backoff_cap_seconds,
            sleep=self.sleep,
            rand=self.rand,
            on_retry=lambda error: metrics.SYNC_RETRIES.labels(error.code).inc(),
        )

    async def _write(
        self,
        batch: _Batch,
        scope: Scope,
        records: list[ResourceRecord],
        report: IngestReport,
    ) -> ScopeChanges:
        """The scope's rows and the job's progress in one transaction (one commit per scope;
        the job's counts always match what is committed). Increments commute, so concurrent
        scopes committing in any order leave the right totals. An empty listing of a scope with
        nothing stored changes nothing: its completion waits for the job's next transaction."""
        seen_at = utcnow()
        if not records and batch.stored.empty(store.scope_key(scope)):
            batch.pending.add(Completion(scope, seen_at, 0))
            return ScopeChanges()
        async with batch.pending.taken() as waiting, self.database.system_session() as session:
            changes = await store.write_scope(
                session,
                batch.credential,
                scope,
                records,
                seen_at=seen_at,
                batch_size=self.options.batch_size,
                report=report,
                stored=batch.stored,
            )
            await batch.completed(session, [*waiting, Completion(scope, seen_at, changes.written)])
            # Last statement before the commit: the job row stays locked only briefly.
            await batch.progress(session, 1 + len(waiting), changes)
        return changes

    async def _stream_and_write(
        self,
        batch: _Batch,
        inventory: StreamingInventory,
        scope: Scope,
        written: _Written,
        report: IngestReport,
    ) -> ScopeChanges:
        """Write each chunk of a streamed listing in its own transaction; once the stream has
        ended, mark stale rows and count the scope done. A failure part-way removes nothing.

        Only the opening of the stream (up to its first chunk) is retried: a retry later would
        list the scope again and count rows already written."""
        seen_at = utcnow()

        async def first_chunk() -> tuple[
            AsyncIterator[list[ResourceRecord]], list[ResourceRecord] | None
        ]:
            stream = inventory.stream_scope(scope)
            return stream, await anext(stream, None)

        listing = Deadline(self.options.scope_timeout_seconds, "listing the scope")
        chunks, chunk = await listing.run(self._retrying(first_chunk))
        count = 0
        # Relations are small (three ids each) and kept until the stream completes: they are
        # replaced with the stale marking, never from a stream that failed part-way.
        relations: set[RelationKey] = set()
        while chunk is not None:
            async with (
                batch.pending.taken() as waiting,
                self.database.system_session() as session,
            ):
                changes = await store.write_chunk(
                    session, batch.credential, scope, chunk, seen_at=seen_at,
                    batch_size=self.options.batch_size, report=report, relations=relations,
                )  # fmt: skip
                await batch.completed(session, waiting)
                await batch.progress(session, len(waiting), changes)
            written.added += changes.added
            written.updated += changes.updated
            count += changes.written
            self.hub.publish(batch.job_id)
            chunk = await listing.run(anext(chunks, None))
        key = store.scope_key(scope)
        if not count and not relations and batch.stored.empty(key):
            batch.pending.add(Completion(scope, seen_at, 0))
            return ScopeChanges()
        async with batch.pending.taken() as waiting, self.database.system_session() as session:
            changes = await store.complete_scope(
                session, batch.credential, scope, seen_at=seen_at, relations=relations,
                batch_size=self.options.batch_size, stored=batch.stored,
                changes=ScopeChanges(added=written.added, updated=written.updated),
            )  # fmt: skip
            await batch.completed(session, [*waiting, Completion(scope, seen_at, count)])
            await batch.progress(session, 1 + len(waiting), ScopeChanges(removed=changes.removed))
        return changes

    async def _record_failure(self, batch: _Batch, scope: Scope, tally: _Tally) -> None:
        code = tally.errors[-1]["code"]
        async with batch.pending.taken() as waiting, self.database.system_session() as session:
            await batch.completed(session, waiting)
            await record_failure(
                session, batch.credential, scope, job_id=batch.job_id, error_code=code
            )
            await jobs.add_progress(
                session,
                batch.job_id,
                batch.worker_id,
                step=batch.step * (1 + len(waiting)),
                errors=list(tally.errors),
                warnings=list(tally.warnings),
            )

    async def _finish(
        self,
        credential: CloudCredentialRow,
        job_id: uuid.UUID,
        worker_id: str,
        status: SyncJobStatus,
        tally: _Tally,
    ) -> None:
        values = tally.values()
        values["progress"] = 1.0
        async with self.database.system_session() as session:
            await jobs.finish(session, job_id, worker_id, status, **values)
            # Same transaction: the health shown always agrees with the job that ended.
            await record_sync_health(
                session,
                credential.id,
                status,
                tally.errors,
                response_ms=tally.response_ms,
                at=utcnow(),
            )
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

    @staticmethod
    def _log_unexpected(error: BaseException, where: str) -> None:
        if isinstance(error, ProviderError):
            logger.warning("sync %s failed: %s %s", where, error.code, error.message)
        else:
            # Only the type: an SDK exception's text is not guaranteed to be free of secrets.
            logger.error("sync %s failed unexpectedly: %s", where, type(error).__name__)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
