"""The sync engine against a scripted inventory: state machine, counts, upserts, stale marking,
failures, retries and concurrency bounds (both databases)."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY
from sqlalchemy import event

from db.enums import SyncJobStatus, SyncTrigger
from graph.runtime import Runtime
from providers.base import Scope
from sync.upsert import SCOPE_KEY
from tests.factories import create_user
from tests.sync_support import (
    FakeSleep,
    ScriptedInventory,
    create_credential,
    denied,
    job,
    make_service,
    record,
    resources,
    scopes,
    sync_once,
    throttled,
)

EC2 = Scope("us-east-1", "AWS::EC2::Instance")
VPC = Scope("us-east-1", "AWS::EC2::VPC")
WEST = Scope("us-west-2", "AWS::EC2::Instance")


def two_scope_inventory() -> ScriptedInventory:
    return ScriptedInventory(
        {
            EC2: [record(f"i-{n}", EC2) for n in range(3)],
            VPC: [record(f"vpc-{n}", VPC) for n in range(2)],
        }
    )


async def test_first_sync_adds_everything_and_succeeds(runtime: Runtime) -> None:
    # given a credential whose cloud has 5 resources in two scopes
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = two_scope_inventory()
    service = make_service(runtime.database, {credential.id: inventory})

    # when it is synced
    done = await sync_once(service, credential.id)

    # then the job went QUEUED → RUNNING → SUCCEEDED with honest counts and timestamps
    assert done.status == SyncJobStatus.SUCCEEDED
    assert done.trigger == SyncTrigger.MANUAL
    assert (done.added, done.updated, done.removed) == (5, 0, 0)
    assert done.progress == 1.0
    assert done.errors == []
    assert done.attempts == 1
    # and the inventory's SDK clients were released
    assert inventory.closed
    assert done.started_at is not None and done.finished_at is not None
    assert done.queued_at <= done.started_at <= done.finished_at
    # and every resource is stored, owned by the user, stamped with its scope
    stored = await resources(runtime.database, credential.id)
    assert sorted(stored) == ["i-0", "i-1", "i-2", "vpc-0", "vpc-1"]
    assert all(row.user_id == user.id and row.deleted_at is None for row in stored.values())
    assert stored["i-0"].metadata_[SCOPE_KEY] == "us-east-1/AWS::EC2::Instance"
    # and each scope's outcome is recorded
    outcome = await scopes(runtime.database, credential.id)
    assert outcome["us-east-1/AWS::EC2::Instance"].resource_count == 3
    assert outcome["us-east-1/AWS::EC2::VPC"].last_error_code is None
    assert outcome["us-east-1/AWS::EC2::VPC"].last_job_id == done.id


async def test_resyncing_the_same_cloud_is_idempotent(runtime: Runtime) -> None:
    # given a credential synced once
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = two_scope_inventory()
    service = make_service(runtime.database, {credential.id: inventory})
    await sync_once(service, credential.id)
    before = await resources(runtime.database, credential.id)
    inventory.rename(EC2, "i-1", "renamed")

    # when the unchanged (but for one name) cloud is synced again
    again = await sync_once(service, credential.id)

    # then nothing is added or removed, everything counts as updated, rows are refreshed in place
    assert again.status == SyncJobStatus.SUCCEEDED
    assert (again.added, again.updated, again.removed) == (0, 5, 0)
    after = await resources(runtime.database, credential.id)
    assert sorted(after) == sorted(before)
    assert after["i-1"].name == "renamed"
    for resource_id, row in after.items():
        assert row.id == before[resource_id].id
        assert row.first_seen_at == before[resource_id].first_seen_at
        assert row.last_synced_at > before[resource_id].last_synced_at


async def test_upserts_are_batched_never_row_by_row(runtime: Runtime) -> None:
    # given 7 resources in one scope and a batch size of 3
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = ScriptedInventory({EC2: [record(f"i-{n}", EC2) for n in range(7)]})
    service = make_service(runtime.database, {credential.id: inventory}, batch_size=3)
    inserts: list[str] = []

    def count_inserts(*args: object) -> None:
        statement = str(args[2])
        if statement.lstrip().upper().startswith("INSERT INTO RESOURCES"):
            inserts.append(statement)

    event.listen(runtime.database.engine.sync_engine, "before_cursor_execute", count_inserts)
    try:
        # when it is synced
        done = await sync_once(service, credential.id)
    finally:
        event.remove(runtime.database.engine.sync_engine, "before_cursor_execute", count_inserts)

    # then 3 multi-row upserts wrote the 7 rows
    assert done.added == 7
    assert len(inserts) == 3
    assert all("ON CONFLICT" in statement.upper() for statement in inserts)


async def test_only_completed_scopes_mark_vanished_resources(runtime: Runtime) -> None:
    # given a synced credential
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = two_scope_inventory()
    service = make_service(runtime.database, {credential.id: inventory})
    first = await sync_once(service, credential.id)
    # and, before the next sync, one instance and one VPC vanish, while the VPC listing fails
    inventory.drop(EC2, "i-2")
    inventory.drop(VPC, "vpc-1")
    inventory.failures[VPC].append(denied())

    # when it is synced again
    second = await sync_once(service, credential.id)

    # then only the completed scope removed its vanished resource
    stored = await resources(runtime.database, credential.id)
    assert stored["i-2"].deleted_at is not None
    assert stored["vpc-1"].deleted_at is None
    assert stored["vpc-0"].deleted_at is None
    # and the job is honest: PARTIAL, the failed scope named with a safe message
    assert second.status == SyncJobStatus.PARTIAL
    assert (second.added, second.updated, second.removed) == (0, 2, 1)
    assert second.errors == [
        {
            "scope": "us-east-1/AWS::EC2::VPC",
            "code": "PERMISSION_DENIED",
            "message": "Not allowed to list this.",
        }
    ]
    # and the failed scope keeps its last completion, with the error recorded
    outcome = await scopes(runtime.database, credential.id)
    vpc = outcome["us-east-1/AWS::EC2::VPC"]
    assert vpc.last_error_code == "PERMISSION_DENIED"
    assert vpc.resource_count == 2
    assert vpc.last_job_id == second.id
    assert first.id != second.id


async def test_a_resource_that_comes_back_is_revived(runtime: Runtime) -> None:
    # given a resource that vanished in a previous sync
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = ScriptedInventory({EC2: [record("i-0", EC2), record("i-1", EC2)]})
    service = make_service(runtime.database, {credential.id: inventory})
    await sync_once(service, credential.id)
    first_seen = (await resources(runtime.database, credential.id))["i-1"].first_seen_at
    inventory.drop(EC2, "i-1")
    gone = await sync_once(service, credential.id)
    assert gone.removed == 1

    # when it is listed again
    inventory.listings[EC2].append(record("i-1", EC2))
    back = await sync_once(service, credential.id)

    # then it is live again, first seen when it was first seen, and not double-counted
    row = (await resources(runtime.database, credential.id))["i-1"]
    assert row.deleted_at is None
    assert row.first_seen_at == first_seen
    assert (back.added, back.updated, back.removed) == (0, 2, 0)


async def test_every_scope_failing_fails_the_job_and_keeps_the_inventory(
    runtime: Runtime,
) -> None:
    # given a synced credential whose every listing now fails
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = two_scope_inventory()
    service = make_service(runtime.database, {credential.id: inventory})
    await sync_once(service, credential.id)
    inventory.listings = {scope: [] for scope in inventory.listings}
    for scope in inventory.listings:
        inventory.failures[scope].append(denied())

    # when it is synced
    failed = await sync_once(service, credential.id)

    # then the job FAILED with one error per scope, and nothing was removed
    assert failed.status == SyncJobStatus.FAILED
    assert failed.removed == 0
    assert sorted(e["scope"] for e in failed.errors) == [
        "us-east-1/AWS::EC2::Instance",
        "us-east-1/AWS::EC2::VPC",
    ]
    stored = await resources(runtime.database, credential.id)
    assert len(stored) == 5 and all(row.deleted_at is None for row in stored.values())


async def test_a_failed_plan_fails_the_job(runtime: Runtime) -> None:
    # given a credential the cloud refuses outright
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = two_scope_inventory()
    inventory.plan_failures.append(denied())
    service = make_service(runtime.database, {credential.id: inventory})

    # when it is synced
    failed = await sync_once(service, credential.id)

    # then the job FAILED with the planning error and nothing was listed
    assert failed.status == SyncJobStatus.FAILED
    assert failed.errors == [
        {"scope": "*", "code": "PERMISSION_DENIED", "message": "Not allowed to list this."}
    ]
    assert failed.finished_at is not None
    assert sum(inventory.calls.values()) == 0
    assert inventory.closed


async def test_throttled_scopes_are_retried_with_bounded_backoff(runtime: Runtime) -> None:
    # given a scope throttled twice before it answers, and one throttled for ever
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    inventory = two_scope_inventory()
    inventory.failures[EC2] += [throttled(), throttled()]
    inventory.failures[VPC] += [throttled() for _ in range(10)]
    sleep = FakeSleep()
    service = make_service(
        runtime.database,
        {credential.id: inventory},
        sleep=sleep,
        max_retries=3,
        backoff_base_seconds=1.0,
        backoff_cap_seconds=3.0,
    )

    retries_before = _retries()

    # when it is synced
    done = await sync_once(service, credential.id)

    # then the first scope succeeded on its third call; the other gave up after 3 retries
    assert inventory.calls[EC2] == 3
    assert inventory.calls[VPC] == 4
    assert done.status == SyncJobStatus.PARTIAL
    assert done.added == 3
    assert [e["code"] for e in done.errors] == ["THROTTLED"]
    # and every wait was jittered below its exponential, capped bound
    assert len(sleep.delays) == 2 + 3
    assert all(0 <= delay <= 3.0 for delay in sleep.delays)
    # and the retries are counted for operators
    assert _retries() - retries_before == 5


def _retries() -> float:
    value = REGISTRY.get_sample_value("stratograph_sync_retries_total", {"code": "THROTTLED"})
    return value or 0.0


async def test_concurrency_is_bounded_per_credential_and_per_region(runtime: Runtime) -> None:
    # given 12 scopes over two regions, at most 3 at once and 2 per region, all held open
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    plan = [Scope(region, f"kind-{n}") for region in ("r1", "r2") for n in range(6)]
    inventory = ScriptedInventory(
        {scope: [record(f"{scope.region}-{scope.kind}", scope)] for scope in plan}
    )
    release = asyncio.Event()
    inventory.gates = dict.fromkeys(plan, release)
    service = make_service(
        runtime.database, {credential.id: inventory}, concurrency=3, region_concurrency=2
    )

    # when it is synced
    (started,) = await service.start([credential.id])
    running = asyncio.create_task(service.runner.drain())
    deadline = asyncio.get_running_loop().time() + 10
    while inventory.in_flight < 3:
        assert asyncio.get_running_loop().time() < deadline, inventory.in_flight
        await asyncio.sleep(0.01)
    for _ in range(20):  # give any listing beyond the bounds every chance to start
        await asyncio.sleep(0)
    held = inventory.in_flight
    release.set()
    await asyncio.wait_for(running, 10)

    # then the listings overlapped up to, never beyond, the bounds
    done = await job(runtime.database, started.id)
    assert done.status == SyncJobStatus.SUCCEEDED and done.added == 12
    assert held == 3
    assert inventory.max_in_flight == 3
    assert max(inventory.max_region_in_flight.values()) == 2
