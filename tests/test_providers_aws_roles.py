"""AWS role credentials and Organizations, at the provider level: the server's identity (from the
environment) assumes roles through the gate in front of moto, with the credential's external ID."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from db.enums import AccountStatus
from providers import aws_kinds as kinds
from providers.aws import AwsInventory
from providers.aws_organizations import AwsOrganizationInventory, role_inventory
from providers.base import (
    ERROR_AUTH,
    ERROR_PERMISSION,
    ERROR_THROTTLED,
    MultiAccountInventory,
    ProviderError,
    ResourceRecord,
    RetryPolicy,
    Scope,
)
from providers.secrets import AwsRoleSecret
from tests.standins.aws import AMI, PRIMARY_ACCOUNT
from tests.standins.aws_org import (
    MANAGEMENT_ROLE,
    MEMBER_ROLE,
    SINGLE_ROLE,
    AwsOrganization,
    assume,
)

pytestmark = pytest.mark.usefixtures("server_identity")

LISTED_KINDS = (kinds.EC2_INSTANCE, kinds.S3_BUCKET)


def external_id() -> str:
    return secrets.token_urlsafe(24)


def build(org: AwsOrganization, role: AwsRoleSecret, ext: str, **options: Any) -> AwsInventory:
    return role_inventory(role, ext, default_region="us-east-1", endpoint_url=org.url, **options)


def organization(org: AwsOrganization, ext: str, **options: Any) -> AwsOrganizationInventory:
    inventory = build(org, org.role(), ext, **options)
    assert isinstance(inventory, AwsOrganizationInventory)
    return inventory


async def listed(inventory: AwsInventory, scopes: list[Scope]) -> list[ResourceRecord]:
    records: list[ResourceRecord] = []
    for scope in scopes:
        if scope.kind in LISTED_KINDS:
            records += await inventory.list_scope(scope)
    return records


def instance_names(records: list[ResourceRecord], account: str) -> list[str]:
    return sorted(
        r.name for r in records if r.native_type == kinds.EC2_INSTANCE and r.account == account
    )


async def test_a_role_credential_lists_its_account_through_the_assumed_role(
    aws_org: AwsOrganization,
) -> None:
    # given a role credential of one account (no member role)
    ext = external_id()
    inventory = build(aws_org, AwsRoleSecret(SINGLE_ROLE, regions=("us-east-1",)), ext)
    # when it is verified, planned and listed
    await inventory.verify()
    scopes = await inventory.plan()
    records = await listed(inventory, scopes)
    await inventory.close()
    # then it is a single-account inventory whose scopes name no account
    assert not isinstance(inventory, MultiAccountInventory)
    assert {s.region for s in scopes} == {"us-east-1", "global"}
    assert all(s.account == "" for s in scopes)
    assert instance_names(records, PRIMARY_ACCOUNT) == ["management-1"]
    # and the one AssumeRole carried the credential's external ID
    calls = aws_org.gate.state.assume_role_calls
    assert [(c.role_arn, c.external_id, c.session_name) for c in calls] == [
        (SINGLE_ROLE, ext, "stratograph")
    ]


async def test_an_organization_lists_every_member_account_each_record_with_its_account(
    aws_org: AwsOrganization,
) -> None:
    # given an organization credential
    ext = external_id()
    inventory = organization(aws_org, ext)
    # when every account is discovered, planned and listed
    accounts = await inventory.accounts()
    records: list[ResourceRecord] = []
    for account in accounts:
        scopes = await inventory.plan_account(account)
        assert {s.account for s in scopes} == {account.account_id}
        records += await listed(inventory, scopes)
    await inventory.close()
    # then the management account and the three members are listed, each with its resources
    assert isinstance(inventory, MultiAccountInventory)
    assert {a.account_id for a in accounts} == {PRIMARY_ACCOUNT, *aws_org.members}
    assert {a.status for a in accounts} == {AccountStatus.ACTIVE}
    assert {a.name for a in accounts if a.account_id in aws_org.members} == {
        "member1",
        "member2",
        "member3",
    }
    for account_id in [PRIMARY_ACCOUNT, *aws_org.members]:
        assert instance_names(records, account_id) == sorted(aws_org.instances[account_id])
    buckets = {r.account: r.name for r in records if r.native_type == kinds.S3_BUCKET}
    assert buckets == aws_org.buckets
    # and every AssumeRole carried the external ID: the management role once, each member role
    calls = aws_org.gate.state.assume_role_calls
    assert {c.external_id for c in calls} == {ext}
    assert sorted(c.role_arn for c in calls) == sorted(
        [MANAGEMENT_ROLE, *(aws_org.member_role_arn(m) for m in aws_org.members)]
    )


async def test_plan_covers_every_account_at_once(aws_org: AwsOrganization) -> None:
    # given an organization credential
    inventory = organization(aws_org, external_id(), regions=("us-east-1",))
    # when it is planned without splitting by account
    scopes = await inventory.plan()
    await inventory.close()
    # then each account's scopes are there, each with its account set
    assert {s.account for s in scopes} == {PRIMARY_ACCOUNT, *aws_org.members}
    assert Scope("us-east-1", kinds.EC2_INSTANCE, account=aws_org.members[0]) in scopes


async def test_an_account_that_joins_later_appears_on_the_next_discovery(
    aws_org: AwsOrganization,
) -> None:
    # given an organization already discovered once
    ext = external_id()
    inventory = organization(aws_org, ext)
    before = {a.account_id for a in await inventory.accounts()}
    # when a fourth member account is created
    joined = aws_org.add_member("member4")
    accounts = await inventory.accounts()
    (new,) = [a for a in accounts if a.account_id == joined]
    records = await listed(inventory, await inventory.plan_account(new))
    await inventory.close()
    # then the next discovery has it, and its resources are listed through its member role
    assert joined not in before
    assert {a.account_id for a in accounts} == before | {joined}
    assert instance_names(records, joined) == sorted(aws_org.instances[joined])
    assert aws_org.gate.state.assume_role_calls[-1].role_arn == aws_org.member_role_arn(joined)
    assert {c.external_id for c in aws_org.gate.state.assume_role_calls} == {ext}


async def test_a_suspended_account_is_reported_and_not_planned(aws_org: AwsOrganization) -> None:
    # given a member account that was closed
    closed = aws_org.members[1]
    aws_org.server.client("organizations", "us-east-1").close_account(AccountId=closed)
    inventory = organization(aws_org, external_id())
    # when the organization is discovered
    accounts = {a.account_id: a for a in await inventory.accounts()}
    # then it is SUSPENDED with a reason, and planning it refuses
    assert accounts[closed].status == AccountStatus.SUSPENDED
    reason = accounts[closed].error
    assert reason is not None and closed in reason.message
    with pytest.raises(ProviderError):
        await inventory.plan_account(accounts[closed])
    await inventory.close()


async def test_a_denied_role_fails_verification_naming_the_role_and_the_external_id(
    aws_org: AwsOrganization,
) -> None:
    # given a role whose trust policy does not accept this server's external ID
    aws_org.gate.deny(SINGLE_ROLE)
    inventory = build(aws_org, AwsRoleSecret(SINGLE_ROLE), external_id())
    # when it is verified
    with pytest.raises(ProviderError) as failure:
        await inventory.verify()
    await inventory.close()
    # then the credential failed authentication, in words that say what to fix
    assert failure.value.code == ERROR_AUTH
    assert SINGLE_ROLE in failure.value.message
    assert "sts:ExternalId" in failure.value.message and "trust policy" in failure.value.message
    assert "not authorized" not in failure.value.message  # AWS's own words are not copied


async def test_one_denied_member_role_fails_that_account_only(aws_org: AwsOrganization) -> None:
    # given an organization whose second member refuses the member role
    denied = aws_org.members[1]
    aws_org.gate.deny(aws_org.member_role_arn(denied))
    inventory = organization(aws_org, external_id())
    accounts = await inventory.accounts()
    # when each account is planned
    planned, refused = {}, {}
    for account in accounts:
        try:
            planned[account.account_id] = await inventory.plan_account(account)
        except ProviderError as exc:
            refused[account.account_id] = exc
    await inventory.close()
    # then only that account failed, as a permission problem naming its member role
    assert set(refused) == {denied}
    assert refused[denied].code == ERROR_PERMISSION
    assert f"arn:aws:iam::{denied}:role/{MEMBER_ROLE}" in refused[denied].message
    assert set(planned) == {a.account_id for a in accounts} - {denied}


async def test_throttled_list_accounts_is_retried_by_the_sdk(aws_org: AwsOrganization) -> None:
    # given ListAccounts throttled twice
    aws_org.gate.throttle_list_accounts(2)
    inventory = organization(aws_org, external_id(), retry=RetryPolicy(max_attempts=3))
    # when the organization is discovered
    accounts = await inventory.accounts()
    await inventory.close()
    # then botocore's retries got through
    assert len(accounts) == 4
    assert aws_org.gate.state.list_accounts_calls == 3


async def test_list_accounts_throttled_beyond_the_retries_is_a_clear_error(
    aws_org: AwsOrganization,
) -> None:
    # given ListAccounts throttled on every attempt
    aws_org.gate.throttle_list_accounts(-1)
    inventory = organization(aws_org, external_id(), retry=RetryPolicy(max_attempts=2))
    # when the organization is discovered
    with pytest.raises(ProviderError) as failure:
        await inventory.accounts()
    await inventory.close()
    # then it says so after the SDK's attempts
    assert failure.value.code == ERROR_THROTTLED
    assert "organization's accounts" in failure.value.message
    # botocore's `max_attempts` counts retries: the call and two more
    assert aws_org.gate.state.list_accounts_calls == 3


async def test_an_expiring_session_is_refreshed_mid_listing_losing_and_repeating_nothing(
    aws_org: AwsOrganization,
) -> None:
    # given a member account with many instances, listed a few per page
    member = aws_org.members[0]
    account = next(
        a for a in await organization(aws_org, external_id()).accounts() if a.account_id == member
    )
    inventory = organization(aws_org, external_id(), page_size=5)
    await _add_instances(aws_org, member, 12)
    scope = Scope("us-east-1", kinds.EC2_INSTANCE, account=member)
    steady = await inventory.list_scope(scope)
    calls_steady = len(aws_org.gate.state.assume_role_calls)
    # when the same listing runs with sessions that are always inside botocore's refresh window
    # (15 minutes, AWS's shortest session): every page is signed after a refresh
    expiring = organization(aws_org, external_id(), page_size=5, session_seconds=900)
    refreshed = await expiring.list_scope(scope)
    refreshes = len(aws_org.gate.state.assume_role_calls) - calls_steady
    await inventory.close()
    await expiring.close()
    # then the session was renewed part-way, and the listing is the same, nothing twice
    assert account.status == AccountStatus.ACTIVE
    assert refreshes >= 3
    ids = [r.resource_id for r in refreshed]
    assert len(ids) == len(set(ids)) == len(steady) == 13
    assert sorted(ids) == sorted(r.resource_id for r in steady)


async def _add_instances(org: AwsOrganization, account: str, count: int) -> None:
    member = assume(org.server, org.member_role_arn(account))
    ec2 = org.server.client("ec2", "us-east-1", member)
    for _ in range(count):  # one reservation each: DescribeInstances pages by reservation
        ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro")


async def test_without_a_server_identity_a_role_cannot_be_used(
    aws_org: AwsOrganization, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a server process with no AWS identity at all
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    # when a role inventory is built
    with pytest.raises(ProviderError) as failure:
        build(aws_org, AwsRoleSecret(SINGLE_ROLE), external_id())
    # then the operator is told what is missing
    assert failure.value.code == ERROR_AUTH
    assert "no AWS identity" in failure.value.message
