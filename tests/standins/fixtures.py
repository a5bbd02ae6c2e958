"""Pytest fixtures for the cloud stand-ins (registered in tests/conftest.py).

- `moto_server` (session): moto's server on 127.0.0.1:0; `aws_cloud`: reset and populated
  with two accounts in three regions (`tests.standins.aws.populate`).
- `azure_standin`: HTTPS Azure AD + ARM stand-in, populated; `azure_standin.ca_bundle` is its CA.
- `gcp_standin`: HTTP Resource Manager + Cloud Asset stand-in, populated.
- `standin_overrides(...)`: Settings overrides pointing the SDKs at whichever stand-ins you pass,
  e.g. `make_settings(database_url, tmp_path, **standin_overrides(aws=aws_cloud))`.
`GOOGLE_APPLICATION_CREDENTIALS` names a missing file in every test (so no test reaches the
GCE metadata server); a test that needs the server's own Google identity writes
`gcp_standin.server_credentials_json()` to a file and points the variable at it.
Every server listens on 127.0.0.1 with an ephemeral port and is stopped by its fixture.

Helpers: `tests.standins.credentials.create_credential(runtime, user_id, secret)` inserts a sealed
credential row; secrets come from `aws_cloud.primary` / `aws_cloud.second` (another account),
`azure_standin.secret()`, `gcp_standin.secret()` (pass a wrong value / key name for auth
failures). Several accounts: `azure_standin.populate_subscriptions()` (a second and a disabled
subscription; `every_subscription_secret()`, `denied_subscriptions`), `federated_secret()` with
`azure_standin.federated_token_file` (the assertion its token endpoint expects);
`gcp_standin.populate_hierarchy()` (an organization, folders and their projects;
`scoped_secret(scope)`, `denied_projects`), `impersonation_secret(scope)` with
`token_creators` (who may call `generateAccessToken` for whom).
Failures: `tests.standins.aws.inject_ec2_error(inventory.events, ...)` (AWS, per operation and
region), `azure_standin.fail(path_fragment, status, times=, retry_after=)` and
`gcp_standin.fail(...)` (429/500/503, `times=-1` for always). Deleting resources between syncs:
moto's own API (`aws_cloud.server.client("s3", "us-east-1").delete_bucket(...)`; a terminated
instance stays listed as TERMINATED, as on AWS) or removing entries from
`azure_standin.resources` / `gcp_standin.assets`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.standins.aws import STANDIN_REGIONS, AwsCloud, MotoServer, populate
from tests.standins.azure import AzureStandin
from tests.standins.gcp import GcpStandin


@pytest.fixture(autouse=True)
def no_google_metadata_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Application Default Credentials name a file that is not there unless a test provides
    one: without the variable google-auth would ask the GCE metadata server (169.254.169.254),
    an address off this machine."""
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-adc.json"))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def aws_cloud(moto_server: MotoServer) -> AwsCloud:
    return populate(moto_server)


@pytest.fixture
def azure_standin(tmp_path: Path) -> Iterator[AzureStandin]:
    server = AzureStandin(tmp_path / "azure-standin-ca.pem")
    server.populate()
    yield server
    server.stop()


@pytest.fixture
def gcp_standin() -> Iterator[GcpStandin]:
    server = GcpStandin()
    server.populate()
    yield server
    server.stop()


def standin_overrides(
    *,
    aws: AwsCloud | MotoServer | None = None,
    azure: AzureStandin | None = None,
    gcp: GcpStandin | None = None,
) -> dict[str, Any]:
    """Settings values that point the real SDKs at the given stand-ins."""
    values: dict[str, Any] = {}
    if aws is not None:
        values["aws_endpoint_url"] = aws.url
        values["aws_sync_regions"] = list(STANDIN_REGIONS)
    if azure is not None:
        values["azure_authority_host"] = azure.url
        values["azure_resource_manager_url"] = azure.url
        values["provider_ca_bundle"] = azure.ca_bundle
    if gcp is not None:
        values["gcp_api_endpoint"] = gcp.url
    return values
