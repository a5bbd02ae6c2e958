"""Inventory depth end to end: a sync from moto holding every AWS kind, then the API's
configuration, relations (both ways), the relatedTo filter, a relation that changes, secrets
that never land, and isolation between users (both databases)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from core.settings import Settings
from db.enums import SyncJobStatus
from db.models import CloudCredentialRow, SyncJobRow
from graph.node import to_global_id
from graph.runtime import Runtime
from providers import aws_kinds as kinds
from sync.service import SyncService
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.standins.aws import STANDIN_REGIONS, MotoServer, populate
from tests.standins.aws_every_kind import REGION, EveryKind, populate_every_kind
from tests.standins.credentials import create_credential

EVERY_KIND = {*kinds.REGIONAL_KINDS, *kinds.GLOBAL_KINDS}

LIST = """
query List($filter: ResourceFilter) {
  resources(first: 100, filter: $filter) {
    totalCount
    edges { node { id name nativeType type resourceId region configuration } }
  }
}
"""
RELATIONS = """
query Relations($id: ID!, $type: [RelationType!], $direction: RelationDirection) {
  node(id: $id) {
    ... on CloudResource {
      name
      relations(type: $type, direction: $direction) {
        type direction targetResourceId resource { id name nativeType }
      }
    }
  }
}
"""


@pytest.fixture
def settings(database_url: str, tmp_path: Any, moto_server: MotoServer) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        sync_interval_minutes=0,
        aws_endpoint_url=moto_server.url,
        aws_sync_regions=[REGION],
    )


class Synced:
    def __init__(self, runtime: Runtime, gql: GraphQLClient, made: EveryKind) -> None:
        self.runtime, self.gql, self.made = runtime, gql, made
        self.credential: CloudCredentialRow
        self.token = ""

    async def sync(self) -> SyncJobStatus:
        service: SyncService = self.runtime.sync
        (job,) = await service.start([self.credential.id])
        await service.runner.drain()
        async with self.runtime.database.system_session() as session:
            finished = await session.get(SyncJobRow, job.id)
        assert finished is not None
        return finished.status

    async def nodes(self, **filter: Any) -> dict[str, dict[str, Any]]:
        answer = (await self.gql(LIST, {"filter": filter}, token=self.token)).ok()["resources"]
        assert answer["totalCount"] <= 100
        return {edge["node"]["resourceId"]: edge["node"] for edge in answer["edges"]}

    async def relations(self, resource_id: str, **variables: Any) -> list[dict[str, Any]]:
        node = (await self.nodes(search=resource_id))[resource_id]
        found = await self.gql(RELATIONS, {"id": node["id"], **variables}, token=self.token)
        return list(found.ok()["node"]["relations"])


@pytest.fixture
async def synced(runtime: Runtime, gql: GraphQLClient, moto_server: MotoServer) -> Synced:
    cloud = populate(moto_server)
    made = populate_every_kind(moto_server)
    user = await create_user(runtime)
    result = Synced(runtime, gql, made)
    result.credential = await create_credential(runtime, user.id, cloud.primary)
    result.token = access_token(runtime, user)
    assert await result.sync() == SyncJobStatus.SUCCEEDED
    assert STANDIN_REGIONS[0] == REGION
    return result


def ends(relations: list[dict[str, Any]], kind: str, direction: str) -> set[str]:
    return {
        r["targetResourceId"]
        for r in relations
        if r["type"] == kind and r["direction"] == direction
    }


async def test_every_aws_kind_is_listed_with_its_configuration(synced: Synced) -> None:
    # when the user lists the synced inventory
    nodes = await synced.nodes()
    ids = synced.made.ids
    # then every kind is there, in its category
    assert {node["nativeType"] for node in nodes.values()} == EVERY_KIND
    assert len(EVERY_KIND) >= 24
    categories = {node["nativeType"]: node["type"] for node in nodes.values()}
    assert categories[kinds.IAM_ROLE] == "IDENTITY"
    assert categories[kinds.EKS_CLUSTER] == "CONTAINER"
    assert categories[kinds.KMS_KEY] == "SECURITY"
    assert categories[kinds.HOSTED_ZONE] == "DNS"
    assert categories[kinds.SQS_QUEUE] == "QUEUE"
    # with the security-relevant settings of each
    web = nodes[ids["web_sg"]]["configuration"]
    assert {
        "protocol": "tcp",
        "fromPort": 22,
        "toPort": 22,
        "ipv4Ranges": ["0.0.0.0/0"],
        "ipv6Ranges": ["::/0"],
        "sourceGroups": [],
        "prefixLists": [],
    } in web["ingress"]
    assert any(rule["sourceGroups"] == [ids["admin_sg_id"]] for rule in web["ingress"])
    assert web["egress"][0]["protocol"] == "all"
    instance = nodes[ids["instance"]]["configuration"]
    assert instance["imdsv2Required"] is True
    assert instance["iamInstanceProfileArn"] == ids["instance_profile"]
    assert instance["publicIp"]
    assert nodes[ids["volume"]]["configuration"]["encrypted"] is True
    private = nodes[ids["private_bucket"]]["configuration"]
    assert private["publicAccessBlock"] == dict.fromkeys(
        ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets"), True
    )
    assert private["encryption"] == {"algorithm": "aws:kms", "kmsKeyId": ids["kms"]}
    assert private["versioning"] == "Enabled"
    public = nodes[ids["public_bucket"]]["configuration"]
    assert {"grantee": "AllUsers", "permission": "READ"} in public["publicAclGrants"]
    assert public["policyAllowsPublic"] is True
    assert public["logging"] == {"enabled": True, "targetBucket": "kinds-private"}
    user = nodes[ids["user"]]["configuration"]
    assert (user["mfaEnabled"], user["consoleAccess"]) == (False, True)
    assert user["accessKeys"][0]["accessKeyId"] == ids["access_key_id"]
    assert user["accessKeys"][0]["ageDays"] == 0
    assert nodes[ids["policy"]]["configuration"]["allowsAdmin"] is True
    assert nodes[ids["kms"]]["configuration"]["rotationEnabled"] is True
    assert nodes[ids["rds_cluster"]]["configuration"]["storageEncrypted"] is True
    assert nodes[ids["dynamodb"]]["configuration"]["encryption"]["type"] == "KMS"
    assert nodes[ids["sqs"]]["configuration"]["policyAllowsPublic"] is True
    assert nodes[ids["function"]]["configuration"]["runtime"] == "python3.12"
    assert nodes[ids["eks"]]["configuration"]["endpointPublicAccess"] is True
    assert nodes[ids["ecs_service"]]["configuration"]["assignPublicIp"] is True
    assert nodes[ids["alb"]]["configuration"]["listeners"][0]["port"] == 80
    assert nodes[ids["log_group"]]["configuration"]["retentionDays"] == 30
    assert nodes[ids["distribution"]]["configuration"]["viewerProtocolPolicy"] == "allow-all"
    # IAM, Route 53 and CloudFront are global: listed once, region `global`
    for key in ("role", "user", "policy", "zone", "distribution"):
        assert nodes[ids[key]]["region"] == "global"


async def test_relations_are_queryable_both_ways(synced: Synced) -> None:
    ids = synced.made.ids
    # instance → subnet → VPC, instance → security group, volume → instance
    outgoing = await synced.relations(ids["instance"], direction="OUTGOING")
    assert ends(outgoing, "MEMBER_OF", "OUTGOING") == {ids["subnet"]}
    assert ends(outgoing, "PROTECTED_BY", "OUTGOING") == {ids["web_sg"]}
    # a target outside the inventory keeps its id, without a resource
    (profile,) = [r for r in outgoing if r["type"] == "USES"]
    assert (profile["targetResourceId"], profile["resource"]) == (ids["instance_profile"], None)
    subnet = await synced.relations(ids["subnet"])
    assert ends(subnet, "MEMBER_OF", "OUTGOING") == {ids["vpc"]}
    assert ids["instance"] in ends(subnet, "MEMBER_OF", "INCOMING")
    (vpc,) = [r for r in subnet if r["direction"] == "OUTGOING"]
    assert vpc["resource"]["nativeType"] == kinds.VPC
    group = await synced.relations(ids["web_sg"], type=["PROTECTED_BY"], direction="INCOMING")
    assert ids["instance"] in ends(group, "PROTECTED_BY", "INCOMING")
    assert {r["type"] for r in group} == {"PROTECTED_BY"}
    volume = await synced.relations(ids["volume"], direction="OUTGOING")
    assert ends(volume, "ATTACHED_TO", "OUTGOING") == {ids["instance"]}
    attached = await synced.relations(ids["instance"], type=["ATTACHED_TO"], direction="INCOMING")
    assert {ids["volume"], ids["eip"]} <= ends(attached, "ATTACHED_TO", "INCOMING")
    # load balancer → instance (through its target group), function → role
    balancer = await synced.relations(ids["alb"], type=["ROUTES_TO"])
    assert {ids["target_group"], ids["instance"]} <= ends(balancer, "ROUTES_TO", "OUTGOING")
    function = await synced.relations(ids["function"], type=["USES"])
    assert ends(function, "USES", "OUTGOING") == {ids["role"]}


async def test_related_to_filters_resources_by_a_relation(synced: Synced) -> None:
    ids = synced.made.ids
    nodes = await synced.nodes()
    group_id, instance_id = nodes[ids["web_sg"]]["id"], nodes[ids["instance"]]["id"]
    # "instances PROTECTED_BY this group"
    protected = await synced.nodes(relatedTo={"type": "PROTECTED_BY", "resourceId": group_id})
    assert ids["instance"] in protected
    assert {n["nativeType"] for n in protected.values()} <= {
        kinds.EC2_INSTANCE,
        kinds.EKS_CLUSTER,
        kinds.ECS_SERVICE,
        kinds.LOAD_BALANCER,
    }
    # and the other way: the groups protecting this instance
    groups = await synced.nodes(
        relatedTo={"type": "PROTECTED_BY", "resourceId": instance_id, "direction": "INCOMING"}
    )
    assert set(groups) == {ids["web_sg"]}


async def test_a_sync_that_moves_an_instance_to_another_group_replaces_the_relation(
    synced: Synced, moto_server: MotoServer
) -> None:
    ids = synced.made.ids
    # given the instance moved from web-sg to admin-sg in the cloud
    moto_server.client("ec2", REGION).modify_instance_attribute(
        InstanceId=ids["instance_id"], Groups=[ids["admin_sg_id"]]
    )
    # when it is synced again
    assert await synced.sync() == SyncJobStatus.SUCCEEDED
    # then the relation is replaced, both ways
    outgoing = await synced.relations(ids["instance"], type=["PROTECTED_BY"])
    assert ends(outgoing, "PROTECTED_BY", "OUTGOING") == {ids["admin_sg"]}
    old = await synced.relations(ids["web_sg"], type=["PROTECTED_BY"], direction="INCOMING")
    assert ids["instance"] not in ends(old, "PROTECTED_BY", "INCOMING")
    nodes = await synced.nodes()
    assert nodes[ids["instance"]]["configuration"]["securityGroupIds"] == [ids["admin_sg_id"]]


async def test_secrets_the_apis_return_are_never_stored_nor_served(synced: Synced) -> None:
    # given a sync of functions with environment variables, instances with user data,
    # databases with master passwords, users with passwords and access keys
    secrets = [*synced.made.secrets, "standin-password"]
    # when everything the user can read is fetched, and every table is dumped
    served = json.dumps((await synced.gql(LIST, {}, token=synced.token)).ok())
    dumped = []
    async with synced.runtime.database.system_session() as session:
        for table in (
            "resources",
            "resource_relations",
            "sync_jobs",
            "sync_scopes",
            "audit_events",
        ):
            rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()
            dumped.append(repr([tuple(row) for row in rows]))
    # then no secret is anywhere
    for secret in secrets:
        assert secret not in served
        assert not any(secret in dump for dump in dumped), secret
    assert "DATABASE_PASSWORD" not in served  # not even the variable's name


async def test_another_user_sees_none_of_it(synced: Synced, runtime: Runtime) -> None:
    # given another user who knows the ids of the first user's group and instance
    nodes = await synced.nodes()
    group_id = nodes[synced.made.ids["web_sg"]]["id"]
    mallory = access_token(runtime, await create_user(runtime))
    # when they filter by a relation to it, or ask for its relations
    related = await synced.gql(
        LIST,
        {"filter": {"relatedTo": {"type": "PROTECTED_BY", "resourceId": group_id}}},
        token=mallory,
    )
    node = await synced.gql(RELATIONS, {"id": group_id}, token=mallory)
    # then nothing: the same answer as for an id that does not exist
    assert related.ok()["resources"] == {"totalCount": 0, "edges": []}
    assert node.ok()["node"] is None
    unknown = to_global_id("CloudResource", synced.credential.id)
    missing = await synced.gql(
        LIST,
        {"filter": {"relatedTo": {"type": "PROTECTED_BY", "resourceId": unknown}}},
        token=synced.token,
    )
    assert missing.ok()["resources"] == {"totalCount": 0, "edges": []}


@pytest.mark.parametrize("limit", [0, 101])
async def test_relations_limit_out_of_range_is_a_bad_request(synced: Synced, limit: int) -> None:
    nodes = await synced.nodes()
    query = "query($id: ID!, $n: Int!) { node(id: $id) { ... on CloudResource { relations(limit: $n) { type } } } }"  # noqa: E501
    answer = await synced.gql(
        query, {"id": nodes[synced.made.ids["vpc"]]["id"], "n": limit}, token=synced.token
    )
    assert answer.error_codes == ["BAD_REQUEST"]
