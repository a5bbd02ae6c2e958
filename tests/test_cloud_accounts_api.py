"""`CloudCredential.accounts` and `ResourceFilter.account` after an organization-wide sync."""

from __future__ import annotations

from graph.node import to_global_id
from graph.runtime import Runtime
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.org_support import ScriptedOrganization, access_denied, member
from tests.sync_support import create_credential

ACCOUNTS = """
query { credentials { id accounts { accountId name status lastSyncedAt resourceCount error } } }
"""
BY_ACCOUNT = """
query ($accounts: [String!]) {
  resources(first: 100, filter: {account: $accounts}) { totalCount edges { node { account } } }
}
"""
NODE = """
query ($id: ID!) { node(id: $id) { ... on CloudCredential { accounts { accountId } } } }
"""


async def synced_organization(runtime: Runtime) -> tuple[str, str]:
    """A user whose credential covers three accounts, the second of which refused its role."""
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    organization = ScriptedOrganization(3)
    organization.account_failures[member(1)].append(access_denied())
    runtime.sync.engine.factory = lambda row: organization
    await runtime.sync.start([credential.id])
    await runtime.sync.runner.drain()
    return access_token(runtime, user), to_global_id("CloudCredential", credential.id)


async def test_accounts_show_each_ones_outcome(runtime: Runtime, gql: GraphQLClient) -> None:
    # given an organization synced with one account denied
    token, _ = await synced_organization(runtime)

    # when the owner lists their credentials with their accounts
    (credential,) = (await gql(ACCOUNTS, token=token)).ok()["credentials"]

    # then every account is there, by id, with its status, count and safe error
    accounts = {a["accountId"]: a for a in credential["accounts"]}
    assert list(accounts) == [member(n) for n in range(3)]
    assert accounts[member(0)]["status"] == "ACTIVE"
    assert accounts[member(0)]["resourceCount"] == 4
    assert accounts[member(0)]["lastSyncedAt"] is not None
    assert accounts[member(0)]["error"] is None
    denied = accounts[member(1)]
    assert denied["status"] == "ACCESS_DENIED"
    assert denied["error"] == "The member role could not be assumed."
    assert denied["lastSyncedAt"] is None and denied["resourceCount"] == 0
    assert denied["name"] == "member-1"


async def test_resources_filter_by_account(runtime: Runtime, gql: GraphQLClient) -> None:
    # given an organization synced
    token, _ = await synced_organization(runtime)

    # when resources are filtered by one account, by two, and by none known
    one = (await gql(BY_ACCOUNT, {"accounts": [member(0)]}, token=token)).ok()["resources"]
    two = (await gql(BY_ACCOUNT, {"accounts": [member(0), member(2)]}, token=token)).ok()
    unknown = (await gql(BY_ACCOUNT, {"accounts": ["999999999999"]}, token=token)).ok()

    # then only those accounts' resources come back
    assert one["totalCount"] == 4
    assert {e["node"]["account"] for e in one["edges"]} == {member(0)}
    assert two["resources"]["totalCount"] == 8
    assert unknown["resources"]["totalCount"] == 0


async def test_another_user_sees_no_account_of_it(runtime: Runtime, gql: GraphQLClient) -> None:
    # given an organization synced by its owner, and another user who knows its ids
    _, credential_id = await synced_organization(runtime)
    mallory = access_token(runtime, await create_user(runtime))

    # when they ask for the credential's accounts and filter resources by its account ids
    node = (await gql(NODE, {"id": credential_id}, token=mallory)).ok()["node"]
    listed = (await gql(ACCOUNTS, token=mallory)).ok()["credentials"]
    found = (await gql(BY_ACCOUNT, {"accounts": [member(0)]}, token=mallory)).ok()

    # then nothing of it is visible
    assert node is None and listed == []
    assert found["resources"]["totalCount"] == 0


async def test_the_account_filter_is_bounded(runtime: Runtime, gql: GraphQLClient) -> None:
    token = access_token(runtime, await create_user(runtime))
    response = await gql(BY_ACCOUNT, {"accounts": [str(n) for n in range(101)]}, token=token)
    assert [e["extensions"]["code"] for e in response.body["errors"]] == ["BAD_REQUEST"]
