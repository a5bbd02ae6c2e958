"""Claims queued jobs and parts of organization-wide jobs and runs them in this process, with a
heartbeat per lease.

Used by the server (one machine) and by `stratograph worker` (several machines share the queue
in the database; claims use SKIP LOCKED on PostgreSQL). On PostgreSQL the runner sleeps until a
NOTIFY says work was queued (`sync/wakeups.py`); polling remains, slower, as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from core.waits import wait_set
from db.engine import Database
from db.enums import SyncJobStatus
from db.types import utcnow
from sync import jobs, part_recovery, parts
from sync.engine import SyncEngine
from sync.options import SyncOptions
from sync.wakeups import WorkListener

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
        # Jobs and parts, by their id: both take one of `max_parallel_jobs` slots.
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self.listener = WorkListener(database, self.wake)

    @property
    def is_running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def wake(self) -> None:
        """Look for queued work now (an enqueue in this process, or a NOTIFY)."""
        self._wake.set()

    async def recover(self) -> jobs.Recovered:
        now = utcnow()
        async with self.database.system_session() as session:
            recovered = await jobs.recover_stale(
                session,
                now=now,
                stale_after=self.options.stale_after,
                max_attempts=self.options.max_attempts,
            )
        async with self.database.system_session() as session:
            stale_parts = await part_recovery.recover_stale(
                session,
                now=now,
                stale_after=self.options.stale_after,
                max_attempts=self.options.max_attempts,
            )
        for lease in stale_parts.failed:
            with contextlib.suppress(jobs.JobLost):
                await self.engine.organization.close_lost_part(lease)
        for job_id in recovered.failed:
            self.engine.hub.publish(job_id)
        if recovered.requeued or recovered.failed or stale_parts.requeued or stale_parts.failed:
            logger.warning(
                "recovered stale sync work: %d jobs re-queued, %d failed; "
                "%d account parts re-queued, %d failed",
                len(recovered.requeued),
                len(recovered.failed),
                len(stale_parts.requeued),
                len(stale_parts.failed),
            )
        return recovered

    async def claim_and_start(self) -> list[uuid.UUID]:
        """Claim queued jobs, then parts, up to the free slots; returns what was claimed."""
        free = self.options.max_parallel_jobs - len(self._running)
        if free <= 0:
            return []
        async with self.database.system_session() as session:
            claimed = await jobs.claim(session, self.worker_id, free)
        for job_id in claimed:
            self.engine.hub.publish(job_id)
            self._start(job_id, self._run(job_id), f"sync-job-{job_id}")
        free -= len(claimed)
        if free <= 0:
            return claimed
        async with self.database.system_session() as session:
            leases = await parts.claim(session, self.worker_id, free)
        for lease in leases:
            self._start(lease.part_id, self._run_part(lease), f"sync-part-{lease.part_id}")
        return [*claimed, *(lease.part_id for lease in leases)]

    def _start(self, key: uuid.UUID, work: Awaitable[None], name: str) -> None:
        async def run() -> None:
            await work

        self._running[key] = asyncio.create_task(run(), name=name)

    async def drain(self) -> None:
        """Run every queued job and part to its end (tests and one-shot commands)."""
        while await self.claim_and_start() or self._running:
            await asyncio.wait(list(self._running.values()), return_when=asyncio.FIRST_COMPLETED)

    async def _run(self, job_id: uuid.UUID) -> None:
        async def beat() -> None:
            async with self.database.system_session() as session:
                await jobs.save_progress(session, job_id, self.worker_id)

        heartbeat = asyncio.create_task(self._heartbeat(job_id, beat))
        try:
            await self.engine.run(job_id, self.worker_id)
        except jobs.JobLost:
            logger.warning("sync job %s was taken over by another worker; stopped", job_id)
        except asyncio.CancelledError:
            await self._hand_back(lambda session: jobs.release(session, job_id, self.worker_id))
            self.engine.hub.publish(job_id)
            raise
        except Exception as error:
            logger.error("sync job %s crashed: %s", job_id, type(error).__name__)
            await self._fail(job_id)
        finally:
            heartbeat.cancel()
            self._running.pop(job_id, None)
            self._wake.set()  # a slot is free

    async def _run_part(self, lease: parts.PartLease) -> None:
        async def beat() -> None:
            async with self.database.system_session() as session:
                await parts.beat(session, lease)

        heartbeat = asyncio.create_task(self._heartbeat(lease.part_id, beat))
        try:
            await self.engine.run_part(lease)
        except jobs.JobLost:
            logger.warning("sync part %s was taken over by another worker; stopped", lease.part_id)
        except asyncio.CancelledError:
            await self._hand_back(lambda session: parts.release(session, lease))
            raise
        except Exception as error:
            # Left to its lease: another worker re-runs it once the heartbeat is stale.
            logger.error("sync part %s crashed: %s", lease.part_id, type(error).__name__)
        finally:
            heartbeat.cancel()
            self._running.pop(lease.part_id, None)
            self._wake.set()

    async def _heartbeat(self, key: uuid.UUID, beat: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(self.options.heartbeat_seconds)
            try:
                await beat()
            except jobs.JobLost:
                task = self._running.get(key)
                if task is not None:
                    task.cancel()
                return
            except Exception as error:  # a DB hiccup: the next beat tries again
                logger.warning("heartbeat of sync work %s failed: %s", key, type(error).__name__)

    async def _hand_back(self, release: Callable[..., Awaitable[None]]) -> None:
        async def released() -> None:
            async with self.database.system_session() as session:
                await release(session)

        with contextlib.suppress(Exception):
            await asyncio.wait_for(released(), SHUTDOWN_SECONDS / 2)

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

    def poll_seconds(self) -> float:
        """How long to wait for a wake-up before looking anyway: long while NOTIFY works."""
        if self.listener.listening.is_set():
            return self.options.notified_poll_seconds
        return self.options.poll_seconds

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
            # Recovery must still run on time even when nothing wakes the runner.
            wait = min(self.poll_seconds(), self.options.stale_after.total_seconds() / 2)
            await wait_set(self._wake, wait)

    def start(self) -> None:
        if self._loop_task is None:
            self.listener.start()
            self._loop_task = asyncio.create_task(self.run_forever(), name="sync-runner")

    async def stop(self) -> None:
        """Stop claiming, and hand running work back to the queue for the next process."""
        await self.listener.stop()
        tasks = [t for t in (self._loop_task, *self._running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded: shutdown must not hang on a job stuck in a cloud call or a lock; work
            # not handed back is recovered by its stale heartbeat.
            _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_SECONDS)
            if pending:
                logger.warning("%d sync tasks did not stop in time", len(pending))
        self._loop_task = None
