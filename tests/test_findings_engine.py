"""The findings engine against a scripted inventory: relation-based rules re-evaluated from
either side's scope, resources that disappear, open counts, webhook deliveries queued in the
scope's transaction for the owner only, suppression and its lapse (both databases)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from db.enums import FindingStatus, RelationType, WebhookEvent
from db.models import FindingCountRow, FindingRow, UserRow, WebhookDeliveryRow, WebhookRow
from graph.node import to_global_id
from graph.runtime import Runtime
from providers.base import Relation, Scope
from sync.findings.maintenance import reopen_lapsed_suppressions
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.sync_support import ScriptedInventory, create_credential, denied, make_service, sync_once
from tests.sync_support import record as base_record

INSTANCES = Scope("us-east-1", "AWS::EC2::Instance")
GROUPS = Scope("us-east-1", "AWS::EC2::SecurityGroup")
BUCKETS = Scope("global", "AWS::S3::Bucket", any_region=True)
EXPOSED = "aws-ec2-instance-exposed"
PUBLIC_ACL = "aws-s3-bucket-public-acl"


def _group(open_to_anyone: bool) -> dict[str, Any]:
    ranges = ["0.0.0.0/0"] if open_to_anyone else ["10.0.0.0/8"]
    rule = {"protocol": "tcp", "fromPort": 443, "toPort": 443, "ipv4Ranges": ranges,
            "ipv6Ranges": [], "sourceGroups": [], "prefixLists": []}  # fmt: skip
    return {"ingress": [rule], "egress": [], "vpcId": "vpc-1"}


def _bucket(public: bool) -> dict[str, Any]:
    grants = [{"grantee": "AllUsers", "permission": "READ"}] if public else []
    block = {k: True for k in ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy",
                               "restrictPublicBuckets")}  # fmt: skip
    return {"publicAclGrants": grants, "policyAllowsPublic": False, "publicAccessBlock": block,
            "versioning": "Enabled", "logging": {"enabled": True}, "encryption": None}  # fmt: skip


def inventory(*, group_open: bool = True, bucket_public: bool = True) -> ScriptedInventory:
    instance = base_record(
        "i-1",
        INSTANCES,
        configuration={"publicIp": "203.0.113.7", "imdsv2Required": True},
        relations=(Relation(RelationType.PROTECTED_BY, "sg-1"),),
    )
    return ScriptedInventory(
        {
            INSTANCES: [instance],
            GROUPS: [base_record("sg-1", GROUPS, configuration=_group(group_open))],
            BUCKETS: [base_record("b-1", BUCKETS, configuration=_bucket(bucket_public))],
        }
    )


async def findings(runtime: Runtime, user: UserRow) -> dict[str, FindingRow]:
    async with runtime.database.system_session() as session:
        rows = await session.scalars(select(FindingRow).where(FindingRow.user_id == user.id))
        return {row.rule_id: row for row in rows}


async def open_counts(runtime: Runtime, user: UserRow) -> dict[str, int]:
    async with runtime.database.system_session() as session:
        rows = await session.execute(
            select(FindingCountRow.rule_id, FindingCountRow.open_count).where(
                FindingCountRow.user_id == user.id
            )
        )
        return {rule_id: count for rule_id, count in rows.all() if count}


async def true_counts(runtime: Runtime, user: UserRow) -> dict[str, int]:
    async with runtime.database.system_session() as session:
        rows = await session.execute(
            select(FindingRow.rule_id, func.count())
            .where(FindingRow.user_id == user.id, FindingRow.status == FindingStatus.OPEN)
            .group_by(FindingRow.rule_id)
        )
        return {rule_id: int(count) for rule_id, count in rows.all()}


async def test_a_relation_based_rule_follows_either_sides_scope(runtime: Runtime) -> None:
    # given an instance with a public IP behind a group open to anyone
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    cloud = inventory()
    service = make_service(runtime.database, {credential.id: cloud})
    await sync_once(service, credential.id)
    opened = (await findings(runtime, user))[EXPOSED]
    assert opened.status == FindingStatus.OPEN
    assert opened.details["publicIp"] == "203.0.113.7"

    # when the group is closed and only the group's scope completes (the instances' fails)
    cloud.listings[GROUPS] = [base_record("sg-1", GROUPS, configuration=_group(False))]
    cloud.failures[INSTANCES].append(denied())
    await sync_once(service, credential.id)
    # then the instance's finding resolves, from the group's side
    resolved = (await findings(runtime, user))[EXPOSED]
    assert (resolved.id, resolved.status) == (opened.id, FindingStatus.RESOLVED)

    # when the group opens again, the instances' scope failing again
    cloud.listings[GROUPS] = [base_record("sg-1", GROUPS, configuration=_group(True))]
    cloud.failures[INSTANCES].append(denied())
    await sync_once(service, credential.id)
    # then the same finding reopens
    reopened = (await findings(runtime, user))[EXPOSED]
    assert (reopened.id, reopened.status) == (opened.id, FindingStatus.OPEN)
    assert reopened.resolved_at is None
    # and the open counts agree with the findings at every step's end
    assert await open_counts(runtime, user) == await true_counts(runtime, user)


async def test_a_resource_that_disappears_resolves_its_findings(runtime: Runtime) -> None:
    # given a public bucket's open finding
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    cloud = inventory()
    service = make_service(runtime.database, {credential.id: cloud})
    await sync_once(service, credential.id)
    assert (await findings(runtime, user))[PUBLIC_ACL].status == FindingStatus.OPEN
    # when a failed listing of the buckets comes first, then one without the bucket
    cloud.failures[BUCKETS].append(denied())
    await sync_once(service, credential.id)
    assert (await findings(runtime, user))[PUBLIC_ACL].status == FindingStatus.OPEN
    cloud.drop(BUCKETS, "b-1")
    await sync_once(service, credential.id)
    # then the bucket is stale-marked and its finding resolved, counted as such
    assert (await findings(runtime, user))[PUBLIC_ACL].status == FindingStatus.RESOLVED
    assert PUBLIC_ACL not in await open_counts(runtime, user)


async def _webhook(runtime: Runtime, user: UserRow) -> uuid.UUID:
    row = WebhookRow(
        id=uuid.uuid4(),
        user_id=user.id,
        url="https://hooks.example/receive",
        events=[WebhookEvent.FINDING_OPENED.value, WebhookEvent.FINDING_RESOLVED.value],
        key_id="k1",
        secret_ciphertext=b"sealed",
    )
    async with runtime.database.system_session() as session:
        session.add(row)
    return row.id


async def _deliveries(runtime: Runtime, webhook_id: uuid.UUID) -> list[WebhookDeliveryRow]:
    async with runtime.database.system_session() as session:
        rows = await session.scalars(
            select(WebhookDeliveryRow).where(WebhookDeliveryRow.webhook_id == webhook_id)
        )
        return list(rows)


async def test_transitions_queue_webhook_deliveries_for_the_owner_only(runtime: Runtime) -> None:
    # given an owner and another user, each with a webhook for finding events
    owner, stranger = await create_user(runtime), await create_user(runtime)
    mine, theirs = await _webhook(runtime, owner), await _webhook(runtime, stranger)
    credential = await create_credential(runtime.database, owner)
    cloud = inventory()
    service = make_service(runtime.database, {credential.id: cloud})
    # when the owner's sync opens findings
    await sync_once(service, credential.id)
    # then each opened finding has one delivery on the owner's webhook, none on the other's
    opened = await findings(runtime, owner)
    deliveries = await _deliveries(runtime, mine)
    assert {d.event_type for d in deliveries} == {"finding.opened"}
    sent = {d.payload["data"]["finding"]["ruleId"] for d in deliveries}
    assert sent == {row.rule_id for row in opened.values()}
    assert await _deliveries(runtime, theirs) == []
    # when the bucket is made private but its scope fails: nothing resolves, nothing is sent
    cloud.listings[BUCKETS] = [base_record("b-1", BUCKETS, configuration=_bucket(False))]
    cloud.failures[BUCKETS].append(denied())
    await sync_once(service, credential.id)
    assert len(await _deliveries(runtime, mine)) == len(deliveries)
    # when it completes, the resolution is sent
    await sync_once(service, credential.id)
    resolved = [d for d in await _deliveries(runtime, mine) if d.event_type == "finding.resolved"]
    assert [d.payload["data"]["finding"]["ruleId"] for d in resolved] == [PUBLIC_ACL]
    assert await _deliveries(runtime, theirs) == []


SUPPRESS = """
mutation S($input: SuppressFindingInput!) {
  suppressFinding(input: $input) {
    finding { id status suppression { reason until by } } userErrors { field code }
  }
}
"""
UNSUPPRESS = """
mutation U($input: FindingIdInput!) {
  unsuppressFinding(input: $input) { finding { status suppression { reason } } userErrors { code } }
}
"""
FINDING = "query F($id: ID!) { node(id: $id) { ... on Finding { status } } }"
COUNTS = "query { dashboard { findingsBySeverity { severity count } } }"


async def test_suppression_leaves_the_counts_until_it_lapses(
    runtime: Runtime, gql: GraphQLClient
) -> None:
    # given an open CRITICAL finding (the public bucket)
    user = await create_user(runtime)
    token = access_token(runtime, user)
    credential = await create_credential(runtime.database, user)
    await sync_once(make_service(runtime.database, {credential.id: inventory()}), credential.id)
    row = (await findings(runtime, user))[PUBLIC_ACL]
    finding_id = to_global_id("Finding", row.id)

    async def critical() -> int:
        board = (await gql(COUNTS, token=token)).ok()["dashboard"]["findingsBySeverity"]
        return int({s["severity"]: s["count"] for s in board}["CRITICAL"])

    assert await critical() == 1
    # when it is suppressed until tomorrow
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    variables: dict[str, Any] = {
        "input": {"id": finding_id, "reason": "public website", "until": until}
    }
    done = (await gql(SUPPRESS, variables, token=token)).ok()["suppressFinding"]
    # then it is SUPPRESSED, by its owner, and no longer counted
    assert done["userErrors"] == []
    assert done["finding"]["status"] == "SUPPRESSED"
    assert done["finding"]["suppression"]["reason"] == "public website"
    assert done["finding"]["suppression"]["by"] == to_global_id("User", user.id)
    assert await critical() == 0
    # when the suppression's time has passed
    async with runtime.database.system_session() as session:
        lapsed = datetime.now(UTC) - timedelta(seconds=1)
        stored = await session.get(FindingRow, row.id)
        assert stored is not None
        stored.suppressed_until = lapsed
    # then it reads as OPEN at once, and housekeeping counts it again
    found = (await gql(FINDING, {"id": finding_id}, token=token)).ok()["node"]
    assert found["status"] == "OPEN"
    async with runtime.database.system_session() as session:
        assert await reopen_lapsed_suppressions(session, datetime.now(UTC)) == 1
    assert await critical() == 1
    assert (await findings(runtime, user))[PUBLIC_ACL].status == FindingStatus.OPEN
    # and suppressing then unsuppressing brings it back as it was
    variables["input"]["until"] = None
    await gql(SUPPRESS, variables, token=token)
    back = (await gql(UNSUPPRESS, {"input": {"id": finding_id}}, token=token)).ok()
    assert back["unsuppressFinding"]["finding"] == {"status": "OPEN", "suppression": None}
    assert await critical() == 1
    assert await open_counts(runtime, user) == await true_counts(runtime, user)


async def test_suppression_input_is_checked(runtime: Runtime, gql: GraphQLClient) -> None:
    user = await create_user(runtime)
    token = access_token(runtime, user)
    credential = await create_credential(runtime.database, user)
    await sync_once(make_service(runtime.database, {credential.id: inventory()}), credential.id)
    row = (await findings(runtime, user))[PUBLIC_ACL]
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    variables = {"input": {"id": to_global_id("Finding", row.id), "reason": " ", "until": past}}
    errors = (await gql(SUPPRESS, variables, token=token)).ok()["suppressFinding"]["userErrors"]
    assert {(tuple(e["field"]), e["code"]) for e in errors} == {
        (("input", "reason"), "REQUIRED"),
        (("input", "until"), "INVALID"),
    }
    # and nothing changed
    assert (await findings(runtime, user))[PUBLIC_ACL].status == FindingStatus.OPEN


async def test_a_scope_that_leaves_the_plan_resolves_its_findings(runtime: Runtime) -> None:
    # given a public bucket's open finding
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    cloud = inventory()
    service = make_service(runtime.database, {credential.id: cloud})
    await sync_once(service, credential.id)
    assert (await findings(runtime, user))[PUBLIC_ACL].status == FindingStatus.OPEN
    # when the buckets' scope is no longer planned (its rows are retired)
    del cloud.listings[BUCKETS]
    await sync_once(service, credential.id)
    # then its finding resolves and is no longer counted
    assert (await findings(runtime, user))[PUBLIC_ACL].status == FindingStatus.RESOLVED
    assert await open_counts(runtime, user) == await true_counts(runtime, user)
