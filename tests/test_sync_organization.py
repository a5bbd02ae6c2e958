"""Organization-wide syncs against a scripted multi-account inventory: accounts as data, a member
account that cannot be planned keeps its inventory, per-account scope keys (both databases)."""

from __future__ import annotations

from sqlalchemy import select

from db.enums import AccountStatus, SyncJobStatus
from db.models import CloudAccountRow, SyncJobPartRow, SyncScopeRow
from graph.runtime import Runtime
from providers.base import ProviderError, Scope
from tests.factories import create_user
from tests.org_support import (
    ScriptedOrganization,
    access_denied,
    account_scopes,
    member,
    org_record,
)
from tests.sync_support import (
    ScriptedInventory,
    create_credential,
    make_service,
    record,
    resources,
    sync_once,
)


async def stored_accounts(runtime: Runtime, credential_id: object) -> dict[str, CloudAccountRow]:
    async with runtime.database.system_session() as session:
        rows = await session.scalars(
            select(CloudAccountRow).where(CloudAccountRow.credential_id == credential_id)
        )
        return {row.account_id: row for row in rows}


async def test_an_organization_is_synced_account_by_account(runtime: Runtime) -> None:
    # given a credential covering an organization of three accounts, two scopes of two rows each
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    organization = ScriptedOrganization(3)
    service = make_service(runtime.database, {credential.id: organization})

    # when it is synced
    done = await sync_once(service, credential.id)

    # then every account was planned once and every resource stored with its account
    assert done.status == SyncJobStatus.SUCCEEDED
    assert (done.added, done.updated, done.removed) == (12, 0, 0)
    assert done.progress == 1.0 and done.errors == []
    assert dict(organization.planned) == {member(n): 1 for n in range(3)}
    stored = await resources(runtime.database, credential.id)
    assert len(stored) == 12
    assert {row.account for row in stored.values()} == {member(n) for n in range(3)}
    first = account_scopes(member(0))[0]
    assert stored[f"{first.key}#0"].scope == f"{member(0)}:us-east-1/AWS::EC2::Instance"
    # and every account is recorded, ACTIVE, with its count and time of listing
    found = await stored_accounts(runtime, credential.id)
    assert sorted(found) == [member(n) for n in range(3)]
    for n in range(3):
        account = found[member(n)]
        assert account.name == f"member-{n}"
        assert account.status == AccountStatus.ACTIVE
        assert account.resource_count == 4
        assert account.last_synced_at is not None and account.error_code is None
    # and the scopes of different accounts sharing region and kind are recorded apart
    async with runtime.database.system_session() as session:
        keys = (
            await session.execute(
                select(SyncScopeRow.account, SyncScopeRow.region, SyncScopeRow.kind).where(
                    SyncScopeRow.credential_id == credential.id
                )
            )
        ).all()
    assert len(keys) == 6 and len(set(keys)) == 6
    assert organization.closed


async def test_a_member_account_denied_once_keeps_all_its_rows(runtime: Runtime) -> None:
    # given an organization synced once, one account of which also lists a region of its own
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    organization = ScriptedOrganization(3)
    victim = member(1)
    own = Scope("eu-west-1", "AWS::EC2::Instance", account=victim)
    organization.listings[own] = [org_record(f"{own.key}#0", own)]
    service = make_service(runtime.database, {credential.id: organization})
    await sync_once(service, credential.id)
    # when its member role in one account is refused on the next sync (AccessDenied)
    organization.account_failures[victim].append(access_denied())
    second = await sync_once(service, credential.id)

    # then that account's rows all stay live: planning nothing is not "every scope left"
    stored = await resources(runtime.database, credential.id)
    theirs = [row for row in stored.values() if row.account == victim]
    assert len(theirs) == 5 and all(row.deleted_at is None for row in theirs)
    async with runtime.database.system_session() as session:
        kept = await session.scalars(
            select(SyncScopeRow.kind).where(
                SyncScopeRow.credential_id == credential.id, SyncScopeRow.account == victim
            )
        )
        assert len(kept.all()) == 3
    # and the job is PARTIAL, naming the account with the provider's safe message
    assert second.status == SyncJobStatus.PARTIAL
    assert second.removed == 0
    assert second.errors == [
        {
            "scope": f"{victim}:*",
            "code": "PERMISSION_DENIED",
            "message": "The member role could not be assumed.",
        }
    ]
    # and the account says so, keeping its count and its last successful listing time
    found = await stored_accounts(runtime, credential.id)
    assert found[victim].status == AccountStatus.ACCESS_DENIED
    assert found[victim].error_code == "PERMISSION_DENIED"
    assert found[victim].resource_count == 5
    assert found[member(0)].status == AccountStatus.ACTIVE

    # when the role works again, the account is ACTIVE again with nothing lost
    third = await sync_once(service, credential.id)
    assert third.status == SyncJobStatus.SUCCEEDED
    assert (await stored_accounts(runtime, credential.id))[victim].status == AccountStatus.ACTIVE


async def test_a_suspended_account_is_reported_and_kept(runtime: Runtime) -> None:
    # given an organization synced once, one of whose accounts is then suspended
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    organization = ScriptedOrganization(2)
    service = make_service(runtime.database, {credential.id: organization})
    await sync_once(service, credential.id)
    organization.set_status(member(0), AccountStatus.SUSPENDED)

    # when it is synced again
    again = await sync_once(service, credential.id)

    # then the suspended account was not planned, kept its rows, and the job is PARTIAL
    assert organization.planned[member(0)] == 1
    assert again.status == SyncJobStatus.PARTIAL
    assert [e["scope"] for e in again.errors] == [f"{member(0)}:*"]
    assert again.errors[0]["code"] == "SUSPENDED"
    stored = await resources(runtime.database, credential.id)
    assert all(row.deleted_at is None for row in stored.values())
    assert (await stored_accounts(runtime, credential.id))[member(0)].status == (
        AccountStatus.SUSPENDED
    )


async def test_a_failed_discovery_fails_the_job_like_a_failed_plan(runtime: Runtime) -> None:
    # given an organization whose discovery call is refused
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    organization = ScriptedOrganization(2)
    organization.discovery_failures.append(
        ProviderError("PERMISSION_DENIED", "organizations:ListAccounts was denied.")
    )
    service = make_service(runtime.database, {credential.id: organization})

    # when it is synced
    failed = await sync_once(service, credential.id)

    # then the job FAILED with that error, nothing was planned or listed, no part exists
    assert failed.status == SyncJobStatus.FAILED
    assert failed.errors == [
        {
            "scope": "*",
            "code": "PERMISSION_DENIED",
            "message": "organizations:ListAccounts was denied.",
        }
    ]
    assert not organization.planned and sum(organization.calls.values()) == 0
    async with runtime.database.system_session() as session:
        assert (await session.scalars(select(SyncJobPartRow.id))).all() == []


async def test_a_scope_that_left_one_accounts_plan_is_retired_in_that_account_only(
    runtime: Runtime,
) -> None:
    # given an organization synced once
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    organization = ScriptedOrganization(2)
    service = make_service(runtime.database, {credential.id: organization})
    await sync_once(service, credential.id)
    # when one account's VPC scope leaves its plan
    gone = account_scopes(member(0))[1]
    del organization.listings[gone]
    again = await sync_once(service, credential.id)

    # then its rows are marked deleted; the other account's VPCs (same region and kind) stay
    stored = await resources(runtime.database, credential.id)
    assert again.removed == 2
    for row in stored.values():
        assert (row.deleted_at is not None) == (row.scope == gone.key)


async def test_a_single_account_credential_shows_the_account_it_lists(runtime: Runtime) -> None:
    # given a credential of one account (the scripted records belong to 123456789012)
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    ec2 = Scope("us-east-1", "AWS::EC2::Instance")
    inventory = ScriptedInventory({ec2: [record("i-0", ec2), record("i-1", ec2)]})
    service = make_service(runtime.database, {credential.id: inventory})

    # when it is synced
    done = await sync_once(service, credential.id)

    # then its one account is recorded from what it listed, keys unchanged
    assert done.status == SyncJobStatus.SUCCEEDED
    (account,) = (await stored_accounts(runtime, credential.id)).values()
    assert account.account_id == "123456789012"
    assert account.status == AccountStatus.ACTIVE and account.resource_count == 2
    assert (await resources(runtime.database, credential.id))["i-0"].scope == (
        "us-east-1/AWS::EC2::Instance"
    )
