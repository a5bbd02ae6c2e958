"""End to end: a user's credential pointed at a cloud stand-in → startSync → follow the job over
the subscription (real WebSocket) → the inventory. Real SDKs, real provider modules, the server's
own in-process runner; both databases."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws
from sqlalchemy import func, select
from starlette.applications import Starlette

from db.enums import Provider, SyncJobStatus
from db.models import CloudCredentialRow, CloudResourceRow, SyncJobRow
from graph.app import create_app
from graph.node import from_global_id, to_global_id
from graph.runtime import Runtime
from providers.base import RetryPolicy
from providers.endpoints import CloudEndpoints
from providers.registry import inventory_for
from providers.secrets import AwsSecret, CloudSecret
from providers.vault_access import seal_into
from security.vault import Vault
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.live_server import live_server
from tests.standins.aws import AwsCloud, inject_ec2_error
from tests.standins.azure import AzureStandin
from tests.standins.credentials import create_credential
from tests.standins.fixtures import standin_overrides
from tests.standins.gcp import GcpStandin

START_SYNC = """
mutation Start($id: ID) {
  startSync(input: {credentialId: $id}) { jobs { id status } userErrors { code } }
}
"""
ADD_AWS = """
mutation Add($input: AddCredentialInput!) {
  addCredential(input: $input) { credential { id } userErrors { code message } }
}
"""
FOLLOW = """
subscription Follow($id: ID!) {
  syncJob(id: $id) { id status progress added updated removed errors { scope code message } }
}
"""
INVENTORY = """
query Inventory($filter: ResourceFilter) {
  resources(first: 100, filter: $filter) {
    totalCount
    edges { node { name provider type region nativeType deletedAt credential { id } } }
  }
}
"""
WAIT = 60.0


class Served:
    def __init__(self, app: Starlette, address: str) -> None:
        self.app = app
        self.address = address
        self.runtime: Runtime = app.state.runtime

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=f"http://{self.address}", timeout=WAIT)

    def websocket(self, http: httpx.AsyncClient) -> AbstractAsyncContextManager[Any]:
        connection: AbstractAsyncContextManager[Any] = aconnect_ws(
            f"ws://{self.address}/graphql", http, subprotocols=["graphql-transport-ws"]
        )
        return connection

    async def add_credential(self, secret: CloudSecret) -> tuple[CloudCredentialRow, str]:
        user = await create_user(self.runtime)
        row = await create_credential(self.runtime, user.id, secret)
        return row, access_token(self.runtime, user)

    async def add_aws_credential_via_api(self, secret: AwsSecret) -> tuple[CloudCredentialRow, str]:
        """Sign a user up (directly) and let them add their AWS key through `addCredential`."""
        user = await create_user(self.runtime)
        token = access_token(self.runtime, user)
        variables = {
            "input": {
                "name": "stand-in",
                "defaultRegion": "us-east-1",
                "secret": {
                    "aws": {
                        "accessKeyId": secret.access_key_id,
                        "secretAccessKey": secret.secret_access_key,
                    }
                },
            }
        }
        async with self.http() as http:
            added = (await GraphQLClient(http)(ADD_AWS, variables, token=token)).ok()
        assert added["addCredential"]["userErrors"] == []
        _, local_id = from_global_id(added["addCredential"]["credential"]["id"])
        async with self.runtime.database.system_session() as session:
            row = await session.get(CloudCredentialRow, local_id)
        assert row is not None
        return row, token

    def fast_failures(self) -> None:
        """Give up quickly on injected failures (the SDKs and the engine retry much longer)."""
        engine = self.runtime.sync.engine
        engine.options = replace(engine.options, max_retries=1, backoff_base_seconds=0.01)
        vault, settings = self.runtime.vault, self.runtime.settings

        def build(row: CloudCredentialRow) -> Any:
            return inventory_for(
                row,
                vault,
                CloudEndpoints.from_settings(settings),
                retry=RetryPolicy(max_attempts=2),
            )

        engine.factory = build

    async def sync_and_follow(
        self, credential: CloudCredentialRow, token: str
    ) -> list[dict[str, Any]]:
        """startSync over HTTP, then every state pushed by the subscription until the end."""
        async with self.http() as http:
            started = await GraphQLClient(http)(
                START_SYNC, {"id": to_global_id("CloudCredential", credential.id)}, token=token
            )
            (job,) = started.ok()["startSync"]["jobs"]
            async with self.websocket(http) as ws:
                await ws.send_json(
                    {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                )
                assert (await _receive(ws))["type"] == "connection_ack"
                await ws.send_json(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": FOLLOW, "variables": {"id": job["id"]}},
                    }
                )
                states: list[dict[str, Any]] = []
                while True:
                    message = await _receive(ws)
                    if message["type"] == "complete":
                        return states
                    assert message["type"] == "next", message
                    states.append(message["payload"]["data"]["syncJob"])

    async def query_inventory(
        self, credential: CloudCredentialRow, token: str, *, include_deleted: bool = False
    ) -> tuple[int, list[dict[str, Any]]]:
        """The user's view: the `resources` query filtered on the credential."""
        variables = {
            "filter": {
                "credentialId": to_global_id("CloudCredential", credential.id),
                "includeDeleted": include_deleted,
            }
        }
        async with self.http() as http:
            page = (await GraphQLClient(http)(INVENTORY, variables, token=token)).ok()
        connection = page["resources"]
        return connection["totalCount"], [edge["node"] for edge in connection["edges"]]

    async def inventory(self, credential: CloudCredentialRow) -> list[CloudResourceRow]:
        async with self.runtime.database.session(credential.user_id) as session:
            rows = await session.scalars(
                select(CloudResourceRow).where(CloudResourceRow.credential_id == credential.id)
            )
            return list(rows)


def by_name(rows: list[CloudResourceRow]) -> dict[str, CloudResourceRow]:
    """Rows by name (names such as 'default' repeat per region: look up unique ones only)."""
    return {row.name: row for row in rows}


async def _receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = await asyncio.wait_for(ws.receive_json(), WAIT)
    return message


@pytest.fixture
async def serve(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    """Serve the app with the given stand-ins configured; the server runs syncs in-process."""
    servers: list[AbstractAsyncContextManager[str]] = []

    async def start(**standins: Any) -> Served:
        settings = make_settings(
            database_url, tmp_path, sync_interval_minutes=0, **standin_overrides(**standins)
        )
        app = create_app(settings)
        server = live_server(app)
        servers.append(server)
        return Served(app, await server.__aenter__())

    yield start
    for server in servers:
        await server.__aexit__(None, None, None)


async def test_aws_sync_followed_over_the_subscription_fills_the_inventory(
    serve: Any, aws_cloud: AwsCloud
) -> None:
    # given a user who adds an AWS credential, the server pointed at the moto stand-in
    served: Served = await serve(aws=aws_cloud)
    credential, token = await served.add_aws_credential_via_api(aws_cloud.primary)

    # when the user starts a sync and follows it
    states = await served.sync_and_follow(credential, token)

    # then progress was pushed until the job SUCCEEDED
    assert states[0]["status"] in {"QUEUED", "RUNNING"}
    assert [s["progress"] for s in states] == sorted(s["progress"] for s in states)
    final = states[-1]
    assert final["status"] == "SUCCEEDED", final["errors"]
    assert final["progress"] == 1 and final["added"] > 0 and final["removed"] == 0
    # and the inventory holds the primary account's resources in every region, not the other's
    rows = await served.inventory(credential)
    stored = by_name(rows)
    assert {"web-1", "web-2", "batch-1", "api-eu-1", "api-eu-2", "syd-1"} <= set(stored)
    assert {"standin-us", "standin-eu", "resize-images", "nightly-report", "orders-db"} <= set(
        stored
    )
    assert "other-account-1" not in stored and "standin-second" not in stored
    assert stored["api-eu-1"].region == "eu-west-1"
    assert stored["standin-eu"].region == "eu-west-1"
    assert len(rows) == final["added"]
    assert all(row.provider == Provider.AWS and row.deleted_at is None for row in rows)
    # and the user queries the same inventory through the API
    total, nodes = await served.query_inventory(credential, token)
    assert total == len(rows) == len(nodes)
    listed = {node["name"]: node for node in nodes}
    assert listed["web-1"]["type"] == "VM" and listed["web-1"]["region"] == "us-east-1"
    assert listed["standin-eu"]["type"] == "STORAGE"
    assert listed["orders-db"]["type"] == "DATABASE"
    assert listed["resize-images"]["type"] == "FUNCTION"
    assert {node["credential"]["id"] for node in nodes} == {
        to_global_id("CloudCredential", credential.id)
    }


async def test_aws_resources_that_vanish_are_marked_deleted(
    serve: Any, aws_cloud: AwsCloud
) -> None:
    # given a synced AWS credential
    served: Served = await serve(aws=aws_cloud)
    credential, token = await served.add_credential(aws_cloud.primary)
    first = (await served.sync_and_follow(credential, token))[-1]
    # and a function and a bucket deleted in the cloud since
    aws_cloud.server.client("lambda", "eu-west-1").delete_function(FunctionName="nightly-report")
    aws_cloud.server.client("s3", "us-east-1").delete_bucket(Bucket="standin-us")

    # when it is synced again
    second = (await served.sync_and_follow(credential, token))[-1]

    # then exactly those two are marked deleted; everything else is still live
    assert second["status"] == "SUCCEEDED"
    assert (second["added"], second["removed"]) == (0, 2)
    assert second["updated"] == first["added"] - 2
    gone = {row.name for row in await served.inventory(credential) if row.deleted_at}
    assert gone == {"nightly-report", "standin-us"}
    # and the API hides them unless asked for
    live_total, live = await served.query_inventory(credential, token)
    all_total, every = await served.query_inventory(credential, token, include_deleted=True)
    assert all_total == live_total + 2
    assert not {"nightly-report", "standin-us"} & {node["name"] for node in live}
    deleted = {node["name"] for node in every if node["deletedAt"]}
    assert deleted == {"nightly-report", "standin-us"}


async def test_a_region_that_fails_keeps_its_inventory_and_the_job_is_partial(
    serve: Any, aws_cloud: AwsCloud
) -> None:
    # given a synced AWS credential
    served: Served = await serve(aws=aws_cloud)
    credential, token = await served.add_credential(aws_cloud.primary)
    await served.sync_and_follow(credential, token)
    # and, since, an instance terminated in eu-west-1 while that region's EC2 keeps throttling
    ec2 = aws_cloud.server.client("ec2", "eu-west-1")
    victim = by_name(await served.inventory(credential))["api-eu-1"].resource_id.rsplit("/", 1)[-1]
    ec2.terminate_instances(InstanceIds=[victim])
    served.fast_failures()
    build = served.runtime.sync.engine.factory

    def throttling_eu(row: CloudCredentialRow) -> Any:
        inventory: Any = build(row)
        inject_ec2_error(inventory.events, times=-1, region="eu-west-1")
        return inventory

    served.runtime.sync.engine.factory = throttling_eu

    # when it is synced again
    final = (await served.sync_and_follow(credential, token))[-1]

    # then the job is PARTIAL, naming the throttled scope with a safe message
    assert final["status"] == "PARTIAL"
    failed = {e["scope"] for e in final["errors"]}
    assert "eu-west-1/AWS::EC2::Instance" in failed
    assert {e["code"] for e in final["errors"]} == {"THROTTLED"}
    assert all("standin" not in e["message"] for e in final["errors"])
    # and eu-west-1's instances are untouched: the terminated one is neither removed nor updated
    rows = await served.inventory(credential)
    eu = by_name(rows)["api-eu-1"]
    assert eu.deleted_at is None and eu.status.value == "RUNNING"
    instances = [row for row in rows if row.native_type == "AWS::EC2::Instance"]
    assert len(instances) == 6 and all(row.deleted_at is None for row in instances)
    # while the scopes that completed did mark what vanished (the instance's root volume)
    assert {row.native_type for row in rows if row.deleted_at} == {"AWS::EC2::Volume"}
    assert final["removed"] == len([row for row in rows if row.deleted_at])


async def test_concurrent_starts_on_one_credential_make_one_job(
    serve: Any, aws_cloud: AwsCloud
) -> None:
    # given a user's AWS credential
    served: Served = await serve(aws=aws_cloud)
    credential, token = await served.add_credential(aws_cloud.primary)
    variables = {"id": to_global_id("CloudCredential", credential.id)}

    # when five syncs are started at the same time
    async with served.http() as http:
        client = GraphQLClient(http)
        answers = await asyncio.gather(
            *(client(START_SYNC, variables, token=token) for _ in range(5))
        )

    # then they all got the same job, the only one of the credential, which runs to its end
    ids = {a.ok()["startSync"]["jobs"][0]["id"] for a in answers}
    assert len(ids) == 1
    job_id = from_global_id(ids.pop(), "SyncJob")[1]
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        async with served.runtime.database.system_session() as session:
            row = await session.get(SyncJobRow, job_id)
        assert row is not None
        if row.status not in (SyncJobStatus.QUEUED, SyncJobStatus.RUNNING):
            break
        assert asyncio.get_running_loop().time() < deadline, row.status
        await asyncio.sleep(0.1)
    assert row.status == SyncJobStatus.SUCCEEDED
    async with served.runtime.database.system_session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(SyncJobRow)
            .where(SyncJobRow.credential_id == credential.id)
        )
    assert count == 1


async def test_azure_sync_fills_the_inventory(serve: Any, azure_standin: AzureStandin) -> None:
    # given a user's Azure credential pointed at the HTTPS stand-in
    served: Served = await serve(azure=azure_standin)
    credential, token = await served.add_credential(azure_standin.secret())

    # when the user syncs and follows it
    final = (await served.sync_and_follow(credential, token))[-1]

    # then the subscription's resources and resource groups are stored
    assert final["status"] == "SUCCEEDED", final["errors"]
    rows = await served.inventory(credential)
    stored = by_name(rows)
    assert {"vm-web-1", "vm-odd", "vnet-web", "stdata", "sql-data", "rg-web", "rg-data"} <= set(
        stored
    )
    assert stored["stdata"].region == "westeurope"
    assert all(row.provider == Provider.AZURE for row in rows)
    total, nodes = await served.query_inventory(credential, token)
    assert total == len(rows) and {node["provider"] for node in nodes} == {"AZURE"}


async def test_gcp_sync_fills_the_inventory(serve: Any, gcp_standin: GcpStandin) -> None:
    # given a user's GCP credential pointed at the HTTP stand-in
    served: Served = await serve(gcp=gcp_standin)
    credential, token = await served.add_credential(gcp_standin.secret())

    # when the user syncs and follows it
    final = (await served.sync_and_follow(credential, token))[-1]

    # then every asset of the project is stored
    assert final["status"] == "SUCCEEDED", final["errors"]
    rows = await served.inventory(credential)
    stored = by_name(rows)
    assert {"vm-a", "vm-b", "vm-c", "standin-data", "orders"} <= set(stored)
    assert all(row.provider == Provider.GCP for row in rows)
    total, nodes = await served.query_inventory(credential, token)
    assert total == len(rows) and {node["provider"] for node in nodes} == {"GCP"}


async def test_a_secret_the_vault_cannot_open_fails_the_job_clearly(
    serve: Any, aws_cloud: AwsCloud
) -> None:
    # given an AWS credential sealed with a vault key this server does not have
    served: Served = await serve(aws=aws_cloud)
    user = await create_user(served.runtime)
    row = CloudCredentialRow(
        id=uuid.uuid4(),
        user_id=user.id,
        provider=Provider.AWS,
        name="orphaned",
        default_region="us-east-1",
    )
    seal_into(row, aws_cloud.primary, Vault({"gone": secrets.token_bytes(32)}))
    async with served.runtime.database.system_session() as session:
        session.add(row)

    # when it is synced
    final = (await served.sync_and_follow(row, access_token(served.runtime, user)))[-1]

    # then the job FAILED saying why, and nothing was written
    assert final["status"] == "FAILED"
    assert [(e["scope"], e["code"]) for e in final["errors"]] == [("*", "CREDENTIAL_UNREADABLE")]
    assert await served.inventory(row) == []
