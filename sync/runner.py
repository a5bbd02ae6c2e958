"""Claims queued jobs and runs them in this process, with a heartbeat per job.

Used by the server (one machine) and by `stratograph worker` (several machines share the queue
in the database; claims use SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

from db.engine import Database
from db.enums import SyncJobStatus
from db.types import utcnow
from sync import jobs
from sync.engine import SyncEngine
from sync.options import SyncOptions

logger = logging.getLogger("stratograph.sync")
SHUTDOWN_SECONDS = 10.0


def new_worker_id() -> str:
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SyncRunner:
    def __init__(
        self,
        database: Database,
        engine: SyncEngine,
        options: SyncOptions,
        worker_id: str | None = None,
    ) -> None:
        self.database = database
        self.engine = engine
        self.options = options
        self.worker_id = worker_id or new_worker_id()
        self._wake = asyncio.Event()
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None

    @property
    def is_running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def wake(self) -> None:
        """Look for queued jobs now (called after an enqueue in this process)."""
        self._wake.set()

    async def recover(self) -> jobs.Recovered:
        async with self.database.system_session() as session:
            recovered = await jobs.recover_stale(
                session,
                now=utcnow(),
                stale_after=self.options.stale_after,
                max_attempts=self.options.max_attempts,
            )
        for job_id in recovered.failed:
            self.engine.hub.publish(job_id)
        if recovered.requeued or recovered.failed:
            logger.warning(
                "recovered stale sync jobs: %d re-queued, %d failed",
                len(recovered.requeued),
                len(recovered.failed),
            )
        return recovered

    async def claim_and_start(self) -> list[uuid.UUID]:
        free = self.options.max_parallel_jobs - len(self._running)
        if free <= 0:
            return []
        async with self.database.system_session() as session:
            claimed = await jobs.claim(session, self.worker_id, free)
        for job_id in claimed:
            self.engine.hub.publish(job_id)
            task = asyncio.create_task(self._run(job_id), name=f"sync-job-{job_id}")
            self._running[job_id] = task
        return claimed

    async def drain(self) -> None:
        """Run every queued job to its end (tests and one-shot commands)."""
        while await self.claim_and_start() or self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _run(self, job_id: uuid.UUID) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(job_id))
        try:
            await self.engine.run(job_id, self.worker_id)
        except jobs.JobLost:
            logger.warning("sync job %s was taken over by another worker; stopped", job_id)
        except asyncio.CancelledError:
            await self._release(job_id)
            raise
        except Exception as error:
            logger.error("sync job %s crashed: %s", job_id, type(error).__name__)
            await self._fail(job_id)
        finally:
            heartbeat.cancel()
            self._running.pop(job_id, None)
            self._wake.set()  # a slot is free

    async def _heartbeat(self, job_id: uuid.UUID) -> None:
        while True:
            await asyncio.sleep(self.options.heartbeat_seconds)
            try:
                async with self.database.system_session() as session:
                    await jobs.save_progress(session, job_id, self.worker_id)
            except jobs.JobLost:
                task = self._running.get(job_id)
                if task is not None:
                    task.cancel()
                return
            except Exception as error:  # a DB hiccup: the next beat tries again
                logger.warning("heartbeat of sync job %s failed: %s", job_id, type(error).__name__)

    async def _release(self, job_id: uuid.UUID) -> None:
        async def release() -> None:
            async with self.database.system_session() as session:
                await jobs.release(session, job_id, self.worker_id)

        with contextlib.suppress(Exception):
            await asyncio.wait_for(release(), SHUTDOWN_SECONDS / 2)
            self.engine.hub.publish(job_id)

    async def _fail(self, job_id: uuid.UUID) -> None:
        with contextlib.suppress(jobs.JobLost):
            async with self.database.system_session() as session:
                await jobs.finish(
                    session,
                    job_id,
                    self.worker_id,
                    SyncJobStatus.FAILED,
                    errors=[{"scope": "*", "code": "INTERNAL", "message": "The sync job crashed."}],
                )
            self.engine.hub.publish(job_id)

    async def run_forever(self) -> None:
        await self.recover()
        last_recovery = utcnow()
        while True:
            self._wake.clear()
            try:
                await self.claim_and_start()
                if utcnow() - last_recovery > self.options.stale_after / 2:
                    await self.recover()
                    last_recovery = utcnow()
            except Exception as error:  # the database may be briefly away; keep the loop alive
                logger.warning("sync runner loop error: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.options.poll_seconds)

    def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self.run_forever(), name="sync-runner")

    async def stop(self) -> None:
        """Stop claiming, and hand running jobs back to the queue for the next process."""
        tasks = [t for t in (self._loop_task, *self._running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded: shutdown must not hang on a job stuck in a cloud call or a lock; a job
            # not handed back is recovered by its stale heartbeat.
            _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
            if pending:
                logger.warning("%d sync tasks did not stop in time", len(pending))
        self._loop_task = None
