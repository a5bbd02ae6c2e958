"""`dashboard`: totals, breakdowns and costs from SQL aggregates, health and recent activity."""

from __future__ import annotations

from pathlib import Path

import httpx

from db.enums import HealthStatus, Provider, ResourceStatus, ResourceType, SyncJobStatus
from graph.app import create_app
from graph.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.inventory_factories import (
    BASE_TIME,
    create_audit_event,
    create_credential,
    create_sync_job,
    insert_resources,
    resource_values,
)

DASHBOARD = """
query {
  dashboard {
    totalResources activeVms totalStorage totalNetworks estimatedMonthlyCost
    providerBreakdown { provider count vms storage networks }
    costByProvider { provider cost }
    costByService { service cost }
    regionDistribution { region count }
    providerHealth { credential { name } health { status } }
    recentActivity(limit: 3) { kind summary auditEvent { action } syncJob { status } }
    lastUpdated
  }
}
"""


async def _inventory(runtime: Runtime) -> str:
    """Alice's mixed inventory (and bob's, which must not count); returns alice's token."""
    alice = await create_user(runtime)
    aws = await create_credential(runtime, alice, "aws", health=HealthStatus.HEALTHY)
    gcp = await create_credential(runtime, alice, "gcp", provider=Provider.GCP)
    vm, storage, network = ResourceType.VM, ResourceType.STORAGE, ResourceType.NETWORK
    rows = [
        resource_values(aws, 1, type=vm, cost_per_hour=0.1, region="us-east-1"),
        resource_values(aws, 2, type=vm, cost_per_hour=0.2, status=ResourceStatus.STOPPED),
        resource_values(aws, 3, type=storage, native_type="AWS::S3::Bucket", cost_per_hour=0.01),
        resource_values(aws, 4, type=network, native_type="AWS::EC2::VPC", region="eu-west-1"),
        resource_values(aws, 5, type=vm, cost_per_hour=9.0, deleted_at=BASE_TIME),
        resource_values(
            gcp,
            6,
            provider=Provider.GCP,
            type=vm,
            native_type="compute.googleapis.com/Instance",
            region="us-central1",
            cost_per_hour=0.5,
        ),
    ]
    rows += [resource_values(aws, 10 + i, type=network, region=f"r{i:02d}") for i in range(11)]
    await insert_resources(runtime, rows)
    await create_sync_job(runtime, aws, queued_at=BASE_TIME.replace(hour=3), added=4)
    await create_audit_event(runtime, alice, "login", created_at=BASE_TIME.replace(hour=2))
    await create_audit_event(runtime, alice, "credential.add", created_at=BASE_TIME.replace(hour=4))
    await create_audit_event(runtime, alice, "old", created_at=BASE_TIME.replace(hour=1))
    bob = await create_user(runtime)
    bob_credential = await create_credential(runtime, bob)
    await insert_resources(runtime, [resource_values(bob_credential, 99, cost_per_hour=50.0)])
    await create_sync_job(runtime, bob_credential, status=SyncJobStatus.FAILED)
    return access_token(runtime, alice)


async def test_dashboard_aggregates_only_the_callers_inventory(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    token = await _inventory(runtime)
    board = (await gql(DASHBOARD, token=token)).ok()["dashboard"]
    assert board["totalResources"] == 16
    assert board["activeVms"] == 2
    assert board["totalStorage"] == 1
    assert board["totalNetworks"] == 12
    # running/active resources with a price: (0.1 + 0.01 + 0.5) × 730
    assert board["estimatedMonthlyCost"] == round(0.61 * 730, 2)
    assert board["providerBreakdown"] == [
        {"provider": "AWS", "count": 15, "vms": 2, "storage": 1, "networks": 12},
        {"provider": "GCP", "count": 1, "vms": 1, "storage": 0, "networks": 0},
    ]
    assert board["costByProvider"] == [
        {"provider": "GCP", "cost": 365.0},
        {"provider": "AWS", "cost": round(0.11 * 730, 2)},
    ]
    assert board["costByService"] == [
        {"service": "compute.googleapis.com/Instance", "cost": 365.0},
        {"service": "AWS::EC2::Instance", "cost": 73.0},
        {"service": "AWS::S3::Bucket", "cost": 7.3},
    ]
    regions = board["regionDistribution"]
    assert len(regions) == 10
    assert regions[0] == {"region": "us-east-1", "count": 3}
    assert {"region": "eu-west-1", "count": 1} in regions
    assert board["providerHealth"] == [
        {"credential": {"name": "aws"}, "health": {"status": "HEALTHY"}},
        {"credential": {"name": "gcp"}, "health": {"status": "UNKNOWN"}},
    ]
    assert board["recentActivity"] == [
        {
            "kind": "AUDIT_EVENT",
            "summary": "credential.add: SUCCESS",
            "auditEvent": {"action": "credential.add"},
            "syncJob": None,
        },
        {
            "kind": "SYNC_JOB",
            "summary": "sync SUCCEEDED: 4 added, 0 updated, 0 removed",
            "auditEvent": None,
            "syncJob": {"status": "SUCCEEDED"},
        },
        {
            "kind": "AUDIT_EVENT",
            "summary": "login: SUCCESS",
            "auditEvent": {"action": "login"},
            "syncJob": None,
        },
    ]
    assert board["lastUpdated"].startswith("2026-01-01T01:")


async def test_empty_dashboard(gql: GraphQLClient, runtime: Runtime) -> None:
    user = await create_user(runtime)
    board = (await gql(DASHBOARD, token=access_token(runtime, user))).ok()["dashboard"]
    assert board["totalResources"] == 0
    assert board["estimatedMonthlyCost"] == 0.0
    assert board["providerBreakdown"] == []
    assert board["recentActivity"] == []
    assert board["lastUpdated"] is None


async def test_costs_are_null_or_empty_without_cost_tracking(
    database_url: str, tmp_path: Path
) -> None:
    # given a server with ENABLE_COST_TRACKING off
    app = create_app(make_settings(database_url, tmp_path, enable_cost_tracking=False))
    runtime: Runtime = app.state.runtime
    try:
        token = await _inventory(runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            board = (await GraphQLClient(http)(DASHBOARD, token=token)).ok()["dashboard"]
    finally:
        await runtime.close()
    # then counts are there, costs are not
    assert board["totalResources"] == 16
    assert board["estimatedMonthlyCost"] is None
    assert board["costByProvider"] == []
    assert board["costByService"] == []


async def test_recent_activity_limit_is_bounded(gql: GraphQLClient, runtime: Runtime) -> None:
    user = await create_user(runtime)
    query = "query($n: Int!) { dashboard { recentActivity(limit: $n) { kind } } }"
    response = await gql(query, {"n": 51}, token=access_token(runtime, user))
    assert response.error_codes == ["BAD_REQUEST"]
