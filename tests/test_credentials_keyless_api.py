"""`addCredential` / `updateCredential` with keyless and multi-scope secrets over HTTP: the
shapes stored, the fields refused by name, and the vault opening what it sealed."""

from __future__ import annotations

import uuid

from db.enums import Role
from db.models import CloudCredentialRow
from graph.node import from_global_id
from graph.runtime import Runtime
from providers.secrets import (
    AzureFederatedSecret,
    AzureSecret,
    CloudSecret,
    GcpImpersonationSecret,
    GcpSecret,
)
from providers.vault_access import open_secret
from tests.credential_data import azure_secret, gcp_secret
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.test_credentials_api import UPDATE, add

TENANT = str(uuid.UUID(int=1))
CLIENT = str(uuid.UUID(int=2))
EMAIL = "reader@acme-prod-7.iam.gserviceaccount.com"


async def opened(runtime: Runtime, global_id: str) -> CloudSecret:
    _, local_id = from_global_id(global_id)
    async with runtime.database.system_session() as session:
        row = await session.get(CloudCredentialRow, local_id)
    assert row is not None
    return open_secret(row, runtime.vault)


async def test_keyless_and_multi_scope_credentials_are_added_and_open_as_their_shapes(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given an administrator (only they may bind the server's identity)
    user = await create_user(runtime, role=Role.ADMIN)
    token = access_token(runtime, user)
    every = azure_secret().input
    del every["azure"]["subscriptionId"]
    folder = gcp_secret("acme-prod-7").input
    folder["gcp"]["scope"] = "folders/123"
    # when
    added = [
        await add(gql, token, "every sub", every),
        await add(gql, token, "federated",
                  {"azureFederated": {"tenantId": TENANT, "clientId": CLIENT}}),
        await add(gql, token, "folder", folder),
        await add(gql, token, "impersonated",
                  {"gcpImpersonation": {"serviceAccountEmail": EMAIL,
                                        "scope": "organizations/42"}}),
    ]  # fmt: skip
    # then each is stored under its provider with a hint saying what it reads
    assert [a["userErrors"] for a in added] == [[], [], [], []]
    credentials = [a["credential"] for a in added]
    assert [c["provider"] for c in credentials] == ["AZURE", "AZURE", "GCP", "GCP"]
    hints = [c["fingerprint"] for c in credentials]
    assert hints[0].endswith("every sub") and hints[1].startswith("federated client ")
    assert hints[2:] == ["folders/123", f"as {EMAIL} organizations/42"]
    # and the vault opens each as its own shape
    shapes = [await opened(runtime, c["id"]) for c in credentials]
    assert isinstance(shapes[0], AzureSecret) and shapes[0].subscription_id is None
    assert shapes[1] == AzureFederatedSecret(tenant_id=TENANT, client_id=CLIENT)
    assert isinstance(shapes[2], GcpSecret) and shapes[2].scope == "folders/123"
    assert shapes[3] == GcpImpersonationSecret(EMAIL, "organizations/42")


async def test_bad_keyless_input_is_refused_naming_the_field(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    token = access_token(runtime, await create_user(runtime, role=Role.ADMIN))
    refused = await add(gql, token, "bad", {"gcpImpersonation": {
        "serviceAccountEmail": "someone@example.com", "scope": "folders/x"}})  # fmt: skip
    assert refused["credential"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "secret", "gcpImpersonation", "serviceAccountEmail"], "INVALID"),
        (["input", "secret", "gcpImpersonation", "scope"], "INVALID"),
    ]
    refused = await add(gql, token, "bad", {"azureFederated": {
        "tenantId": TENANT, "clientId": "app", "subscriptionId": "sub"}})  # fmt: skip
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "secret", "azureFederated", "clientId"], "INVALID"),
        (["input", "secret", "azureFederated", "subscriptionId"], "INVALID"),
    ]


async def test_a_client_secret_credential_can_become_federated_but_not_another_cloud(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given an administrator's Azure credential with a client secret
    token = access_token(runtime, await create_user(runtime, role=Role.ADMIN))
    credential = (await add(gql, token, "azure", azure_secret().input))["credential"]
    # when its secret is replaced by a federated sign-in, then by a GCP impersonation
    federated = {"azureFederated": {"tenantId": TENANT, "clientId": CLIENT}}
    to_federated = await gql(UPDATE, {"input": {"id": credential["id"], "secret": federated}},
                             token=token)  # fmt: skip
    impersonation = {"gcpImpersonation": {"serviceAccountEmail": EMAIL, "scope": "folders/1"}}
    to_gcp = await gql(UPDATE, {"input": {"id": credential["id"], "secret": impersonation}},
                       token=token)  # fmt: skip
    # then the first is the same provider and stored; the second changes cloud and is refused
    assert to_federated.ok()["updateCredential"]["userErrors"] == []
    assert isinstance(await opened(runtime, credential["id"]), AzureFederatedSecret)
    assert [e["field"] for e in to_gcp.ok()["updateCredential"]["userErrors"]] == [
        ["input", "secret"]
    ]
    assert isinstance(await opened(runtime, credential["id"]), AzureFederatedSecret)


async def test_a_user_cannot_replace_a_secret_by_the_servers_identity(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given a user's (not an administrator's) Azure credential with a client secret
    token = access_token(runtime, await create_user(runtime))
    credential = (await add(gql, token, "azure", azure_secret().input))["credential"]
    # when they try to switch it to the server's federated sign-in
    federated = {"azureFederated": {"tenantId": TENANT, "clientId": CLIENT}}
    answer = await gql(UPDATE, {"input": {"id": credential["id"], "secret": federated}},
                       token=token)  # fmt: skip
    # then it is refused and the client secret stays
    (error,) = answer.ok()["updateCredential"]["userErrors"]
    assert (error["field"], error["code"]) == (["input", "secret", "azureFederated"],
                                               "ADMIN_REQUIRED")  # fmt: skip
    assert isinstance(await opened(runtime, credential["id"]), AzureSecret)
