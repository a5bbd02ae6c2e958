"""Listing a plan's scopes under bounded concurrency with retries, and writing each completed
scope with its share of progress. Used for a whole job (a credential of one account) and for one
part of an organization-wide job (one account): only where progress goes differs.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import metrics, telemetry
from db.engine import Database
from db.models import CloudCredentialRow
from db.types import utcnow
from providers.base import CloudInventory, ResourceRecord, Scope, StreamingInventory
from sync import accounts, jobs, store
from sync.deadline import Deadline
from sync.history import ChangeLog
from sync.job_progress import Progress
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
from sync.tally import Tally, Written, log_failure, safe_error


class ScopeRunner:
    def __init__(
        self,
        database: Database,
        hub: ProgressHub,
        options: SyncOptions,
        *,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.database = database
        self.hub = hub
        self.options = options
        self.sleep = sleep
        self.rand = rand

    async def retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        return await with_retries(
            call,
            retries=self.options.max_retries,
            base=self.options.backoff_base_seconds,
            cap=self.options.backoff_cap_seconds,
            sleep=self.sleep,
            rand=self.rand,
            on_retry=lambda error: metrics.SYNC_RETRIES.labels(error.code).inc(),
        )

    async def run(
        self,
        credential: CloudCredentialRow,
        inventory: CloudInventory,
        scopes: list[Scope],
        progress: Progress,
        tally: Tally,
        share: float = 1.0,
        *,
        keep_waiting: bool = False,
    ) -> ScopeBatch:
        """List and write every scope; `share` of the job's progress is spread over them.
        Raises JobLost when this worker no longer owns the work. With `keep_waiting`, the
        completions still waiting at the end are left for the caller's next transaction
        (`ScopeBatch.record_waiting`); otherwise they are recorded here."""
        lock = asyncio.Lock()
        credential_slots = asyncio.Semaphore(self.options.concurrency)
        region_slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.options.region_concurrency)
        )
        step = share / len(scopes) if scopes else share
        job_id = progress.job_id
        async with self.database.system_session() as session:
            stored = await stored_scopes(session, credential.id)
        # Completions of scopes that changed nothing wait for the run's next transaction.
        pending = PendingCompletions()
        batch = ScopeBatch(credential, progress, step, stored, pending)

        async def listed_and_written(
            scope: Scope, written: Written, report: IngestReport
        ) -> ScopeChanges:
            # Region slot first, so a scope waiting for its busy region holds no credential
            # slot. The credential slot is held through the write: at most `concurrency`
            # listings are in memory however slow the database is.
            if isinstance(inventory, StreamingInventory):
                # Chunks are written as they arrive, so memory stays at `concurrency` chunks
                # however large a scope grows.
                async with region_slots[scope.region], credential_slots:
                    return await self._stream_and_write(
                        batch, inventory, scope, written, report, tally
                    )
            async with region_slots[scope.region]:
                await credential_slots.acquire()
                try:
                    listing = Deadline(self.options.scope_timeout_seconds, "listing the scope")
                    records = await listing.run(self.retrying(lambda: inventory.list_scope(scope)))
                except BaseException:
                    credential_slots.release()
                    raise
            try:
                return await self._write(batch, scope, records, report, tally)
            finally:
                credential_slots.release()

        async def one(scope: Scope) -> None:
            key = store.scope_key(scope)
            written = Written()
            report = IngestReport()
            try:
                counts = await listed_and_written(scope, written, report)
            except jobs.JobLost:
                raise
            except Exception as error:
                log_failure(error, key)
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
        if not keep_waiting:
            await self._record_waiting(batch)
        return batch

    async def _record_waiting(self, batch: ScopeBatch) -> None:
        """The completions still waiting when every scope has ended, in one transaction."""
        async with batch.pending.taken() as waiting:
            if not waiting:
                return
            async with self.database.system_session() as session:
                await batch.record_waiting(session, waiting)

    async def _write(
        self,
        batch: ScopeBatch,
        scope: Scope,
        records: list[ResourceRecord],
        report: IngestReport,
        tally: Tally,
    ) -> ScopeChanges:
        """The scope's rows and the job's progress in one transaction (one commit per scope;
        the job's counts always match what is committed). Increments commute, so concurrent
        scopes committing in any order leave the right totals. An empty listing of a scope with
        nothing stored changes nothing: its completion waits for the run's next transaction."""
        seen_at = utcnow()
        if not records and batch.stored.empty(store.scope_key(scope)):
            batch.pending.add(Completion(scope, seen_at, 0))
            return ScopeChanges()
        credential = batch.credential
        async with batch.pending.taken() as waiting, self.database.system_session() as session:
            changes = await store.write_scope(
                session, credential, scope, records, seen_at=seen_at, job_id=batch.progress.job_id,
                batch_size=self.options.batch_size, report=report, stored=batch.stored,
            )  # fmt: skip
            await self._listed_accounts(session, credential, scope, records, seen_at, tally)
            await batch.completed(session, [*waiting, Completion(scope, seen_at, changes.written)])
            # Last statement before the commit: the job row stays locked only briefly.
            await batch.progress.add(
                session, step=batch.step * (1 + len(waiting)), added=changes.added,
                updated=changes.updated, removed=changes.removed, succeeded=1 + len(waiting),
            )  # fmt: skip
        return changes

    @staticmethod
    async def _listed_accounts(
        session: AsyncSession,
        credential: CloudCredentialRow,
        scope: Scope,
        records: list[ResourceRecord],
        seen_at: Any,
        tally: Tally,
    ) -> None:
        """A credential of one account learns its account(s) from what it lists, in the
        scope's transaction (an organization's accounts come from discovery instead)."""
        if scope.account:
            return
        found = {record.account for record in records if record.account} - tally.accounts
        if found:
            await accounts.record_listed(session, credential, found, seen_at)
            tally.accounts |= found

    async def _stream_and_write(
        self,
        batch: ScopeBatch,
        inventory: StreamingInventory,
        scope: Scope,
        written: Written,
        report: IngestReport,
        tally: Tally,
    ) -> ScopeChanges:
        """Write each chunk of a streamed listing in its own transaction; once the stream has
        ended, mark stale rows and count the scope done. A failure part-way removes nothing.

        Only the opening of the stream (up to its first chunk) is retried: a retry later would
        list the scope again and count rows already written."""
        seen_at = utcnow()
        credential = batch.credential

        async def first_chunk() -> tuple[
            AsyncIterator[list[ResourceRecord]], list[ResourceRecord] | None
        ]:
            stream = inventory.stream_scope(scope)
            return stream, await anext(stream, None)

        listing = Deadline(self.options.scope_timeout_seconds, "listing the scope")
        chunks, chunk = await listing.run(self.retrying(first_chunk))
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
                    session, credential, scope, chunk, seen_at=seen_at,
                    job_id=batch.progress.job_id, batch_size=self.options.batch_size,
                    report=report, relations=relations,
                )  # fmt: skip
                await self._listed_accounts(session, credential, scope, chunk, seen_at, tally)
                await batch.completed(session, waiting)
                await batch.progress.add(
                    session, step=batch.step * len(waiting), added=changes.added,
                    updated=changes.updated, succeeded=len(waiting),
                )  # fmt: skip
            written.added += changes.added
            written.updated += changes.updated
            count += changes.written
            self.hub.publish(batch.progress.job_id)
            chunk = await listing.run(anext(chunks, None))
        if not count and not relations and batch.stored.empty(store.scope_key(scope)):
            batch.pending.add(Completion(scope, seen_at, 0))
            return ScopeChanges()
        async with batch.pending.taken() as waiting, self.database.system_session() as session:
            changes = await store.complete_scope(
                session, credential, scope, seen_at=seen_at, relations=relations,
                batch_size=self.options.batch_size, stored=batch.stored,
                changes=ScopeChanges(
                    added=written.added, updated=written.updated,
                    history=ChangeLog(batch.progress.job_id, seen_at),
                ),
            )  # fmt: skip
            await batch.completed(session, [*waiting, Completion(scope, seen_at, count)])
            await batch.progress.add(
                session, step=batch.step * (1 + len(waiting)), removed=changes.removed,
                succeeded=1 + len(waiting),
            )  # fmt: skip
        return changes

    async def _record_failure(self, batch: ScopeBatch, scope: Scope, tally: Tally) -> None:
        code = tally.errors[-1]["code"]
        async with batch.pending.taken() as waiting, self.database.system_session() as session:
            await batch.completed(session, waiting)
            await record_failure(
                session, batch.credential, scope, job_id=batch.progress.job_id, error_code=code
            )
            await batch.progress.add(
                session, step=batch.step * (1 + len(waiting)), succeeded=len(waiting),
                errors=list(tally.errors), warnings=list(tally.warnings),
            )  # fmt: skip


@dataclass(frozen=True)
class ScopeBatch:
    """One run's writing context: whose rows, where progress goes, each scope's share of it,
    what was stored when the run started, and the completions waiting to be recorded."""

    credential: CloudCredentialRow
    progress: Progress
    step: float
    stored: Stored
    pending: PendingCompletions

    async def completed(self, session: AsyncSession, completions: list[Completion]) -> None:
        await record_completions(session, self.credential, completions, job_id=self.progress.job_id)

    async def record_waiting(
        self, session: AsyncSession, waiting: list[Completion], *, removed: int = 0
    ) -> None:
        """Record `waiting` (taken from `pending`) and their share of progress, with `removed`
        rows, in the caller's transaction."""
        await self.completed(session, waiting)
        if waiting or removed:
            await self.progress.add(
                session, step=self.step * len(waiting), removed=removed, succeeded=len(waiting)
            )
