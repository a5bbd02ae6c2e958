"""Keyless and multi-scope credentials end to end: added through `addCredential`, synced by the
server's own engine through the real SDKs against the stand-ins, followed over the WebSocket
subscription; both databases. Nothing secret (the federated token, access tokens) may reach a
response, a log line, a job or any database row."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import db.models  # noqa: F401 (registers every table on Base.metadata)
from db.base import Base
from db.enums import Provider, Role
from db.models import CloudCredentialRow
from graph.app import create_app
from graph.node import from_global_id, to_global_id
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.live_server import live_server
from tests.standins.azure import (
    CLIENT,
    DISABLED_SUBSCRIPTION,
    SECOND_SUBSCRIPTION,
    SUBSCRIPTION,
    TENANT,
    AzureStandin,
)
from tests.standins.fixtures import standin_overrides
from tests.standins.gcp import FOLDER, PROJECT_ID, READER_EMAIL, GcpStandin
from tests.test_sync_end_to_end import ADD_AWS, Served

FEDERATED_TOKEN = "eyJhbGciOiJSUzI1NiJ9.standin-federated-token-e2e.signature"
ACCOUNTS = "query { credentials { accounts { accountId status } } }"
CREDENTIALS = "query { credentials { id provider fingerprint health { status errorMessage } } }"


@pytest.fixture
async def serve(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    servers: list[AbstractAsyncContextManager[str]] = []

    async def start(settings: dict[str, Any] | None = None, **standins: Any) -> Served:
        values = {**standin_overrides(**standins), **(settings or {})}
        app = create_app(make_settings(database_url, tmp_path, sync_interval_minutes=0, **values))
        server = live_server(app)
        servers.append(server)
        return Served(app, await server.__aenter__())

    yield start
    for server in servers:
        await server.__aexit__(None, None, None)


@pytest.fixture
def token_file(tmp_path: Path, azure_standin: AzureStandin) -> Path:
    path = tmp_path / "azure-identity-token"
    path.write_text(FEDERATED_TOKEN)
    azure_standin.federated_token_file = path
    return path


@pytest.fixture
def server_identity(
    gcp_standin: GcpStandin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    path = tmp_path / "server-adc.json"
    path.write_text(gcp_standin.server_credentials_json())
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return path


async def add_via_api(
    served: Served, secret: dict[str, Any], region: str
) -> tuple[CloudCredentialRow, str, list[Any]]:
    """An administrator (only they may bind the server's identity) adds a credential through
    `addCredential`; every response is kept for checks."""
    user = await create_user(served.runtime, role=Role.ADMIN)
    token = access_token(served.runtime, user)
    variables = {"input": {"name": "keyless", "defaultRegion": region, "secret": secret}}
    async with served.http() as http:
        added = (await GraphQLClient(http)(ADD_AWS, variables, token=token)).ok()
        listed = (await GraphQLClient(http)(CREDENTIALS, token=token)).ok()
    assert added["addCredential"]["userErrors"] == []
    _, local_id = from_global_id(added["addCredential"]["credential"]["id"])
    async with served.runtime.database.system_session() as session:
        row = await session.get(CloudCredentialRow, local_id)
    assert row is not None
    return row, token, [added, listed]


async def every_stored_value(served: Served) -> str:
    """Every row of every table as text: a secret must be in none of them."""
    dumped: list[str] = []
    async with served.runtime.database.system_session() as session:
        for table in Base.metadata.sorted_tables:
            dumped += [repr(tuple(row)) for row in (await session.execute(select(table))).all()]
    return "\n".join(dumped)


async def test_an_azure_federated_credential_syncs_with_the_assertion_checked(
    serve: Any,
    azure_standin: AzureStandin,
    token_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a server with a workload-identity token file, and a federated credential for it
    caplog.set_level(logging.DEBUG)
    served: Served = await serve({"azure_federated_token_file": str(token_file)},
                                 azure=azure_standin)  # fmt: skip
    secret = {"azureFederated": {"tenantId": TENANT, "clientId": CLIENT,
                                 "subscriptionId": SUBSCRIPTION}}  # fmt: skip
    credential, token, responses = await add_via_api(served, secret, "eastus")
    # when the user syncs and follows it
    states = await served.sync_and_follow(credential, token)
    # then it signed in with the file's token (never a secret) and stored the subscription
    assert states[-1]["status"] == "SUCCEEDED", states[-1]["errors"]
    token_requests = [r for r in azure_standin.requests if r.path.endswith("/token")]
    assert token_requests and all(b"client_assertion=" in r.body for r in token_requests)
    names = {row.name for row in await served.inventory(credential)}
    assert {"vm-web-1", "stdata", "rg-web", "rg-data"} <= names
    assert responses[1]["credentials"][0]["fingerprint"].startswith("federated client ")
    # and the token is in no response, job, log line or database row
    stored = await every_stored_value(served)
    for text in (repr(responses), repr(states), caplog.text, stored):
        assert FEDERATED_TOKEN not in text
        assert not any(issued in text for issued in azure_standin.tokens)


async def test_an_azure_credential_without_subscription_syncs_every_subscription(
    serve: Any, azure_standin: AzureStandin
) -> None:
    # given a principal that sees two enabled subscriptions and a disabled one
    azure_standin.populate_subscriptions()
    served: Served = await serve(azure=azure_standin)
    credential, token = await served.add_credential(azure_standin.every_subscription_secret())
    # when the existing engine syncs it (the plan of every subscription at once)
    final = (await served.sync_and_follow(credential, token))[-1]
    # then both enabled subscriptions' resources are stored, each with its account, and the
    # disabled one is reported, not listed
    assert final["status"] == "PARTIAL", final
    assert {e["scope"].split(":")[0] for e in final["errors"]} == {DISABLED_SUBSCRIPTION}
    assert all("Disabled" in e["message"] for e in final["errors"])
    rows = {row.name: row for row in await served.inventory(credential)}
    assert rows["vm-second"].account == SECOND_SUBSCRIPTION
    assert rows["vm-web-1"].account == SUBSCRIPTION
    assert "rg-disabled" not in rows
    assert rows["vm-second"].metadata_["_scope"] == f"{SECOND_SUBSCRIPTION}:global/resources"
    # and the owner sees each subscription as an account, with its status
    async with served.http() as http:
        listed = (await GraphQLClient(http)(ACCOUNTS, token=token)).ok()
    (accounts,) = [c["accounts"] for c in listed["credentials"]]
    assert {a["accountId"]: a["status"] for a in accounts} == {
        SUBSCRIPTION: "ACTIVE",
        SECOND_SUBSCRIPTION: "ACTIVE",
        DISABLED_SUBSCRIPTION: "SUSPENDED",
    }

    # when the second subscription is disabled too and the credential syncs again
    azure_standin.subscriptions[SECOND_SUBSCRIPTION]["state"] = "Disabled"
    again = (await served.sync_and_follow(credential, token))[-1]
    # then its inventory is kept as last listed, not marked deleted
    assert again["status"] == "PARTIAL" and again["removed"] == 0, again
    kept = {row.name: row for row in await served.inventory(credential)}
    assert kept["vm-second"].deleted_at is None and kept["rg-second"].deleted_at is None


async def test_a_gcp_impersonation_credential_syncs_through_generate_access_token(
    serve: Any,
    gcp_standin: GcpStandin,
    server_identity: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given the server's own identity may impersonate the reader
    caplog.set_level(logging.DEBUG)
    served: Served = await serve(gcp=gcp_standin)
    secret = {"gcpImpersonation": {"serviceAccountEmail": READER_EMAIL,
                                   "scope": f"projects/{PROJECT_ID}"}}  # fmt: skip
    credential, token, responses = await add_via_api(served, secret, "us-central1")
    # when the user syncs it
    states = await served.sync_and_follow(credential, token)
    # then the project's assets are stored, read with the impersonated token
    assert states[-1]["status"] == "SUCCEEDED", states[-1]["errors"]
    rows = await served.inventory(credential)
    assert {"vm-a", "vm-b", "standin-data", "orders"} <= {row.name for row in rows}
    assert {row.account for row in rows} == {PROJECT_ID}
    assert gcp_standin.impersonated and set(gcp_standin.impersonated.values()) == {READER_EMAIL}
    # and no access token is in a response, job, log line or database row
    stored = await every_stored_value(served)
    issued = [*gcp_standin.impersonated, *gcp_standin.server_tokens]
    for text in (repr(responses), repr(states), caplog.text, stored):
        assert not any(value in text for value in issued)
        assert "PRIVATE KEY" not in text


async def test_a_denied_impersonation_fails_the_job_with_a_message_naming_the_fix(
    serve: Any, gcp_standin: GcpStandin, server_identity: Path
) -> None:
    gcp_standin.token_creators.clear()
    served: Served = await serve(gcp=gcp_standin)
    served.fast_failures()
    secret = gcp_standin.impersonation_secret()
    credential, token = await served.add_credential(secret)
    final = (await served.sync_and_follow(credential, token))[-1]
    assert final["status"] == "FAILED"
    (error,) = {(e["code"], e["message"]) for e in final["errors"]}
    assert error[0] == "AUTH_FAILED"
    assert READER_EMAIL in error[1] and "roles/iam.serviceAccountTokenCreator" in error[1]


async def test_a_gcp_folder_credential_syncs_each_project_and_one_denied_fails_alone(
    serve: Any, gcp_standin: GcpStandin
) -> None:
    # given a folder of two active projects, one of which refuses its search, and one project
    # pending deletion
    gcp_standin.populate_hierarchy()
    gcp_standin.denied_projects.add("standin-nested")
    served: Served = await serve(gcp=gcp_standin)
    served.fast_failures()
    credential, token = await served.add_credential(gcp_standin.scoped_secret(FOLDER))
    # when the existing engine syncs it
    final = (await served.sync_and_follow(credential, token))[-1]
    # then the readable project is stored and the denied one is the job's only error
    assert final["status"] == "PARTIAL", final
    # (an engine that splits the work per account reports the suspended one as a whole)
    assert sorted((e["scope"].split(":")[0], e["code"]) for e in final["errors"]) == [
        ("standin-leaving", "PROVIDER_ERROR"),  # pending deletion: kept, not listed
        ("standin-nested", "PERMISSION_DENIED"),
    ]
    rows = await served.inventory(credential)
    assert {row.account for row in rows} == {PROJECT_ID}
    assert all(row.provider == Provider.GCP for row in rows)


async def test_attack_a_user_cannot_borrow_the_servers_identity_to_read_someone_elses_cloud(
    serve: Any, gcp_standin: GcpStandin, server_identity: Path, azure_standin: AzureStandin,
    token_file: Path,
) -> None:  # fmt: skip
    # given the server's identity may impersonate a customer's reader and sign in to a
    # customer's app registration (the customer set both up for their own account)
    served: Served = await serve({"azure_federated_token_file": str(token_file)},
                                 gcp=gcp_standin, azure=azure_standin)  # fmt: skip
    mallory = await create_user(served.runtime)
    token = access_token(served.runtime, mallory)
    borrowed = [
        {"gcpImpersonation": {"serviceAccountEmail": READER_EMAIL,
                              "scope": f"projects/{PROJECT_ID}"}},
        {"azureFederated": {"tenantId": TENANT, "clientId": CLIENT}},
    ]  # fmt: skip
    # when another user names those principals in credentials of their own
    async with served.http() as http:
        answers = [
            (await GraphQLClient(http)(ADD_AWS, {"input": {"name": f"borrowed-{i}",
                                                           "secret": secret}}, token=token)).ok()
            for i, secret in enumerate(borrowed)
        ]  # fmt: skip
    # then nothing is stored: only an administrator may bind the server's own identity
    for answer in answers:
        assert answer["addCredential"]["credential"] is None
        (error,) = answer["addCredential"]["userErrors"]
        assert error["code"] == "ADMIN_REQUIRED"
    async with served.runtime.database.system_session() as session:
        assert (await session.scalars(select(CloudCredentialRow))).all() == []
    assert not gcp_standin.impersonated


VERIFY = """
mutation Verify($id: ID!) {
  verifyCredential(input: {id: $id}) { health { status errorMessage } userErrors { code } }
}
"""


async def test_verify_reports_keyless_sign_in_and_a_missing_token_file_clearly(
    serve: Any, azure_standin: AzureStandin, gcp_standin: GcpStandin, token_file: Path,
    server_identity: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # shared CPUs make wall time noisy: HEALTHY vs DEGRADED is not what this test is about
    monkeypatch.setattr("providers.health.DEGRADED_AFTER_MS", 60_000)
    # given a server whose federated token file is gone, and one where it is present
    missing = tmp_path / "gone" / "token"
    broken: Served = await serve({"azure_federated_token_file": str(missing)},
                                 azure=azure_standin)  # fmt: skip
    working: Served = await serve({"azure_federated_token_file": str(token_file)},
                                  azure=azure_standin, gcp=gcp_standin)  # fmt: skip
    health = []
    for served, secret in ((broken, azure_standin.federated_secret()),
                           (working, azure_standin.federated_secret(None)),
                           (working, gcp_standin.impersonation_secret(FOLDER))):  # fmt: skip
        credential, token = await served.add_credential(secret)
        async with served.http() as http:
            answer = await GraphQLClient(http)(
                VERIFY, {"id": to_global_id("CloudCredential", credential.id)}, token=token
            )
        health.append(answer.ok()["verifyCredential"]["health"])
    # then the missing file is an ERROR naming the setting (not the path), the others work
    assert health[0]["status"] == "ERROR"
    assert "AZURE_FEDERATED_TOKEN_FILE" in health[0]["errorMessage"]
    assert str(missing) not in health[0]["errorMessage"]
    assert [h["status"] for h in health[1:]] == ["HEALTHY", "HEALTHY"]
