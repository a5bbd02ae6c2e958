"""The job queue: one active job per credential, crash recovery, scheduling, secret hygiene."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from db.enums import Provider, SyncJobStatus, SyncTrigger
from db.models import CloudCredentialRow, SyncJobRow
from db.types import utcnow
from graph.runtime import Runtime
from providers.base import Scope
from providers.secrets import AwsSecret
from providers.vault_access import open_secret, seal_into
from sync import SyncOptions, SyncService, jobs
from sync.scheduler import SyncScheduler
from tests.factories import create_user
from tests.sync_support import (
    ScriptedInventory,
    create_credential,
    job,
    make_service,
    record,
    sync_once,
)

EC2 = Scope("us-east-1", "AWS::EC2::Instance")


def inventory() -> ScriptedInventory:
    return ScriptedInventory({EC2: [record("i-0", EC2)]})


async def test_starting_twice_returns_the_active_job(runtime: Runtime) -> None:
    # given two credentials
    user = await create_user(runtime)
    first = await create_credential(runtime.database, user)
    second = await create_credential(runtime.database, user)
    service = make_service(runtime.database, {first.id: inventory(), second.id: inventory()})

    # when syncs are started concurrently, several times per credential
    batches = await asyncio.gather(*(service.start([first.id, second.id]) for _ in range(4)))

    # then each credential has exactly one queued job, returned to every caller
    first_ids = {jobs_[0].id for jobs_ in batches}
    second_ids = {jobs_[1].id for jobs_ in batches}
    assert len(first_ids) == 1 and len(second_ids) == 1
    assert first_ids != second_ids
    (queued,) = first_ids
    assert (await job(runtime.database, queued)).status == SyncJobStatus.QUEUED

    # and once that job ended, a new start makes a new job
    await service.runner.drain()
    (again,) = await service.start([first.id])
    assert again.id != queued
    assert again.status == SyncJobStatus.QUEUED


async def test_a_running_job_is_returned_while_it_runs(runtime: Runtime) -> None:
    # given a sync held open inside its listing
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    held = inventory()
    held.gates[EC2] = asyncio.Event()
    service = make_service(runtime.database, {credential.id: held})
    (started,) = await service.start([credential.id])
    await service.runner.claim_and_start()
    await asyncio.wait_for(held.started[EC2].wait(), 10)

    # when another sync of the credential is asked for
    (second,) = await service.start([credential.id])

    # then it is the running job
    assert second.id == started.id
    assert second.status == SyncJobStatus.RUNNING
    held.gates[EC2].set()
    await service.runner.drain()
    assert (await job(runtime.database, started.id)).status == SyncJobStatus.SUCCEEDED


async def _orphan(runtime: Runtime, credential: CloudCredentialRow, attempts: int) -> uuid.UUID:
    """A job claimed by a worker that then died (its heartbeat stopped long ago)."""
    async with runtime.database.system_session() as session:
        outcome = await jobs.enqueue(session, credential.id, SyncTrigger.MANUAL)
    assert outcome is not None
    async with runtime.database.system_session() as session:
        assert await jobs.claim(session, "dead-worker", 5) == [outcome[0].id]
        await session.execute(
            update(SyncJobRow)
            .where(SyncJobRow.id == outcome[0].id)
            .values(heartbeat_at=utcnow() - timedelta(hours=1), attempts=attempts)
        )
    return outcome[0].id


async def test_a_crashed_job_is_requeued_and_run_again(runtime: Runtime) -> None:
    # given a job left RUNNING by a worker that crashed
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    service = make_service(runtime.database, {credential.id: inventory()}, max_attempts=3)
    orphan = await _orphan(runtime, credential, attempts=1)

    # when a runner starts (recovery) and runs the queue
    recovered = await service.runner.recover()
    await service.runner.drain()

    # then the job was re-queued and completed on its second attempt
    assert recovered.requeued == [orphan] and recovered.failed == []
    done = await job(runtime.database, orphan)
    assert done.status == SyncJobStatus.SUCCEEDED
    assert done.attempts == 2
    assert done.worker_id == service.runner.worker_id


async def test_a_job_crashing_too_often_is_failed_not_left_running(runtime: Runtime) -> None:
    # given a crashed job that already used every attempt
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    service = make_service(runtime.database, {credential.id: inventory()}, max_attempts=2)
    orphan = await _orphan(runtime, credential, attempts=2)

    # when a runner recovers stale jobs
    recovered = await service.runner.recover()

    # then it is FAILED with a reason, and the credential can be synced again
    assert recovered.failed == [orphan]
    failed = await job(runtime.database, orphan)
    assert failed.status == SyncJobStatus.FAILED
    assert failed.finished_at is not None
    assert [e["code"] for e in failed.errors] == ["WORKER_LOST"]
    fresh = await sync_once(service, credential.id)
    assert fresh.id != orphan and fresh.status == SyncJobStatus.SUCCEEDED


async def test_a_live_job_is_not_recovered(runtime: Runtime) -> None:
    # given a job whose worker is alive (fresh heartbeat)
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    service = make_service(runtime.database, {credential.id: inventory()})
    (started,) = await service.start([credential.id])
    async with runtime.database.system_session() as session:
        await jobs.claim(session, "live-worker", 1)

    # when another runner looks for stale jobs
    recovered = await service.runner.recover()

    # then it leaves the job alone
    assert recovered.requeued == [] and recovered.failed == []
    assert (await job(runtime.database, started.id)).worker_id == "live-worker"


async def test_a_worker_that_lost_its_job_stops_writing(runtime: Runtime) -> None:
    # given a job claimed by this worker, then taken over by another after a long pause
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    held = inventory()
    held.gates[EC2] = asyncio.Event()
    service = make_service(runtime.database, {credential.id: held})
    (started,) = await service.start([credential.id])
    await service.runner.claim_and_start()
    await asyncio.wait_for(held.started[EC2].wait(), 10)
    async with runtime.database.system_session() as session:
        await session.execute(
            update(SyncJobRow).where(SyncJobRow.id == started.id).values(worker_id="other-worker")
        )

    # when its listing completes
    held.gates[EC2].set()
    await service.runner.drain()

    # then it did not overwrite the new owner's job
    taken = await job(runtime.database, started.id)
    assert taken.worker_id == "other-worker"
    assert taken.status == SyncJobStatus.RUNNING
    assert taken.added == 0


async def test_the_scheduler_syncs_every_credential_once_per_interval(runtime: Runtime) -> None:
    # given two users' credentials and a scheduler with a one-hour interval and a driven clock
    alice, bob = await create_user(runtime), await create_user(runtime)
    a = await create_credential(runtime.database, alice)
    b = await create_credential(runtime.database, bob)
    service = make_service(runtime.database, {a.id: inventory(), b.id: inventory()})
    now = utcnow()
    clock = [now]
    scheduler = SyncScheduler(runtime.database, timedelta(hours=1), clock=lambda: clock[0])

    # when it ticks, then ticks again within the hour
    first = await scheduler.tick()
    await service.runner.drain()
    clock[0] = now + timedelta(minutes=30)
    early = await scheduler.tick()

    # then every credential got one SCHEDULED job, and nothing more before the interval
    assert len(first) == 2 and early == []
    done = [await job(runtime.database, job_id) for job_id in first]
    assert {d.credential_id for d in done} == {a.id, b.id}
    assert all(d.trigger == SyncTrigger.SCHEDULED for d in done)
    assert all(d.status == SyncJobStatus.SUCCEEDED for d in done)

    # when the interval has passed, but one credential has a manual sync queued
    clock[0] = now + timedelta(minutes=61)
    (manual,) = await service.start([a.id])
    later = await scheduler.tick()

    # then only the other one is scheduled (the queued job already covers the first)
    assert len(later) == 1
    assert (await job(runtime.database, later[0])).credential_id == b.id
    assert manual.trigger == SyncTrigger.MANUAL


async def test_an_interval_of_zero_turns_the_scheduler_off(runtime: Runtime) -> None:
    # given the SYNC_INTERVAL_MINUTES=0 setting
    settings = runtime.settings.model_copy(update={"sync_interval_minutes": 0})

    # when a service is built from it
    service = SyncService(
        runtime.database, lambda _: inventory(), SyncOptions.from_settings(settings)
    )

    # then it has no scheduler, while the default (60) has one
    assert service.scheduler is None
    assert runtime.sync.scheduler is not None
    assert runtime.sync.scheduler.interval == timedelta(minutes=60)


async def test_secrets_never_reach_job_records_or_logs(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    # given a real sealed AWS secret, and an inventory whose SDK blows up quoting it
    user = await create_user(runtime)
    secret = AwsSecret(
        access_key_id="AKIAEXAMPLE12345",
        secret_access_key="wJalrXUtnFEMI/SECRET",
        session_token=None,
    )
    credential = CloudCredentialRow(
        id=uuid.uuid4(),
        user_id=user.id,
        provider=Provider.AWS,
        name="prod",
        default_region="us-east-1",
    )
    seal_into(credential, secret, runtime.vault)
    async with runtime.database.system_session() as session:
        session.add(credential)

    class LeakyInventory(ScriptedInventory):
        async def list_scope(self, scope: Scope) -> list:  # type: ignore[type-arg]
            opened = open_secret(credential, runtime.vault)
            assert isinstance(opened, AwsSecret)
            raise RuntimeError(f"signature mismatch for {opened.secret_access_key}")

    leaky = LeakyInventory({EC2: []})
    service = make_service(runtime.database, {credential.id: leaky})

    # when it is synced
    with caplog.at_level(logging.DEBUG):
        failed = await sync_once(service, credential.id)

    # then the job failed with a generic message; the secret is nowhere in the row or the logs
    assert failed.status == SyncJobStatus.FAILED
    assert failed.errors[0]["code"] == "INTERNAL"
    row_text = json.dumps(
        {a.key: str(getattr(failed, a.key)) for a in SyncJobRow.__mapper__.column_attrs}
    )
    for fragment in ("wJalrXUtnFEMI", "SECRET", "AKIAEXAMPLE12345"):
        assert fragment not in row_text
        assert fragment not in caplog.text


async def test_stopping_a_runner_hands_its_running_job_back(runtime: Runtime) -> None:
    # given a runner in the middle of a job (its listing held open)
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    held = inventory()
    held.gates[EC2] = asyncio.Event()
    service = make_service(runtime.database, {credential.id: held})
    (started,) = await service.start([credential.id])
    service.start_background()
    await asyncio.wait_for(held.started[EC2].wait(), 10)

    # when the process shuts down
    await asyncio.wait_for(service.stop(), 20)

    # then the job is queued again for the next worker, owned by nobody, and wrote nothing
    back = await job(runtime.database, started.id)
    assert back.status == SyncJobStatus.QUEUED
    assert back.worker_id is None
    assert back.added == 0
    assert not service.runner.is_running
