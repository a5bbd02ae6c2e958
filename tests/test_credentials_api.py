"""Credential mutations and queries: validation, uniqueness, ownership, cascades, audit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from db.enums import Provider, ResourceType, SyncTrigger
from db.models import (
    AuditEventRow,
    CloudCredentialRow,
    CloudResourceRow,
    SyncJobRow,
    SyncScopeRow,
    UserRow,
)
from graph.node import from_global_id, to_global_id
from graph.runtime import Runtime
from tests.credential_data import aws_secret, azure_secret, gcp_secret
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient

CREDENTIAL_FIELDS = """
  id provider name defaultRegion fingerprint createdAt updatedAt lastUsedAt
  health { status responseTimeMs checkedAt errorMessage }
"""
ADD = f"""
mutation Add($input: AddCredentialInput!) {{
  addCredential(input: $input) {{
    credential {{ {CREDENTIAL_FIELDS} }}
    userErrors {{ field code message }}
  }}
}}
"""
UPDATE = f"""
mutation Update($input: UpdateCredentialInput!) {{
  updateCredential(input: $input) {{
    credential {{ {CREDENTIAL_FIELDS} }}
    userErrors {{ field code message }}
  }}
}}
"""
DELETE = """
mutation Delete($input: DeleteCredentialInput!) {
  deleteCredential(input: $input) { deletedId userErrors { field code message } }
}
"""
CREDENTIALS = f"query {{ credentials {{ {CREDENTIAL_FIELDS} }} }}"
NODE = "query Node($id: ID!) { node(id: $id) { id ... on CloudCredential { name provider } } }"


async def add(gql: GraphQLClient, token: str, name: str, secret: dict[str, Any]) -> Any:
    response = await gql(ADD, {"input": {"name": name, "secret": secret}}, token=token)
    return response.ok()["addCredential"]


async def stored_count(runtime: Runtime) -> int:
    async with runtime.database.system_session() as session:
        return int(await session.scalar(select(func.count()).select_from(CloudCredentialRow)) or 0)


async def test_add_credential_for_each_provider(gql: GraphQLClient, runtime: Runtime) -> None:
    # given
    user = await create_user(runtime)
    token = access_token(runtime, user)
    aws, azure, gcp = aws_secret(), azure_secret(), gcp_secret("acme-prod-7")
    # when
    added = [
        await add(gql, token, "prod aws", aws.input),
        await add(gql, token, "azure sub", azure.input),
        await add(gql, token, "gcp", gcp.input),
    ]
    # then each is stored with its provider, the provider's default region and a safe hint
    assert [a["userErrors"] for a in added] == [[], [], []]
    aws_cred, azure_cred, gcp_cred = (a["credential"] for a in added)
    assert (aws_cred["provider"], aws_cred["defaultRegion"]) == ("AWS", "us-east-1")
    key_id = aws.input["aws"]["accessKeyId"]
    assert aws_cred["fingerprint"] == f"{key_id[:4]}…{key_id[-4:]}"
    assert (azure_cred["provider"], azure_cred["defaultRegion"]) == ("AZURE", "eastus")
    assert azure_cred["fingerprint"].startswith("client " + azure.input["azure"]["clientId"][:8])
    assert (gcp_cred["provider"], gcp_cred["defaultRegion"]) == ("GCP", "us-central1")
    assert gcp_cred["fingerprint"] == "project acme-prod-7"
    assert aws_cred["health"] == {
        "status": "UNKNOWN",
        "responseTimeMs": None,
        "checkedAt": None,
        "errorMessage": None,
    }


async def test_credentials_lists_only_own_ordered_by_name(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given alice has two credentials and bob one
    alice, bob = await create_user(runtime), await create_user(runtime)
    alice_token, bob_token = access_token(runtime, alice), access_token(runtime, bob)
    await add(gql, alice_token, "zeta", aws_secret().input)
    await add(gql, alice_token, "alpha", azure_secret().input)
    await add(gql, bob_token, "bob's", aws_secret().input)
    # when
    listed = (await gql(CREDENTIALS, token=alice_token)).ok()["credentials"]
    # then
    assert [c["name"] for c in listed] == ["alpha", "zeta"]


async def test_name_is_unique_per_owner(gql: GraphQLClient, runtime: Runtime) -> None:
    # given
    alice, bob = await create_user(runtime), await create_user(runtime)
    await add(gql, access_token(runtime, alice), "main", aws_secret().input)
    # when alice reuses the name, and bob uses it too
    again = await add(gql, access_token(runtime, alice), " main ", aws_secret().input)
    bobs = await add(gql, access_token(runtime, bob), "main", aws_secret().input)
    # then
    assert again == {
        "credential": None,
        "userErrors": [
            {
                "field": ["name"],
                "code": "TAKEN",
                "message": "You already have a credential with this name.",
            }
        ],
    }
    assert bobs["userErrors"] == []
    assert await stored_count(runtime) == 2


async def test_bad_secret_shape_names_the_field_and_stores_nothing(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given
    token = access_token(runtime, await create_user(runtime))
    bad_azure = azure_secret().input
    bad_azure["azure"]["tenantId"] = "not-a-uuid"
    bad_azure["azure"]["subscriptionId"] = ""
    # when
    result = await add(gql, token, "x", bad_azure)
    short_key = await add(gql, token, "y", {"aws": {"accessKeyId": "AK", "secretAccessKey": "s"}})
    # then
    assert result["credential"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [
        (["secret", "azure", "tenantId"], "INVALID"),
        (["secret", "azure", "subscriptionId"], "REQUIRED"),
    ]
    assert [e["field"] for e in short_key["userErrors"]] == [["secret", "aws", "accessKeyId"]]
    assert await stored_count(runtime) == 0


async def test_secret_must_name_exactly_one_provider(gql: GraphQLClient, runtime: Runtime) -> None:
    # given a secret with two providers
    token = access_token(runtime, await create_user(runtime))
    both = {**aws_secret().input, **azure_secret().input}
    # when
    response = await gql(ADD, {"input": {"name": "two", "secret": both}}, token=token)
    # then the request is refused before anything runs
    assert response.data is None
    assert response.errors
    assert await stored_count(runtime) == 0


async def test_update_renames_moves_region_and_reseals(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given a credential
    user = await create_user(runtime)
    token = access_token(runtime, user)
    created = (await add(gql, token, "old", aws_secret().input))["credential"]
    async with runtime.database.system_session() as session:
        before = (await session.scalars(select(CloudCredentialRow))).one()
    replacement = aws_secret()
    # when every field changes
    variables = {
        "input": {
            "id": created["id"],
            "name": "new",
            "defaultRegion": "eu-west-3",
            "secret": replacement.input,
        }
    }
    updated = (await gql(UPDATE, variables, token=token)).ok()["updateCredential"]
    # then the row holds a fresh ciphertext for the new secret
    assert updated["userErrors"] == []
    credential = updated["credential"]
    assert (credential["id"], credential["name"], credential["defaultRegion"]) == (
        created["id"],
        "new",
        "eu-west-3",
    )
    assert (
        credential["fingerprint"]
        == replacement.input["aws"]["accessKeyId"][:4]
        + "…"
        + (replacement.input["aws"]["accessKeyId"][-4:])
    )
    async with runtime.database.system_session() as session:
        after = (await session.scalars(select(CloudCredentialRow))).one()
        audit = (
            await session.scalars(
                select(AuditEventRow).where(AuditEventRow.action == "credential.update")
            )
        ).one()
    assert after.ciphertext != before.ciphertext
    assert audit.details["changed"] == ["name", "defaultRegion", "secret"]


async def test_update_with_only_some_fields_keeps_the_rest(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    user = await create_user(runtime)
    token = access_token(runtime, user)
    created = (await add(gql, token, "keep", gcp_secret().input))["credential"]
    # when only the region changes
    variables = {"input": {"id": created["id"], "defaultRegion": "europe-west1"}}
    updated = (await gql(UPDATE, variables, token=token)).ok()["updateCredential"]
    # then
    assert updated["credential"]["name"] == "keep"
    assert updated["credential"]["fingerprint"] == created["fingerprint"]
    assert updated["credential"]["defaultRegion"] == "europe-west1"


async def test_update_cannot_switch_provider_or_take_a_used_name(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    token = access_token(runtime, await create_user(runtime))
    created = (await add(gql, token, "aws one", aws_secret().input))["credential"]
    await add(gql, token, "other", aws_secret().input)
    # when
    switch = {"input": {"id": created["id"], "secret": azure_secret().input}}
    switched = (await gql(UPDATE, switch, token=token)).ok()["updateCredential"]
    clash = {"input": {"id": created["id"], "name": "other"}}
    clashed = (await gql(UPDATE, clash, token=token)).ok()["updateCredential"]
    # then
    assert [(e["field"], e["code"]) for e in switched["userErrors"]] == [(["secret"], "INVALID")]
    assert [(e["field"], e["code"]) for e in clashed["userErrors"]] == [(["name"], "TAKEN")]
    listed = (await gql(CREDENTIALS, token=token)).ok()["credentials"]
    assert [(c["name"], c["provider"]) for c in listed] == [("aws one", "AWS"), ("other", "AWS")]


async def test_another_users_credential_is_not_found_like_a_missing_one(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given bob's credential
    alice, bob = await create_user(runtime), await create_user(runtime)
    alice_token = access_token(runtime, alice)
    bobs = (await add(gql, access_token(runtime, bob), "bob", aws_secret().input))["credential"]
    missing = to_global_id("CloudCredential", uuid.uuid4())
    # when alice touches bob's and a missing one
    answers = []
    for target in (bobs["id"], missing):
        update = await gql(UPDATE, {"input": {"id": target, "name": "mine"}}, token=alice_token)
        delete = await gql(DELETE, {"input": {"id": target}}, token=alice_token)
        node = await gql(NODE, {"id": target}, token=alice_token)
        answers.append(
            (update.ok()["updateCredential"], delete.ok()["deleteCredential"], node.ok())
        )
    # then both answers are identical: not found, and bob's credential is untouched
    assert answers[0] == answers[1]
    assert answers[0][0]["userErrors"][0]["code"] == "NOT_FOUND"
    assert answers[0][1] == {
        "deletedId": None,
        "userErrors": [{"field": ["id"], "code": "NOT_FOUND", "message": "No such credential."}],
    }
    assert answers[0][2] == {"node": None}
    bob_sees = (await gql(CREDENTIALS, token=access_token(runtime, bob))).ok()["credentials"]
    assert [c["name"] for c in bob_sees] == ["bob"]


async def test_node_returns_own_credential(gql: GraphQLClient, runtime: Runtime) -> None:
    token = access_token(runtime, await create_user(runtime))
    created = (await add(gql, token, "mine", azure_secret().input))["credential"]
    node = (await gql(NODE, {"id": created["id"]}, token=token)).ok()["node"]
    assert node == {"id": created["id"], "name": "mine", "provider": "AZURE"}


async def _seed_inventory(runtime: Runtime, user: UserRow, credential_id: uuid.UUID) -> None:
    async with runtime.database.system_session() as session:
        job = SyncJobRow(user_id=user.id, credential_id=credential_id, trigger=SyncTrigger.MANUAL)
        session.add(job)
        session.add(
            SyncScopeRow(
                user_id=user.id, credential_id=credential_id, region="us-east-1", kind="ec2"
            )
        )
        session.add(
            CloudResourceRow(
                user_id=user.id,
                credential_id=credential_id,
                provider=Provider.AWS,
                account="123456789012",
                region="us-east-1",
                type=ResourceType.VM,
                native_type="AWS::EC2::Instance",
                resource_id=f"i-{uuid.uuid4().hex[:12]}",
                name="web",
            )
        )


async def _owned_counts(runtime: Runtime) -> list[int]:
    async with runtime.database.system_session() as session:
        return [
            int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (CloudCredentialRow, CloudResourceRow, SyncJobRow, SyncScopeRow)
        ]


async def test_delete_takes_inventory_jobs_and_scopes_along(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given two credentials, each with a resource, a job and a scope
    user = await create_user(runtime)
    token = access_token(runtime, user)
    doomed = (await add(gql, token, "doomed", aws_secret().input))["credential"]
    kept = (await add(gql, token, "kept", aws_secret().input))["credential"]
    for created in (doomed, kept):
        await _seed_inventory(runtime, user, from_global_id(created["id"])[1])
    assert await _owned_counts(runtime) == [2, 2, 2, 2]
    # when
    deleted = (await gql(DELETE, {"input": {"id": doomed["id"]}}, token=token)).ok()
    # then everything of the deleted credential is gone, the other's is intact
    assert deleted["deleteCredential"] == {"deletedId": doomed["id"], "userErrors": []}
    assert await _owned_counts(runtime) == [1, 1, 1, 1]
    async with runtime.database.system_session() as session:
        actions = (await session.scalars(select(AuditEventRow.action))).all()
    assert actions.count("credential.delete") == 1


async def test_credential_mutations_require_authentication(gql: GraphQLClient) -> None:
    response = await gql(ADD, {"input": {"name": "x", "secret": aws_secret().input}})
    assert response.error_codes == ["UNAUTHENTICATED"]
    assert (await gql(CREDENTIALS)).error_codes == ["UNAUTHENTICATED"]
