"""End to end on the AWS stand-in through the real SDK: syncs record what changed in the cloud,
the owner reads it over HTTP and WebSocket, another user sees none of it, and the history pages
cost constant SQL (both databases)."""

from __future__ import annotations

import asyncio
from typing import Any

from db.models import CloudCredentialRow
from graph.node import to_global_id
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.standins.aws import AwsCloud
from tests.statement_counter import counting_statements
from tests.test_sync_end_to_end import Served, _receive, by_name, serve

__all__ = ["serve"]

FEED = """
query Feed($filter: ResourceChangeFilter) {
  inventoryChanges(first: 100, filter: $filter) {
    totalCount
    edges { node { kind resourceId changes { field before after } job { id } resource { name } } }
  }
}
"""
HISTORIES = """
query Histories($credential: ID) {
  resources(first: 100, filter: {credentialId: $credential, includeDeleted: true}) {
    edges { node { name history(first: 5) { edges { node { kind changes { field } } } } } }
  }
}
"""


async def _feed(served: Served, token: str, **conditions: Any) -> list[dict[str, Any]]:
    async with served.http() as http:
        answer = await GraphQLClient(http)(FEED, {"filter": conditions or None}, token=token)
    return [edge["node"] for edge in answer.ok()["inventoryChanges"]["edges"]]


async def _feed_over_websocket(served: Served, token: str) -> dict[str, Any]:
    async with served.http() as http, served.websocket(http) as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        assert (await _receive(ws))["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": FEED}})
        message = await _receive(ws)
    assert message["type"] == "next", message
    data: dict[str, Any] = message["payload"]["data"]["inventoryChanges"]
    return data


def _one(nodes: list[dict[str, Any]], name: str, kind: str) -> dict[str, Any]:
    found = [
        n for n in nodes if n["resource"] and n["resource"]["name"] == name and n["kind"] == kind
    ]
    assert len(found) == 1, (name, kind, [(n["resource"], n["kind"]) for n in nodes])
    return found[0]


async def _sync(served: Served, credential: CloudCredentialRow, token: str) -> dict[str, Any]:
    final = (await served.sync_and_follow(credential, token))[-1]
    assert final["status"] == "SUCCEEDED", final["errors"]
    return final


async def test_syncs_record_what_changed_in_the_cloud(serve: Any, aws_cloud: AwsCloud) -> None:
    # given a user's AWS credential on the stand-in, whose bucket blocks nothing yet
    server = aws_cloud.server
    s3, ec2 = server.client("s3", "us-east-1"), server.client("ec2", "us-east-1")
    block = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
             "RestrictPublicBuckets": False}  # fmt: skip
    s3.put_public_access_block(Bucket="standin-eu", PublicAccessBlockConfiguration=block)
    served: Served = await serve(aws=aws_cloud)
    credential, token = await served.add_credential(aws_cloud.primary)

    # when it is synced for the first time
    first = await _sync(served, credential, token)
    # then every stored resource has a CREATED record of that job
    created = await _feed(served, token, kind=["CREATED"])
    assert len(created) == first["added"] == len(await served.inventory(credential))
    assert {node["job"]["id"] for node in created} == {first["id"]}

    # when, in the cloud, an instance is retagged, the bucket starts blocking public ACLs,
    # another bucket is deleted and an instance moves to a new security group
    rows = by_name(await served.inventory(credential))
    web_1 = rows["web-1"].resource_id.rsplit("/", 1)[-1]
    web_2 = rows["web-2"].resource_id.rsplit("/", 1)[-1]
    ec2.create_tags(Resources=[web_1], Tags=[{"Key": "env", "Value": "prod"}])
    s3.put_public_access_block(
        Bucket="standin-eu", PublicAccessBlockConfiguration={**block, "BlockPublicAcls": True}
    )
    s3.delete_bucket(Bucket="standin-us")
    vpc = ec2.describe_instances(InstanceIds=[web_2])["Reservations"][0]["Instances"][0]["VpcId"]
    group = ec2.create_security_group(GroupName="admin-only", Description="moved", VpcId=vpc)
    ec2.modify_instance_attribute(InstanceId=web_2, Groups=[group["GroupId"]])
    # and it is synced again
    await _sync(served, credential, token)

    # then the feed tells each change with its values before and after
    nodes = await _feed(served, token)
    retag = _one(nodes, "web-1", "UPDATED")
    assert {"field": "tags.env", "before": "test", "after": "prod"} in retag["changes"]
    blocked = _one(nodes, "standin-eu", "UPDATED")
    assert blocked["changes"] == [
        {"field": "configuration.publicAccessBlock.blockPublicAcls", "before": False, "after": True}
    ]
    _one(nodes, "standin-us", "DELETED")
    _one(nodes, "admin-only", "CREATED")
    moved = [
        change
        for node in nodes
        if node["resource"] and node["resource"]["name"] == "web-2"
        for change in node["changes"]
        if change["field"] == "relations.PROTECTED_BY"
    ]
    assert len(moved) == 1
    assert [target.rsplit("/", 1)[-1] for target in moved[0]["after"]] == [group["GroupId"]]
    assert group["GroupId"] not in str(moved[0]["before"])

    # when a bucket of the same name comes back and it is synced once more
    s3.create_bucket(Bucket="standin-us")
    await _sync(served, credential, token)
    # then it is RESTORED, and its history tells its whole story, newest first
    nodes = await _feed(served, token)
    _one(nodes, "standin-us", "RESTORED")
    with counting_statements(served.runtime) as counter:
        async with served.http() as http:
            answer = await GraphQLClient(http)(
                HISTORIES,
                {"credential": to_global_id("CloudCredential", credential.id)},
                token=token,
            )
    listed = {e["node"]["name"]: e["node"]["history"] for e in answer.ok()["resources"]["edges"]}
    assert [e["node"]["kind"] for e in listed["standin-us"]["edges"]] == [
        "RESTORED",
        "DELETED",
        "CREATED",
    ]
    # and the page of every resource with its history cost the pinned statements: auth, page,
    # one history batch; PostgreSQL adds one set_config per transaction
    backend = served.runtime.database.engine.dialect.name
    assert counter.count == (3 if backend == "sqlite" else 6), counter.statements

    # and another user sees none of it, over HTTP or WebSocket, even filtering by the credential
    mallory = access_token(served.runtime, await create_user(served.runtime))
    assert await _feed(served, mallory) == []
    credential_id = to_global_id("CloudCredential", credential.id)
    assert await _feed(served, mallory, credentialId=credential_id) == []
    over_websocket, owners = await asyncio.gather(
        _feed_over_websocket(served, mallory), _feed_over_websocket(served, token)
    )
    assert (over_websocket["totalCount"], over_websocket["edges"]) == (0, [])
    assert owners["totalCount"] == len(nodes)
