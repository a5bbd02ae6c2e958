"""`stratograph worker`: jobs run outside the server, several workers share one queue."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import select

from core.settings import Settings
from db.enums import SyncJobStatus, SyncTrigger
from db.models import SyncJobRow
from graph.app import create_app
from graph.runtime import Runtime
from providers.base import Scope
from sync import jobs
from sync.worker import run_worker
from tests.conftest import make_settings
from tests.factories import create_user
from tests.live_server import live_server
from tests.sync_support import ScriptedInventory, create_credential, job, make_service, record

EC2 = Scope("us-east-1", "AWS::EC2::Instance")


async def test_the_worker_runs_queued_jobs_until_stopped(
    runtime: Runtime, settings: Settings
) -> None:
    # given a job queued by the server (which does not run jobs itself)
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    (queued,) = await runtime.sync.start([credential.id])
    inventory = ScriptedInventory({EC2: [record("i-0", EC2), record("i-1", EC2)]})

    # when a worker process runs
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop=stop, factory=lambda row: inventory))
    deadline = asyncio.get_running_loop().time() + 10
    while (await job(runtime.database, queued.id)).status != SyncJobStatus.SUCCEEDED:
        assert asyncio.get_running_loop().time() < deadline, "the worker never ran the job"
        assert not worker.done(), worker
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(worker, 10)

    # then the job ran there, and the worker stopped cleanly
    done = await job(runtime.database, queued.id)
    assert done.added == 2
    assert done.worker_id is not None and done.worker_id != runtime.sync.runner.worker_id


async def test_the_worker_once_drains_the_queue(runtime: Runtime, settings: Settings) -> None:
    # given two queued jobs
    user = await create_user(runtime)
    credentials = [await create_credential(runtime.database, user) for _ in range(2)]
    queued = await runtime.sync.start([c.id for c in credentials])
    inventory = ScriptedInventory({EC2: [record("i-0", EC2)]})

    # when `stratograph worker --once` runs
    await run_worker(settings, once=True, factory=lambda row: inventory)

    # then both jobs are done
    assert [(await job(runtime.database, j.id)).status for j in queued] == [
        SyncJobStatus.SUCCEEDED,
        SyncJobStatus.SUCCEEDED,
    ]


async def test_concurrent_workers_never_claim_the_same_job(runtime: Runtime) -> None:
    # given six queued jobs and two workers' runners
    user = await create_user(runtime)
    credentials = [await create_credential(runtime.database, user) for _ in range(6)]
    for credential in credentials:
        async with runtime.database.system_session() as session:
            await jobs.enqueue(session, credential.id, SyncTrigger.MANUAL)

    # when both claim at the same time
    async def claim(worker_id: str) -> list[object]:
        async with runtime.database.system_session() as session:
            return list(await jobs.claim(session, worker_id, 6))

    first, second = await asyncio.gather(claim("worker-a"), claim("worker-b"))

    # then every job was claimed exactly once
    assert len(first) + len(second) == 6
    assert set(first).isdisjoint(second)


async def test_a_second_runner_only_takes_free_jobs(runtime: Runtime) -> None:
    # given a runner already running one credential's job
    user = await create_user(runtime)
    busy, free = [await create_credential(runtime.database, user) for _ in range(2)]
    held = ScriptedInventory({EC2: [record("i-0", EC2)]})
    held.gates[EC2] = asyncio.Event()
    other = ScriptedInventory({EC2: [record("i-1", EC2)]})
    inventories = {busy.id: held, free.id: other}
    one = make_service(runtime.database, inventories)
    two = make_service(runtime.database, inventories)
    (busy_job,) = await one.start([busy.id])
    await one.runner.claim_and_start()
    await asyncio.wait_for(held.started[EC2].wait(), 10)

    # when another job is queued and the second runner drains the queue
    (free_job,) = await two.start([free.id])
    await two.runner.drain()

    # then it ran only the free job; the busy one is still the first runner's
    assert (await job(runtime.database, free_job.id)).status == SyncJobStatus.SUCCEEDED
    running = await job(runtime.database, busy_job.id)
    assert running.status == SyncJobStatus.RUNNING
    assert running.worker_id == one.runner.worker_id
    held.gates[EC2].set()
    await one.runner.drain()
    assert (await job(runtime.database, busy_job.id)).status == SyncJobStatus.SUCCEEDED


async def test_the_server_lifespan_schedules_and_runs_syncs(
    database_url: str, tmp_path: Path
) -> None:
    # given a credential, and a server with the default schedule that runs jobs in-process
    app = create_app(make_settings(database_url, tmp_path))
    runtime: Runtime = app.state.runtime
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = ScriptedInventory({EC2: [record("i-0", EC2)]})
    runtime.sync.engine.factory = lambda row: inventory

    # when the server starts
    async with live_server(app):
        assert runtime.sync.runner.is_running
        deadline = asyncio.get_running_loop().time() + 10
        while not (done := await _finished_jobs(runtime, credential.id)):
            assert asyncio.get_running_loop().time() < deadline, "no scheduled sync ran"
            await asyncio.sleep(0.05)

    # then the credential got a SCHEDULED sync, run by the server itself, and the runner stopped
    (scheduled,) = done
    assert scheduled.trigger == SyncTrigger.SCHEDULED
    assert scheduled.worker_id == runtime.sync.runner.worker_id
    assert not runtime.sync.runner.is_running
    await runtime.close()


async def test_a_server_without_in_process_sync_only_queues(
    database_url: str, tmp_path: Path
) -> None:
    # given a server told that workers run the jobs
    app = create_app(make_settings(database_url, tmp_path, sync_in_process=False))
    runtime: Runtime = app.state.runtime

    # when it runs
    async with live_server(app):
        # then its scheduler runs but it claims no job
        assert runtime.sync.scheduler is not None and not runtime.sync.runner.is_running
    await runtime.close()


async def _finished_jobs(runtime: Runtime, credential_id: uuid.UUID) -> list[SyncJobRow]:
    async with runtime.database.system_session() as session:
        rows = await session.scalars(
            select(SyncJobRow).where(
                SyncJobRow.credential_id == credential_id,
                SyncJobRow.status == SyncJobStatus.SUCCEEDED,
            )
        )
        return list(rows)
