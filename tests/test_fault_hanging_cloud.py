"""Fault matrix (c): a cloud endpoint that accepts connections and never answers.

The AWS endpoint is a local server that reads each request and never replies (only the identity
and region calls pass through to moto, so the sync gets as far as listing). Each scope then fails
within the sync's deadline with a typed TIMEOUT error, the job ends, and the inventory of the
previous sync is all still there.
"""

from __future__ import annotations

import asyncio
import uuid

from db.enums import SyncJobStatus
from db.models import CloudCredentialRow
from graph.runtime import Runtime
from providers.aws import AwsInventory
from providers.base import RetryPolicy
from sync import SyncOptions, SyncService
from sync.engine import SyncEngine
from sync.progress import ProgressHub
from tests.factories import create_user
from tests.standins.aws import AwsCloud
from tests.standins.hanging import HangingEndpoint
from tests.sync_support import FakeSleep, create_credential, job, resources

DEADLINE_SECONDS = 2.0
# The test's own guard: far above the deadline, far below what the SDK retries alone would take
# (botocore: 60 s read timeout × 8 attempts per call).
GUARD_SECONDS = 60.0


async def test_a_hanging_endpoint_fails_each_scope_within_the_deadline(
    runtime: Runtime, aws_cloud: AwsCloud
) -> None:
    database = runtime.database
    owner = await create_user(runtime)
    credential = await create_credential(database, owner)
    endpoints: dict[uuid.UUID, str] = {credential.id: aws_cloud.url}

    def factory(row: CloudCredentialRow) -> AwsInventory:
        return AwsInventory(
            aws_cloud.primary,
            default_region="us-east-1",
            endpoint_url=endpoints[row.id],
            regions=("us-east-1",),
            retry=RetryPolicy(max_attempts=2),
        )

    def service_with(deadline: float) -> SyncService:
        options = SyncOptions(
            interval=None, max_retries=1, scope_timeout_seconds=deadline, concurrency=16
        )
        hub = ProgressHub()
        engine = SyncEngine(database, factory, hub, options, sleep=FakeSleep())
        return SyncService(database, factory, options, hub=hub, engine=engine)

    # Given a credential synced once against the stand-in, under a deadline a loaded machine
    # cannot reach: the S3 scope alone makes several detail calls per bucket
    seed = service_with(GUARD_SECONDS)
    (first,) = await seed.start([credential.id])
    await seed.runner.drain()
    assert (await job(database, first.id)).status is SyncJobStatus.SUCCEEDED
    before = await resources(database, credential.id)
    assert before, "the first sync found the stand-in's resources"

    # When its endpoint starts accepting connections and never answering
    hanging = HangingEndpoint(aws_cloud.url, ("GetCallerIdentity", "DescribeRegions"))
    endpoints[credential.id] = hanging.url
    service = service_with(DEADLINE_SECONDS)
    try:
        (second,) = await service.start([credential.id])
        await asyncio.wait_for(service.runner.drain(), GUARD_SECONDS)
    finally:
        hung = hanging.hung
        hanging.stop()

    # Then the job ended, every listing that hung failed with a typed TIMEOUT error
    ended = await job(database, second.id)
    assert hung > 0, "listing calls reached the hanging endpoint"
    assert ended.status is SyncJobStatus.FAILED, ended.errors
    codes = {error["code"] for error in ended.errors}
    assert codes == {"TIMEOUT"}, ended.errors
    assert all("within 2 seconds" in error["message"] for error in ended.errors)
    # And nothing of the previous inventory was lost
    after = await resources(database, credential.id)
    assert set(after) == set(before)
    assert all(row.deleted_at is None for row in after.values())
