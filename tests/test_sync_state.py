"""State that stays true: every sync updates its credential's health; scopes that left the plan
have their rows marked deleted once; long-deleted rows are purged on schedule (both databases)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from db.enums import HealthStatus, SyncJobStatus
from db.models import CloudCredentialRow, CloudResourceRow
from db.types import utcnow
from graph.runtime import Runtime
from providers.base import ProviderError, Scope
from sync.maintenance import Maintenance
from sync.scheduler import SyncScheduler
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.standins.aws import AwsCloud
from tests.standins.credentials import create_credential as create_aws_credential
from tests.standins.fixtures import standin_overrides
from tests.sync_support import (
    ScriptedInventory,
    create_credential,
    denied,
    job,
    make_service,
    record,
    resources,
    scopes,
    sync_once,
)

EAST = Scope("us-east-1", "AWS::EC2::Instance")
WEST = Scope("us-west-2", "AWS::EC2::Instance")
HEALTH = "query { credentials { health { status responseTimeMs checkedAt errorMessage } } }"


def auth_failed() -> ProviderError:
    return ProviderError("AUTH_FAILED", "The cloud rejected the credential (InvalidClientTokenId).")


async def _credential(runtime: Runtime, credential_id: object) -> CloudCredentialRow:
    async with runtime.database.system_session() as session:
        row = await session.get(CloudCredentialRow, credential_id)
    assert row is not None
    return row


async def test_every_sync_records_the_credentials_health(
    runtime: Runtime, gql: GraphQLClient
) -> None:
    # given a credential whose cloud works
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = ScriptedInventory({EAST: [record("i-1", EAST)], WEST: [record("i-2", WEST)]})
    service = make_service(runtime.database, {credential.id: inventory})
    before = (await _credential(runtime, credential.id)).updated_at

    # when it syncs cleanly: then it is HEALTHY, with the planning call's latency
    assert (await sync_once(service, credential.id)).status == SyncJobStatus.SUCCEEDED
    row = await _credential(runtime, credential.id)
    assert row.health_status == HealthStatus.HEALTHY and row.health_error is None
    assert row.health_response_ms is not None and row.health_checked_at is not None
    assert row.last_used_at == row.health_checked_at
    assert row.updated_at == before  # a sync is not an edit of the credential

    # when some scopes are refused for another reason: then it is DEGRADED, saying why
    inventory.failures[WEST].append(denied())
    assert (await sync_once(service, credential.id)).status == SyncJobStatus.PARTIAL
    row = await _credential(runtime, credential.id)
    assert row.health_status == HealthStatus.DEGRADED
    assert "PERMISSION_DENIED" in (row.health_error or "")

    # when the cloud rejects the credential: then it is ERROR with the safe reason
    inventory.plan_failures.append(auth_failed())
    assert (await sync_once(service, credential.id)).status == SyncJobStatus.FAILED
    response = await gql(HEALTH, token=access_token(runtime, user))
    (health,) = [c["health"] for c in response.ok()["credentials"]]
    assert health["status"] == "ERROR" and "rejected the credential" in health["errorMessage"]

    # and an AUTH_FAILED scope in an otherwise partial sync is an ERROR too
    inventory.failures[EAST].append(auth_failed())
    assert (await sync_once(service, credential.id)).status == SyncJobStatus.PARTIAL
    assert (await _credential(runtime, credential.id)).health_status == HealthStatus.ERROR

    # and a clean sync afterwards makes it HEALTHY again
    assert (await sync_once(service, credential.id)).status == SyncJobStatus.SUCCEEDED
    assert (await _credential(runtime, credential.id)).health_status == HealthStatus.HEALTHY


async def test_a_scope_dropped_from_the_plan_is_marked_deleted_once(runtime: Runtime) -> None:
    # given a credential synced in two regions
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = ScriptedInventory(
        {EAST: [record("i-east", EAST)], WEST: [record(f"i-west-{n}", WEST) for n in range(3)]}
    )
    service = make_service(runtime.database, {credential.id: inventory})
    await sync_once(service, credential.id)

    # when us-west-2 leaves the plan (opted out, AWS_SYNC_REGIONS narrowed)
    del inventory.listings[WEST]
    narrowed = await sync_once(service, credential.id)

    # then its rows are marked deleted by that sync, counted, and its scope is forgotten
    rows = await resources(runtime.database, credential.id)
    assert narrowed.removed == 3 and narrowed.status == SyncJobStatus.SUCCEEDED
    assert {rid for rid, r in rows.items() if r.deleted_at is not None} == {
        "i-west-0",
        "i-west-1",
        "i-west-2",
    }
    assert rows["i-east"].deleted_at is None
    assert set(await scopes(runtime.database, credential.id)) == {"us-east-1/AWS::EC2::Instance"}

    # and the next sync does not count them again
    assert (await sync_once(service, credential.id)).removed == 0


async def test_a_failing_scope_still_in_the_plan_keeps_its_rows(runtime: Runtime) -> None:
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = ScriptedInventory({EAST: [record("i-east", EAST)], WEST: [record("i-west", WEST)]})
    service = make_service(runtime.database, {credential.id: inventory})
    await sync_once(service, credential.id)
    inventory.failures[WEST].append(denied())
    failed = await sync_once(service, credential.id)
    assert failed.removed == 0
    assert (await resources(runtime.database, credential.id))["i-west"].deleted_at is None


async def test_rows_deleted_longer_ago_than_the_retention_are_purged_on_schedule(
    runtime: Runtime,
) -> None:
    # given live rows, rows deleted 10 days ago and rows deleted 40 days ago
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = ScriptedInventory({EAST: [record(f"i-{n}", EAST) for n in range(6)]})
    service = make_service(runtime.database, {credential.id: inventory})
    await sync_once(service, credential.id)
    now = utcnow()
    async with runtime.database.system_session() as session:
        for ids, age in ((("i-0", "i-1"), 10), (("i-2", "i-3"), 40)):
            await session.execute(
                update(CloudResourceRow)
                .where(CloudResourceRow.resource_id.in_(ids))
                .values(deleted_at=now - timedelta(days=age))
            )
    # when the scheduler ticks with a 30-day retention
    maintenance = Maintenance(
        runtime.database, deleted_retention=timedelta(days=30), secret_max_age=timedelta(days=90)
    )
    scheduler = SyncScheduler(runtime.database, timedelta(hours=1), maintenance=maintenance)
    await scheduler.tick()
    # then only the rows deleted 40 days ago are gone
    async with runtime.database.system_session() as session:
        left = set((await session.scalars(select(CloudResourceRow.resource_id))).all())
    assert left == {"i-0", "i-1", "i-4", "i-5"}
    # and the housekeeping runs at most hourly, and keeps everything when retention is off
    assert await maintenance.run_if_due(utcnow()) is None
    keep_all = Maintenance(
        runtime.database, deleted_retention=None, secret_max_age=timedelta(days=90)
    )
    assert (await keep_all.run()).purged == 0


async def test_narrowing_aws_sync_regions_retires_the_dropped_regions_rows(
    aws_cloud: AwsCloud, database_url: str, tmp_path: Path
) -> None:
    # given an AWS credential synced from the moto stand-in in all its regions
    settings = make_settings(
        database_url, tmp_path, sync_interval_minutes=0, **standin_overrides(aws=aws_cloud)
    )
    assert "eu-west-1" in settings.aws_sync_regions
    first = Runtime.from_settings(settings)
    try:
        user = await create_user(first)
        credential = await create_aws_credential(first, user.id, aws_cloud.primary)
        (started,) = await first.sync.start([credential.id])
        await first.sync.runner.drain()
        assert (await job(first.database, started.id)).status == SyncJobStatus.SUCCEEDED
    finally:
        await first.close()

    # when the operator narrows AWS_SYNC_REGIONS to the other regions and it syncs again
    kept = [region for region in settings.aws_sync_regions if region != "eu-west-1"]
    narrowed = Runtime.from_settings(
        make_settings(
            database_url,
            tmp_path,
            secret_key=settings.secret_key,
            encryption_keys=settings.encryption_keys,
            sync_interval_minutes=0,
            **{**standin_overrides(aws=aws_cloud), "aws_sync_regions": kept},
        )
    )
    try:
        (again,) = await narrowed.sync.start([credential.id])
        await narrowed.sync.runner.drain()
        done = await job(narrowed.database, again.id)
        rows = await resources(narrowed.database, credential.id)
    finally:
        await narrowed.close()

    # then every resource the eu-west-1 scopes listed is marked deleted by that sync (and
    # counted); the rest stay live, including an eu-west-1 bucket (the global S3 scope lists it)
    eu = [row for row in rows.values() if row.metadata_["_scope"].startswith("eu-west-1/")]
    assert eu and all(row.deleted_at is not None for row in eu)
    assert done.removed == len(eu) and done.status == SyncJobStatus.SUCCEEDED
    others = [row for row in rows.values() if not row.metadata_["_scope"].startswith("eu-west-1/")]
    assert others and all(row.deleted_at is None for row in others)
    assert any(row.region == "eu-west-1" for row in others)
