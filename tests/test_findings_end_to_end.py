"""Findings end to end on moto through the real AWS SDK: a public bucket and a group open to
SSH open findings; making them private resolves the same findings on the next sync; opening
them again reopens them; a failed scope resolves nothing; another user sees none of it (both
databases)."""

from __future__ import annotations

from typing import Any

import pytest

from core.settings import Settings
from db.enums import SyncJobStatus
from db.models import CloudCredentialRow, SyncJobRow
from graph.node import to_global_id
from graph.runtime import Runtime
from providers.base import RetryPolicy
from providers.endpoints import CloudEndpoints
from providers.registry import inventory_for
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.standins.aws import MotoServer, inject_ec2_error, populate
from tests.standins.credentials import create_credential

REGION = "us-east-1"
BUCKET = "findings-public-bucket"
WATCHED = ["aws-s3-bucket-public-acl", "aws-ec2-sg-open-ssh"]
FINDINGS = """
query Findings($filter: FindingFilter) {
  findings(first: 100, filter: $filter) {
    totalCount
    edges { node {
      id status firstSeenAt lastSeenAt resolvedAt details
      rule { id severity provider compliance { framework control } }
      resource { id name nativeType resourceId findings { id rule { id } } }
    } }
  }
}
"""
DASHBOARD = """
query {
  dashboard {
    findingsBySeverity { severity count }
    complianceSummary { framework passed failed }
  }
}
"""
NODE = "query Node($id: ID!) { node(id: $id) { id ... on Finding { status } } }"
SUPPRESS = """
mutation Suppress($input: SuppressFindingInput!) {
  suppressFinding(input: $input) { finding { id status } userErrors { field code message } }
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


class Cloud:
    """The moto account's bucket and security group, opened and closed by the test."""

    def __init__(self, server: MotoServer) -> None:
        self.s3 = server.client("s3", REGION)
        self.ec2 = server.client("ec2", REGION)
        self.s3.create_bucket(Bucket=BUCKET)
        self.group = self.ec2.create_security_group(
            GroupName="findings-ssh", Description="ssh from anywhere"
        )["GroupId"]
        self.ssh = [
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ]

    def open(self) -> None:
        self.s3.put_bucket_acl(Bucket=BUCKET, ACL="public-read")
        self.ec2.authorize_security_group_ingress(GroupId=self.group, IpPermissions=self.ssh)

    def close(self) -> None:
        self.s3.put_bucket_acl(Bucket=BUCKET, ACL="private")
        self.ec2.revoke_security_group_ingress(GroupId=self.group, IpPermissions=self.ssh)


async def _sync(runtime: Runtime, credential: CloudCredentialRow) -> SyncJobStatus:
    (job,) = await runtime.sync.start([credential.id])
    await runtime.sync.runner.drain()
    async with runtime.database.system_session() as session:
        finished = await session.get(SyncJobRow, job.id)
    assert finished is not None
    return finished.status


async def _watched(gql: GraphQLClient, token: str) -> dict[str, dict[str, Any]]:
    """The watched rules' findings (every state), by rule id."""
    answer = (await gql(FINDINGS, {"filter": {"ruleId": WATCHED}}, token=token)).ok()
    nodes = [edge["node"] for edge in answer["findings"]["edges"]]
    return {node["rule"]["id"]: node for node in nodes}


def _failing_group_listing(runtime: Runtime) -> None:
    """From now on, DescribeSecurityGroups is refused (the scope fails; no retries)."""
    vault, settings = runtime.vault, runtime.settings

    def build(row: CloudCredentialRow) -> Any:
        inventory: Any = inventory_for(
            row, vault, CloudEndpoints.from_settings(settings), retry=RetryPolicy(max_attempts=1)
        )
        inject_ec2_error(
            inventory.events,
            "DescribeSecurityGroups",
            times=-1,
            status=403,
            code="UnauthorizedOperation",
        )
        return inventory

    runtime.sync.engine.factory = build


async def test_findings_open_resolve_reopen_and_survive_a_failed_scope(
    runtime: Runtime, gql: GraphQLClient, moto_server: MotoServer
) -> None:
    # given a public bucket and a group open to SSH from anywhere, synced for their owner
    account = populate(moto_server)
    cloud = Cloud(moto_server)
    cloud.open()
    owner = await create_user(runtime)
    credential = await create_credential(runtime, owner.id, account.primary)
    token = access_token(runtime, owner)
    assert await _sync(runtime, credential) == SyncJobStatus.SUCCEEDED

    # then both are OPEN findings, HIGH or CRITICAL, on those resources
    opened = await _watched(gql, token)
    assert set(opened) == set(WATCHED)
    bucket, ssh = opened["aws-s3-bucket-public-acl"], opened["aws-ec2-sg-open-ssh"]
    assert bucket["status"] == ssh["status"] == "OPEN"
    assert bucket["rule"]["severity"] == "CRITICAL" and ssh["rule"]["severity"] == "HIGH"
    assert bucket["resource"]["name"] == BUCKET
    assert ssh["resource"]["resourceId"].endswith(cloud.group)
    assert ssh["details"]["rules"][0]["ports"] == [22]
    assert {"framework": "CIS AWS Foundations 3.0", "control": "5.2"} in ssh["rule"]["compliance"]
    # and the resource lists its findings too
    assert bucket["id"] in {f["id"] for f in bucket["resource"]["findings"]}
    # and the dashboard counts them
    board = (await gql(DASHBOARD, token=token)).ok()["dashboard"]
    severities = {s["severity"]: s["count"] for s in board["findingsBySeverity"]}
    assert severities["CRITICAL"] >= 1 and severities["HIGH"] >= 1
    cis = {c["framework"]: c for c in board["complianceSummary"]}["CIS AWS Foundations 3.0"]
    assert cis["failed"] >= 2

    # when both are made private and the account is synced again
    cloud.close()
    assert await _sync(runtime, credential) == SyncJobStatus.SUCCEEDED
    # then the same findings are RESOLVED
    resolved = await _watched(gql, token)
    for rule_id in WATCHED:
        assert resolved[rule_id]["id"] == opened[rule_id]["id"]
        assert resolved[rule_id]["status"] == "RESOLVED"
        assert resolved[rule_id]["resolvedAt"] is not None
        assert resolved[rule_id]["firstSeenAt"] == opened[rule_id]["firstSeenAt"]

    # when they are opened again
    cloud.open()
    assert await _sync(runtime, credential) == SyncJobStatus.SUCCEEDED
    # then the same findings are OPEN again
    reopened = await _watched(gql, token)
    for rule_id in WATCHED:
        assert reopened[rule_id]["id"] == opened[rule_id]["id"]
        assert reopened[rule_id]["status"] == "OPEN"
        assert reopened[rule_id]["resolvedAt"] is None
        assert reopened[rule_id]["lastSeenAt"] > opened[rule_id]["lastSeenAt"]

    # when the group is closed but its scope fails to list
    cloud.close()
    _failing_group_listing(runtime)
    assert await _sync(runtime, credential) == SyncJobStatus.PARTIAL
    # then the group's finding stays OPEN (a failed scope resolves nothing), while the bucket's,
    # whose scope completed, resolves
    after_failure = await _watched(gql, token)
    assert after_failure["aws-ec2-sg-open-ssh"]["status"] == "OPEN"
    assert after_failure["aws-s3-bucket-public-acl"]["status"] == "RESOLVED"

    # and another user sees none of it: not in the list, not by id, not in the counts, and
    # cannot suppress it
    stranger = await create_user(runtime)
    other = access_token(runtime, stranger)
    listed = (await gql(FINDINGS, {}, token=other)).ok()["findings"]
    assert listed["totalCount"] == 0 and listed["edges"] == []
    assert (await gql(NODE, {"id": ssh["id"]}, token=other)).ok()["node"] is None
    board = (await gql(DASHBOARD, token=other)).ok()["dashboard"]
    assert {s["count"] for s in board["findingsBySeverity"]} == {0}
    refused = (
        await gql(SUPPRESS, {"input": {"id": ssh["id"], "reason": "mine now"}}, token=other)
    ).ok()["suppressFinding"]
    assert refused["finding"] is None
    assert refused["userErrors"] == [
        {"field": ["input", "id"], "code": "NOT_FOUND", "message": "No such finding."}
    ]
    # and the owner's finding is untouched
    assert (await gql(NODE, {"id": ssh["id"]}, token=token)).ok()["node"]["status"] == "OPEN"
    assert to_global_id("Finding", owner.id) != ssh["id"]
