"""An organization-wide job's parts spread over workers: shared, recovered after a worker dies,
finished exactly once; and PostgreSQL wakes idle workers with NOTIFY instead of polling."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, update

from db.engine import Database
from db.enums import SyncJobStatus, SyncTrigger
from db.models import SyncJobPartRow, WebhookDeliveryRow, WebhookRow
from db.types import utcnow
from graph.runtime import Runtime
from providers.base import Scope
from sync import jobs, parts
from sync.progress import ProgressHub
from sync.wakeups import WorkListener
from tests.factories import create_user
from tests.org_support import CountedOrganization, account_scopes, member
from tests.sync_support import (
    ScriptedInventory,
    create_credential,
    job,
    make_service,
    record,
    resources,
)

WAIT = 30.0  # generous: every wait below ends on an event long before this


def finished_jobs(status: SyncJobStatus) -> float:
    value = REGISTRY.get_sample_value("stratograph_sync_jobs_total", {"status": status.value})
    return value or 0.0


async def job_parts(database: Database, job_id: uuid.UUID) -> list[SyncJobPartRow]:
    async with database.system_session() as session:
        rows = await session.scalars(select(SyncJobPartRow).where(SyncJobPartRow.job_id == job_id))
        return list(rows)


async def until_split(hub: ProgressHub, database: Database, job_id: uuid.UUID) -> None:
    """Wait (on the job's change events) until the job has been split into parts."""

    async def split() -> None:
        with hub.listen(job_id) as changed:
            while True:
                changed.clear()
                if await job_parts(database, job_id):
                    return
                await changed.wait()

    await asyncio.wait_for(split(), WAIT)


async def test_two_workers_share_one_organizations_parts(runtime: Runtime) -> None:
    # given an organization of four accounts whose owner has a SYNC_FINISHED webhook, and two
    # workers that each run one thing at a time
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    async with runtime.database.system_session() as session:
        session.add(
            WebhookRow(
                id=uuid.uuid4(), user_id=user.id, url="https://hooks.example.com/sync",
                events=["SYNC_FINISHED"], enabled=True, key_id="k1",
                secret_ciphertext=b"not-used-here", consecutive_failures=0,
            )
        )  # fmt: skip
    organization = CountedOrganization(4)
    release = asyncio.Event()
    organization.gates = dict.fromkeys(organization.listings, release)
    inventories: dict[uuid.UUID, ScriptedInventory] = {credential.id: organization}
    one = make_service(runtime.database, inventories, max_parallel_jobs=1)
    two = make_service(runtime.database, inventories, max_parallel_jobs=1)
    finished_before = finished_jobs(SyncJobStatus.SUCCEEDED)

    # when the first worker claims the job, which splits into a part per account
    (started,) = await one.start([credential.id])
    await one.runner.claim_and_start()
    await until_split(one.hub, runtime.database, started.id)
    # and both workers drain the queue at once
    draining = asyncio.gather(one.runner.drain(), two.runner.drain())
    await organization.until_in_flight(4, WAIT)  # two parts of two scopes each
    in_flight_accounts = +organization.accounts_in_flight
    release.set()
    await asyncio.wait_for(draining, WAIT)

    # then each worker was listing a different account at the same time
    assert len(in_flight_accounts) == 2
    # and every part ran once, on one of the two workers, and both workers took parts
    rows = await job_parts(runtime.database, started.id)
    assert sorted(r.account_id for r in rows) == [member(n) for n in range(4)]
    assert all(r.status == SyncJobStatus.SUCCEEDED and r.attempts == 1 for r in rows)
    assert {r.worker_id for r in rows} == {one.runner.worker_id, two.runner.worker_id}
    assert dict(organization.planned) == {member(n): 1 for n in range(4)}
    assert set(organization.calls.values()) == {1}
    # and the one job has the whole organization's progress and counts, finished once
    done = await job(runtime.database, started.id)
    assert done.status == SyncJobStatus.SUCCEEDED
    assert done.progress == pytest.approx(1.0)
    assert (done.added, done.updated, done.removed) == (16, 0, 0)
    assert done.finished_at is not None and done.errors == []
    assert finished_jobs(SyncJobStatus.SUCCEEDED) - finished_before == 1
    async with runtime.database.system_session() as session:
        deliveries = (await session.scalars(select(WebhookDeliveryRow))).all()
    assert [d.payload["data"]["syncJob"]["status"] for d in deliveries] == ["SUCCEEDED"]
    assert len(await resources(runtime.database, credential.id)) == 16


async def test_a_part_whose_worker_died_is_finished_by_another(runtime: Runtime) -> None:
    # given an organization of two accounts whose VPC listings hang
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    organization = CountedOrganization(2)
    hang = asyncio.Event()
    for n in range(2):
        organization.gates[account_scopes(member(n))[1]] = hang
    inventories: dict[uuid.UUID, ScriptedInventory] = {credential.id: organization}
    doomed = make_service(runtime.database, inventories)
    survivor = make_service(runtime.database, inventories)
    (started,) = await doomed.start([credential.id])
    await doomed.runner.claim_and_start()
    await until_split(doomed.hub, runtime.database, started.id)

    # when a worker takes one part, writes its first scope, and dies in the middle of it
    async with runtime.database.system_session() as session:
        (lease,) = await parts.claim(session, doomed.runner.worker_id, 1)
    with doomed.hub.listen(started.id) as changed:
        dying = asyncio.create_task(doomed.engine.run_part(lease))

        async def first_scope_written() -> None:
            while (await job(runtime.database, started.id)).added < 2:
                changed.clear()
                await changed.wait()

        await asyncio.wait_for(first_scope_written(), WAIT)
    dying.cancel()  # the process is gone: no release, no more heartbeats
    with pytest.raises(asyncio.CancelledError):
        await dying
    async with runtime.database.system_session() as session:
        await session.execute(
            update(SyncJobPartRow)
            .where(SyncJobPartRow.id == lease.part_id)
            .values(heartbeat_at=utcnow() - timedelta(hours=1))
        )
    hang.set()
    # and another worker recovers stale work and drains the queue
    await survivor.runner.recover()
    await asyncio.wait_for(survivor.runner.drain(), WAIT)

    # then the dead worker's part ran again there, and the job finished right
    rows = {r.id: r for r in await job_parts(runtime.database, started.id)}
    assert rows[lease.part_id].attempts == 2
    assert rows[lease.part_id].worker_id == survivor.runner.worker_id
    assert all(r.status == SyncJobStatus.SUCCEEDED for r in rows.values())
    done = await job(runtime.database, started.id)
    assert done.status == SyncJobStatus.SUCCEEDED
    assert done.progress == pytest.approx(1.0)
    # the first attempt's rows were taken back from the job, then counted as updated: nothing
    # is counted twice
    assert (done.added, done.updated, done.removed) == (6, 2, 0)
    stored = await resources(runtime.database, credential.id)
    assert len(stored) == 8 and all(row.deleted_at is None for row in stored.values())


async def test_notify_wakes_an_idle_listener(runtime: Runtime, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite polls")
    # given a listener on the work channel, connected
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    woken = asyncio.Event()
    listener = WorkListener(runtime.database, woken.set)
    listener.start()
    try:
        await asyncio.wait_for(listener.listening.wait(), WAIT)
        woken.clear()  # the catch-up look it takes on connecting
        # when another process queues a job (its own transaction, nothing in this process)
        async with runtime.database.system_session() as session:
            outcome = await jobs.enqueue(session, credential.id, SyncTrigger.MANUAL)
        assert outcome is not None and outcome[1]
        # then the listener is woken by the commit's NOTIFY
        await asyncio.wait_for(woken.wait(), WAIT)
    finally:
        await listener.stop()


async def test_notify_wakes_an_idle_runner_that_would_poll_in_an_hour(
    runtime: Runtime, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite polls")
    # given a running worker whose polls are an hour apart (far longer than this test waits)
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    ec2 = Scope("us-east-1", "AWS::EC2::Instance")
    inventory = ScriptedInventory({ec2: [record("i-0", ec2)]})
    hour = 3600.0
    service = make_service(
        runtime.database,
        {credential.id: inventory},
        poll_seconds=hour,
        notified_poll_seconds=hour,
        stale_after=timedelta(hours=4),
    )
    assert service.runner.poll_seconds() > WAIT
    service.runner.start()
    try:
        await asyncio.wait_for(service.runner.listener.listening.wait(), WAIT)
        assert service.runner.poll_seconds() == hour
        # when another process queues a job
        async with runtime.database.system_session() as session:
            outcome = await jobs.enqueue(session, credential.id, SyncTrigger.MANUAL)
        assert outcome is not None
        # then the worker lists it well before its next poll
        await asyncio.wait_for(inventory.started[ec2].wait(), WAIT)
    finally:
        await service.stop()


async def test_a_stopping_worker_hands_its_parts_back(runtime: Runtime) -> None:
    # given a worker in the middle of an organization's parts (every listing held)
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    organization = CountedOrganization(2)
    organization.gates = dict.fromkeys(organization.listings, asyncio.Event())
    inventories: dict[uuid.UUID, ScriptedInventory] = {credential.id: organization}
    service = make_service(runtime.database, inventories)
    (started,) = await service.start([credential.id])
    await service.runner.claim_and_start()
    await until_split(service.hub, runtime.database, started.id)
    await service.runner.claim_and_start()
    await organization.until_in_flight(4, WAIT)

    # when it stops (SIGTERM)
    await service.stop()

    # then its parts are queued again for the next worker, and the job still runs
    rows = await job_parts(runtime.database, started.id)
    assert [(r.status, r.worker_id) for r in rows] == [(SyncJobStatus.QUEUED, None)] * 2
    assert (await job(runtime.database, started.id)).status == SyncJobStatus.RUNNING
