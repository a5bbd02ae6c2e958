"""`verifyCredential` against the stand-ins, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from core.settings import Settings
from db.enums import HealthStatus
from db.models import AuditEventRow, CloudCredentialRow
from graph.node import to_global_id
from graph.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.standins.aws import PRIMARY_SECRET, MotoServer
from tests.standins.azure import AzureStandin
from tests.standins.credentials import create_credential
from tests.standins.fixtures import standin_overrides
from tests.standins.gcp import GcpStandin

VERIFY = """
mutation Verify($id: ID!) {
  verifyCredential(input: {id: $id}) {
    health { status responseTimeMs checkedAt errorMessage }
    userErrors { field code message }
  }
}
"""


@pytest.fixture(autouse=True)
def patient_grading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shared CPUs make wall time noisy: HEALTHY vs DEGRADED is tested with explicit limits."""
    monkeypatch.setattr("providers.health.DEGRADED_AFTER_MS", 60_000)


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    moto_server: MotoServer,
    azure_standin: AzureStandin,
    gcp_standin: GcpStandin,
) -> Settings:
    overrides = standin_overrides(aws=moto_server, azure=azure_standin, gcp=gcp_standin)
    return make_settings(database_url, tmp_path, **overrides)


async def stored(runtime: Runtime, credential: CloudCredentialRow) -> CloudCredentialRow:
    async with runtime.database.system_session() as session:
        row = await session.get(CloudCredentialRow, credential.id)
    assert row is not None
    return row


async def audit_events(runtime: Runtime) -> list[AuditEventRow]:
    async with runtime.database.system_session() as session:
        statement = select(AuditEventRow).where(AuditEventRow.action == "credential.verify")
        return list((await session.execute(statement)).scalars())


async def test_a_working_aws_credential_is_healthy_and_recorded(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given
    user = await create_user(runtime)
    credential = await create_credential(runtime, user.id, PRIMARY_SECRET)
    # when
    payload = (
        await gql(VERIFY, {"id": to_global_id("CloudCredential", credential.id)},
                  token=access_token(runtime, user))
    ).ok()["verifyCredential"]  # fmt: skip
    # then
    assert payload["userErrors"] == []
    health = payload["health"]
    assert health["status"] == "HEALTHY"
    assert isinstance(health["responseTimeMs"], int)
    assert health["checkedAt"] and health["errorMessage"] is None
    row = await stored(runtime, credential)
    assert row.health_status == HealthStatus.HEALTHY
    assert row.last_used_at is not None
    assert row.updated_at == credential.updated_at  # a check is not an edit
    (event,) = await audit_events(runtime)
    assert (event.user_id, event.outcome.value) == (user.id, "SUCCESS")
    assert event.details["credential_id"] == str(credential.id)


async def test_a_wrong_azure_secret_is_an_error_without_leaking_it(
    gql: GraphQLClient, runtime: Runtime, azure_standin: AzureStandin
) -> None:
    # given a credential whose client secret Azure AD refuses
    user = await create_user(runtime)
    wrong = "wrong-client-secret-value-777"
    credential = await create_credential(runtime, user.id, azure_standin.secret(wrong))
    # when
    response = await gql(
        VERIFY, {"id": to_global_id("CloudCredential", credential.id)},
        token=access_token(runtime, user),
    )  # fmt: skip
    # then
    health = response.ok()["verifyCredential"]["health"]
    assert health["status"] == "ERROR"
    assert "rejected the credential" in health["errorMessage"]
    assert wrong not in str(response.body)
    assert "AADSTS" not in str(response.body)
    row = await stored(runtime, credential)
    assert row.health_status == HealthStatus.ERROR
    assert row.health_error == health["errorMessage"]
    (event,) = await audit_events(runtime)
    assert event.outcome.value == "FAILURE"
    assert wrong not in str(event.details)


async def test_a_gcp_credential_reads_its_project(
    gql: GraphQLClient, runtime: Runtime, gcp_standin: GcpStandin
) -> None:
    user = await create_user(runtime)
    credential = await create_credential(runtime, user.id, gcp_standin.secret())
    payload = (
        await gql(VERIFY, {"id": to_global_id("CloudCredential", credential.id)},
                  token=access_token(runtime, user))
    ).ok()["verifyCredential"]  # fmt: skip
    assert payload["health"]["status"] == "HEALTHY"
    assert gcp_standin.hits("/v3/projects/") == 1


async def test_a_slow_answer_is_degraded(
    gql: GraphQLClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given any answer counts as slow
    monkeypatch.setattr("providers.health.DEGRADED_AFTER_MS", -1)
    user = await create_user(runtime)
    credential = await create_credential(runtime, user.id, PRIMARY_SECRET)
    # when
    payload = (
        await gql(VERIFY, {"id": to_global_id("CloudCredential", credential.id)},
                  token=access_token(runtime, user))
    ).ok()["verifyCredential"]  # fmt: skip
    # then
    assert payload["health"]["status"] == "DEGRADED"
    assert payload["health"]["errorMessage"] is None


async def test_another_users_credential_is_not_found_and_untouched(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given bob's credential
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    credential = await create_credential(runtime, bob.id, PRIMARY_SECRET)
    # when alice verifies it
    payload = (
        await gql(VERIFY, {"id": to_global_id("CloudCredential", credential.id)},
                  token=access_token(runtime, alice))
    ).ok()["verifyCredential"]  # fmt: skip
    # then it is indistinguishable from a missing one, and nothing was recorded on it
    assert payload == {
        "health": None,
        "userErrors": [{"field": ["input", "id"], "code": "NOT_FOUND",
                        "message": "No such credential."}],
    }  # fmt: skip
    row = await stored(runtime, credential)
    assert row.health_status == HealthStatus.UNKNOWN and row.last_used_at is None


async def test_verification_requires_authentication(gql: GraphQLClient, runtime: Runtime) -> None:
    user = await create_user(runtime)
    credential = await create_credential(runtime, user.id, PRIMARY_SECRET)
    response = await gql(VERIFY, {"id": to_global_id("CloudCredential", credential.id)})
    assert response.error_codes == ["UNAUTHENTICATED"]


ADD = """
mutation Add($input: AddCredentialInput!) {
  addCredential(input: $input) { credential { id } userErrors { field code message } }
}
"""
CREDENTIALS = "query { credentials { id lastUsedAt health { status errorMessage } } }"


async def test_credentials_added_through_the_api_verify_against_each_cloud(
    gql: GraphQLClient,
    runtime: Runtime,
    azure_standin: AzureStandin,
    gcp_standin: GcpStandin,
) -> None:
    # given one credential per cloud, added through addCredential
    user = await create_user(runtime)
    token = access_token(runtime, user)
    azure = azure_standin.secret()
    gcp = gcp_standin.secret()
    inputs = {
        "aws": {
            "accessKeyId": PRIMARY_SECRET.access_key_id,
            "secretAccessKey": PRIMARY_SECRET.secret_access_key,
        },
        "azure": {
            "tenantId": azure.tenant_id,
            "clientId": azure.client_id,
            "clientSecret": azure.client_secret,
            "subscriptionId": azure.subscription_id,
        },
        "gcp": {"serviceAccountJson": gcp.service_account_json, "projectId": gcp.project_id},
    }
    bodies = []
    for cloud, secret in inputs.items():
        added = await gql(ADD, {"input": {"name": cloud, "secret": {cloud: secret}}}, token=token)
        credential_id = added.ok()["addCredential"]["credential"]["id"]
        # when
        verified = await gql(VERIFY, {"id": credential_id}, token=token)
        # then
        assert verified.ok()["verifyCredential"]["health"]["status"] == "HEALTHY", cloud
        bodies += [str(added.body), str(verified.body)]
    listed = await gql(CREDENTIALS, token=token)
    credentials = listed.ok()["credentials"]
    assert [c["health"]["status"] for c in credentials] == ["HEALTHY"] * 3
    assert all(c["lastUsedAt"] for c in credentials)
    everything = " ".join([*bodies, str(listed.body)])
    for secret_value in (PRIMARY_SECRET.secret_access_key, azure.client_secret, "PRIVATE KEY"):
        assert secret_value not in everything
