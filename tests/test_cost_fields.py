"""Costs: region-aware list prices that name their source, and ENABLE_COST_TRACKING=false
hiding every cost field (not only the dashboard's), on both databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from db.models import CloudResourceRow
from graph.app import create_app
from graph.node import to_global_id
from graph.runtime import Runtime
from providers import normalize
from providers.base import Scope
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.sync_support import ScriptedInventory, create_credential, make_service, record, sync_once

EAST = Scope("eu-west-1", "AWS::EC2::Instance")
COSTS = "costPerHour estimatedMonthlyCost costSource"
QUERY = f"""
query($id: ID!) {{
  resources(first: 10) {{ edges {{ node {{ id {COSTS} }} }} }}
  credentials {{ resources(first: 10) {{ edges {{ node {{ {COSTS} }} }} }} }}
  node(id: $id) {{ ... on CloudResource {{ {COSTS} }} }}
  dashboard {{ estimatedMonthlyCost costByProvider {{ cost }} }}
}}
"""


def test_prices_are_regional_where_the_table_knows_the_region() -> None:
    regional = normalize.price("aws_ec2", "t3.micro", "eu-west-1")
    assert regional == normalize.Price(0.0114, "prices.json aws_ec2 eu-west-1 (2024-11)")
    base = normalize.price("aws_ec2", "t3.micro", "us-east-1")
    assert base == normalize.Price(0.0104, "prices.json aws_ec2 us-east-1 (2024-11)")
    elsewhere = normalize.price("aws_ec2", "t3.micro", "ap-southeast-2")
    assert elsewhere is not None and elsewhere.hourly == 0.0104
    assert elsewhere.source.endswith("; no ap-southeast-2 price in the table")
    # a size the regional table lacks falls back to the base table, and says so
    fallback = normalize.price("aws_ec2", "m6i.large", "eu-west-1")
    assert fallback is not None and "no eu-west-1 price" in fallback.source
    assert normalize.price("aws_ec2", "z9.unknown", "eu-west-1") is None
    assert normalize.priced(None) == {"cost_per_hour": None, "cost_source": None}


async def _synced(runtime: Runtime) -> tuple[str, str]:
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    priced = normalize.priced(normalize.price("aws_ec2", "t3.micro", "eu-west-1"))
    inventory = ScriptedInventory({EAST: [record("i-priced", EAST, **priced)]})
    await sync_once(make_service(runtime.database, {credential.id: inventory}), credential.id)
    async with runtime.database.system_session() as session:
        row_id = (await session.scalars(select(CloudResourceRow.id))).one()
    return access_token(runtime, user), to_global_id("CloudResource", row_id)


def _cost_nodes(data: dict[str, Any]) -> list[dict[str, Any]]:
    resources = data["resources"]["edges"]
    credentials = data["credentials"][0]["resources"]["edges"]
    return [e["node"] for e in resources] + [e["node"] for e in credentials] + [data["node"]]


async def test_costs_and_their_source_are_shown_when_tracking_is_on(
    runtime: Runtime, gql: GraphQLClient
) -> None:
    token, resource_id = await _synced(runtime)
    data = (await gql(QUERY, {"id": resource_id}, token=token)).ok()
    for node in _cost_nodes(data):
        assert node == {
            **node,
            "costPerHour": 0.0114,
            "estimatedMonthlyCost": 8.32,
            "costSource": "prices.json aws_ec2 eu-west-1 (2024-11)",
        }


async def test_cost_tracking_off_hides_every_cost_field(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    # given a priced resource, and a server on the same database with ENABLE_COST_TRACKING=false
    token, resource_id = await _synced(runtime)
    off = create_app(
        make_settings(
            database_url,
            tmp_path,
            secret_key=runtime.settings.secret_key,
            encryption_keys=runtime.settings.encryption_keys,
            enable_cost_tracking=False,
        )
    )
    try:
        transport = httpx.ASGITransport(app=off)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            # when every read path that carries costs is queried
            data = (await GraphQLClient(http)(QUERY, {"id": resource_id}, token=token)).ok()
    finally:
        await off.state.runtime.close()
    # then every cost field is null (and the dashboard's cost lists empty)
    nodes = _cost_nodes(data)
    assert len(nodes) == 3
    for node in nodes:
        assert node["costPerHour"] is None
        assert node["estimatedMonthlyCost"] is None
        assert node["costSource"] is None
    assert data["dashboard"] == {"estimatedMonthlyCost": None, "costByProvider": []}
