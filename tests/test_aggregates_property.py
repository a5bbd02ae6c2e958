"""The inventory aggregates always equal a GROUP BY over the live resource rows (both databases).

Seeded random rounds of syncs (adds; updates that change type, region, account, status or cost;
removals; resources moving between scopes; failed scopes; streamed scopes that fail part-way),
credential deletions, user deletions, key rotations and a rebuild like the one after a backup
restore. After every round the `resource_counts` rows, every `dashboard` field and each
credential's `resourceCount` equal what the resource rows say.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import delete, select

from db.enums import Provider, ResourceStatus, ResourceType
from db.models import CloudCredentialRow, CloudResourceRow, ResourceCountRow, UserRow
from graph.inventory.types import HOURS_PER_MONTH
from graph.runtime import Runtime
from providers.base import ResourceRecord, Scope
from sync import aggregates
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.sync_support import (
    ScriptedInventory,
    create_credential,
    denied,
    make_service,
    sync_once,
)
from tests.test_sync_streaming import StreamedInventory

DASHBOARD = """
query {
  dashboard {
    totalResources activeVms totalStorage totalNetworks estimatedMonthlyCost
    providerBreakdown { provider count vms storage networks }
    costByProvider { provider cost }
    costByService { service cost }
    regionDistribution { region count }
    accounts { account provider count }
    lastUpdated
  }
  credentials { name resourceCount }
}
"""
SCOPES = [Scope(region, kind) for region in ("us-east-1", "eu-west-1") for kind in ("vm", "disk")]
TYPES = [ResourceType.VM, ResourceType.STORAGE, ResourceType.NETWORK, ResourceType.DATABASE]
STATUSES = list(ResourceStatus)
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1"]
ACCOUNTS = ["111111111111", "222222222222"]
NATIVE = ["AWS::EC2::Instance", "AWS::S3::Bucket", "AWS::RDS::DBInstance"]
UNBILLED = (ResourceStatus.STOPPED, ResourceStatus.TERMINATED)


def _record(rng: random.Random, resource_id: str) -> ResourceRecord:
    return ResourceRecord(
        provider=Provider.AWS,
        account=rng.choice(ACCOUNTS),
        region=rng.choice(REGIONS),
        type=rng.choice(TYPES),
        native_type=rng.choice(NATIVE),
        resource_id=resource_id,
        name=resource_id,
        status=rng.choice(STATUSES),
        cost_per_hour=rng.choice([None, 0.01, 0.25, 1.5, 3.0]),
    )


def _mutate(
    rng: random.Random, listings: dict[Scope, list[ResourceRecord]], serial: list[int]
) -> None:
    for scope in SCOPES:
        kept = []
        for record in listings[scope]:
            roll = rng.random()
            if roll < 0.15:
                continue  # removed from the cloud
            if roll < 0.35:
                record = _record(rng, record.resource_id)  # changed in place
            if roll > 0.93:
                # moved: the same resource now listed by another scope
                listings[rng.choice(SCOPES)].append(record)
                continue
            kept.append(record)
        for _ in range(rng.randint(0, 4)):
            serial[0] += 1
            kept.append(_record(rng, f"r-{serial[0]}"))
        listings[scope] = kept
    for scope in SCOPES:  # one resource id per listing
        listings[scope] = list({r.resource_id: r for r in listings[scope]}.values())
    # a resource id listed by two scopes: the later write wins, as in a real sync
    seen: set[str] = set()
    for scope in SCOPES:
        listings[scope] = [r for r in listings[scope] if r.resource_id not in seen]
        seen |= {r.resource_id for r in listings[scope]}


async def _rows(runtime: Runtime, model: type[Any]) -> list[Any]:
    async with runtime.database.system_session() as session:
        return list((await session.scalars(select(model))).all())


def _expected_counts(resources: list[CloudResourceRow]) -> dict[tuple[Any, ...], list[Any]]:
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, 0.0, None])
    for row in resources:
        if row.deleted_at is not None:
            continue
        dimensions = [getattr(row, name) for name in aggregates.KEY[1:]]
        key = (row.credential_id, row.scope or "", *dimensions)
        group = groups[key]
        group[0] += 1
        if row.cost_per_hour is not None:
            group[1] += 1
            group[2] += row.cost_per_hour
        group[3] = row.last_synced_at if group[3] is None else max(group[3], row.last_synced_at)
    return dict(groups)


async def _assert_aggregates_match(runtime: Runtime) -> None:
    expected = _expected_counts(await _rows(runtime, CloudResourceRow))
    stored = {
        (row.credential_id, row.scope, *[getattr(row, n) for n in aggregates.KEY[1:]]): row
        for row in await _rows(runtime, ResourceCountRow)
    }
    assert set(stored) == set(expected)
    for key, (count, priced, cost, last) in expected.items():
        row = stored[key]
        assert (row.count, row.priced, row.last_synced_at) == (count, priced, last), key
        assert math.isclose(row.cost_per_hour, cost, abs_tol=1e-9), key


def _monthly(hourly: float) -> float:
    return round(hourly * HOURS_PER_MONTH, 2)


def _expected_dashboard(live: list[CloudResourceRow]) -> dict[str, Any]:
    def count(**match: Any) -> int:
        return sum(all(getattr(r, k) == v for k, v in match.items()) for r in live)

    billable = [r for r in live if r.cost_per_hour is not None and r.status not in UNBILLED]
    by_service: dict[str, float] = defaultdict(float)
    for r in billable:
        by_service[r.native_type] += r.cost_per_hour or 0.0
    regions: dict[str, int] = defaultdict(int)
    accounts: dict[tuple[str, str], int] = defaultdict(int)
    for r in live:
        regions[r.region] += 1
        accounts[(r.account, r.provider.value)] += 1
    providers = sorted({r.provider.value for r in live})
    return {
        "totalResources": len(live),
        "activeVms": count(type=ResourceType.VM, status=ResourceStatus.RUNNING),
        "totalStorage": count(type=ResourceType.STORAGE),
        "totalNetworks": count(type=ResourceType.NETWORK),
        "estimatedMonthlyCost": _monthly(sum(r.cost_per_hour or 0.0 for r in billable)),
        "providerBreakdown": [
            {
                "provider": p,
                "count": count(provider=p),
                "vms": count(provider=p, type=ResourceType.VM),
                "storage": count(provider=p, type=ResourceType.STORAGE),
                "networks": count(provider=p, type=ResourceType.NETWORK),
            }
            for p in providers
        ],
        "costByService": {s: _monthly(c) for s, c in by_service.items()},
        "regionDistribution": dict(regions),
        "accounts": dict(accounts),
        "lastUpdated": max((r.last_synced_at for r in live), default=None),
    }


async def _assert_dashboard_matches(
    gql: GraphQLClient, runtime: Runtime, user: UserRow, token: str
) -> None:
    answer = (await gql(DASHBOARD, token=token)).ok()
    board = answer["dashboard"]
    live = [
        r
        for r in await _rows(runtime, CloudResourceRow)
        if r.user_id == user.id and r.deleted_at is None
    ]
    expected = _expected_dashboard(live)
    for name in ("totalResources", "activeVms", "totalStorage", "totalNetworks"):
        assert board[name] == expected[name], name
    assert board["providerBreakdown"] == expected["providerBreakdown"]
    assert math.isclose(
        board["estimatedMonthlyCost"], expected["estimatedMonthlyCost"], abs_tol=0.011
    )
    services = {s["service"]: s["cost"] for s in board["costByService"]}
    assert services.keys() == expected["costByService"].keys()
    for service, cost in services.items():
        assert math.isclose(cost, expected["costByService"][service], abs_tol=0.011), service
    assert {r["region"]: r["count"] for r in board["regionDistribution"]} == expected[
        "regionDistribution"
    ]
    assert {(a["account"], a["provider"]): a["count"] for a in board["accounts"]} == expected[
        "accounts"
    ]
    last = expected["lastUpdated"]
    assert board["lastUpdated"] == (last.isoformat() if last else None)
    by_credential: dict[uuid.UUID, int] = defaultdict(int)
    for r in live:
        by_credential[r.credential_id] += 1
    credentials = {c.name: c.id for c in await _rows(runtime, CloudCredentialRow)}
    for listed in answer["credentials"]:
        assert listed["resourceCount"] == by_credential[credentials[listed["name"]]]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_aggregates_equal_the_rows_after_random_syncs(
    gql: GraphQLClient, runtime: Runtime, backend: str, seed: int
) -> None:
    rng = random.Random(seed)
    # given a user with a plain and a streamed credential, and a second user
    user = await create_user(runtime)
    other = await create_user(runtime)
    token = access_token(runtime, user)
    inventories: dict[uuid.UUID, ScriptedInventory] = {}
    listings: dict[uuid.UUID, dict[Scope, list[ResourceRecord]]] = {}
    serial = [0]

    async def add_credential(owner: UserRow, streamed: bool) -> CloudCredentialRow:
        credential = await create_credential(runtime.database, owner)
        listings[credential.id] = {scope: [] for scope in SCOPES}
        kind = StreamedInventory if streamed else ScriptedInventory
        inventories[credential.id] = kind(listings[credential.id])
        return credential

    credentials = [
        await add_credential(user, streamed=False),
        await add_credential(user, streamed=True),
        await add_credential(other, streamed=False),
    ]
    service = make_service(runtime.database, inventories)
    for round_number in range(6):
        # when each credential's cloud changes at random and is synced, some scopes failing
        for credential in credentials:
            inventory = inventories[credential.id]
            _mutate(rng, listings[credential.id], serial)
            inventory.listings = listings[credential.id]
            if rng.random() < 0.4:
                inventory.failures[rng.choice(SCOPES)].append(denied())
            if isinstance(inventory, StreamedInventory) and rng.random() < 0.4:
                inventory.chunks_sent.clear()
                inventory.fail_after = {rng.choice(SCOPES): 1}
            elif isinstance(inventory, StreamedInventory):
                inventory.fail_after = {}
            await sync_once(service, credential.id)
        if round_number == 3:
            # and one credential is deleted, and a rebuild (as after a restore) runs
            gone = credentials.pop(0)
            async with runtime.database.system_session() as session:
                await session.execute(
                    delete(CloudCredentialRow).where(CloudCredentialRow.id == gone.id)
                )
            await _assert_aggregates_match(runtime)
            async with runtime.database.system_session() as session:
                await aggregates.rebuild(session)
            credentials.insert(0, await add_credential(user, streamed=False))
        # then the aggregate rows and every dashboard field equal the rows' GROUP BY
        await _assert_aggregates_match(runtime)
        await _assert_dashboard_matches(gql, runtime, user, token)
    # and deleting the other user takes their aggregates along
    async with runtime.database.system_session() as session:
        await session.execute(delete(UserRow).where(UserRow.id == other.id))
    await _assert_aggregates_match(runtime)
