"""GCP credentials scoped to a folder or organization, and impersonation, against the stand-in
through the real REST clients and google-auth's impersonated credentials."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.enums import AccountStatus
from providers.base import (
    ERROR_AUTH,
    ERROR_PERMISSION,
    MultiAccountInventory,
    ProviderError,
    RetryPolicy,
)
from providers.gcp import ASSETS_SCOPE, GcpInventory
from providers.gcp_folders import gcp_inventory
from providers.gcp_identity import iam_endpoint
from providers.secrets import GcpImpersonationSecret, GcpSecret
from tests.standins.gcp import (
    FOLDER,
    ORGANIZATION,
    PROJECT_ID,
    READER_EMAIL,
    SERVER_EMAIL,
    GcpStandin,
)

FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, timeout=1.0)


def build(standin: GcpStandin, secret: GcpSecret | GcpImpersonationSecret) -> GcpInventory:
    return gcp_inventory(secret, api_endpoint=standin.url, retry=FAST)


@pytest.fixture
def server_identity(
    gcp_standin: GcpStandin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The server's Application Default Credentials: a service-account file whose token_uri is
    the stand-in's."""
    path = tmp_path / "server-adc.json"
    path.write_text(gcp_standin.server_credentials_json())
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    yield path


async def test_a_folder_scope_lists_its_projects_as_accounts_and_their_assets(
    gcp_standin: GcpStandin,
) -> None:
    # given a folder holding a project, a subfolder's project and one being deleted
    gcp_standin.populate_hierarchy()
    inv = build(gcp_standin, gcp_standin.scoped_secret(FOLDER))
    assert isinstance(inv, MultiAccountInventory)
    # when
    await inv.verify()
    accounts = {a.account_id: a for a in await inv.accounts()}
    # then every project below the folder, at any depth, is an account (the other folder's not)
    assert {k: a.status for k, a in accounts.items()} == {
        PROJECT_ID: AccountStatus.ACTIVE,
        "standin-nested": AccountStatus.ACTIVE,
        "standin-leaving": AccountStatus.SUSPENDED,
    }
    leaving = accounts["standin-leaving"].error
    assert leaving is not None and "DELETE_REQUESTED" in leaving.message
    # and each project's scope lists that project's assets with its id as account
    (scope,) = await inv.plan_account(accounts["standin-nested"])
    assert scope.key == "standin-nested:global/assets"
    (nested,) = await inv.list_scope(scope)
    assert (nested.name, nested.account) == ("vm-nested", "standin-nested")
    # plan() is every project at once: the one pending deletion fails with its reason
    planned = await inv.plan()
    assert {s.account for s in planned} == set(accounts)
    records, refused = [], []
    for planned_scope in planned:
        try:
            records += await inv.list_scope(planned_scope)
        except ProviderError as error:
            refused.append((planned_scope.account, error.message))
    assert len(records) == 7 + 1
    assert {r.account for r in records} == {PROJECT_ID, "standin-nested"}
    assert refused == [("standin-leaving", leaving.message)]
    await inv.close()


async def test_an_organization_scope_covers_every_folder(gcp_standin: GcpStandin) -> None:
    gcp_standin.populate_hierarchy()
    inv = build(gcp_standin, gcp_standin.scoped_secret(ORGANIZATION))
    assert isinstance(inv, MultiAccountInventory)
    ids = {a.account_id for a in await inv.accounts()}
    assert ids == {PROJECT_ID, "standin-nested", "standin-leaving", "standin-elsewhere"}


async def test_without_a_scope_or_with_a_project_scope_the_keys_are_unchanged(
    gcp_standin: GcpStandin, server_identity: Path
) -> None:
    for secret in (gcp_standin.secret(), gcp_standin.impersonation_secret()):
        inv = build(gcp_standin, secret)
        assert not isinstance(inv, MultiAccountInventory)
        assert inv.project_id == PROJECT_ID
        assert [s.key for s in await inv.plan()] == [ASSETS_SCOPE.key] == ["global/assets"]


async def test_a_denied_project_fails_only_its_own_listing(gcp_standin: GcpStandin) -> None:
    # given the service account has no role on the nested project
    gcp_standin.populate_hierarchy()
    gcp_standin.denied_projects.add("standin-nested")
    inv = build(gcp_standin, gcp_standin.scoped_secret(FOLDER))
    outcomes: dict[str, int | ProviderError] = {}
    # when every planned scope of an active project is listed
    assert isinstance(inv, MultiAccountInventory)
    active = [a for a in await inv.accounts() if a.status == AccountStatus.ACTIVE]
    for scope in [scope for account in active for scope in await inv.plan_account(account)]:
        try:
            outcomes[scope.account] = len(await inv.list_scope(scope))
        except ProviderError as error:
            outcomes[scope.account] = error
    # then only that project failed, PERMISSION_DENIED naming it
    assert outcomes[PROJECT_ID] == 7
    denied = outcomes["standin-nested"]
    assert isinstance(denied, ProviderError) and denied.code == ERROR_PERMISSION
    assert "standin-nested" in denied.message


async def test_an_unknown_folder_fails_discovery(gcp_standin: GcpStandin) -> None:
    inv = build(gcp_standin, gcp_standin.scoped_secret("folders/999"))
    assert isinstance(inv, MultiAccountInventory)
    with pytest.raises(ProviderError) as failure:
        await inv.accounts()
    assert failure.value.code == ERROR_PERMISSION


async def test_impersonation_lists_through_generate_access_token(
    gcp_standin: GcpStandin, server_identity: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given the server's identity may mint the reader's tokens
    caplog.set_level(logging.DEBUG)
    inv = build(gcp_standin, gcp_standin.impersonation_secret())
    # when it verifies and lists
    await inv.verify()
    records = await inv.list_scope(ASSETS_SCOPE)
    await inv.close()
    # then the server signed in as itself, then called generateAccessToken for the reader
    assert len(records) == 7
    assert gcp_standin.hits(f"/serviceAccounts/{READER_EMAIL}:generateAccessToken") == 1
    (token,) = gcp_standin.impersonated
    assert gcp_standin.impersonated[token] == READER_EMAIL
    # and no token appears in any log line
    for secret in (token, *gcp_standin.server_tokens):
        assert secret not in caplog.text


async def test_impersonation_of_a_folder(gcp_standin: GcpStandin, server_identity: Path) -> None:
    gcp_standin.populate_hierarchy()
    inv = build(gcp_standin, gcp_standin.impersonation_secret(FOLDER))
    assert isinstance(inv, MultiAccountInventory)
    assert len(await inv.accounts()) == 3


async def test_impersonation_denied_names_the_account_and_the_role(
    gcp_standin: GcpStandin, server_identity: Path
) -> None:
    # given the server's identity holds no Token Creator role on the reader
    gcp_standin.token_creators[READER_EMAIL].discard(SERVER_EMAIL)
    inv = build(gcp_standin, gcp_standin.impersonation_secret())
    # when / then
    with pytest.raises(ProviderError) as failure:
        await inv.list_scope(ASSETS_SCOPE)
    assert failure.value.code == ERROR_AUTH
    assert READER_EMAIL in failure.value.message
    assert "roles/iam.serviceAccountTokenCreator" in failure.value.message
    assert "PERMISSION_DENIED" not in failure.value.message  # our words, not Google's body
    assert not gcp_standin.impersonated


async def test_impersonation_without_a_server_identity_is_a_clear_auth_error(
    gcp_standin: GcpStandin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given ADC names a file that is not there (no metadata server is ever asked)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(ProviderError) as failure:
        build(gcp_standin, gcp_standin.impersonation_secret())
    assert failure.value.code == ERROR_AUTH
    assert "Application Default Credentials" in failure.value.message
    assert str(tmp_path) not in failure.value.message


def test_the_iam_endpoint_follows_gcp_api_endpoint() -> None:
    assert iam_endpoint(None, READER_EMAIL) is None
    assert iam_endpoint("http://127.0.0.1:9/", READER_EMAIL) == (
        f"http://127.0.0.1:9/v1/projects/-/serviceAccounts/{READER_EMAIL}:generateAccessToken"
    )
    assert iam_endpoint(
        "https://{service}-psc.p.googleapis.com", "a@b.iam.gserviceaccount.com"
    ) == (
        "https://iamcredentials-psc.p.googleapis.com/v1/projects/-/serviceAccounts/"
        "a@b.iam.gserviceaccount.com:generateAccessToken"
    )


async def test_impersonation_over_https_trusts_the_ca_bundle_for_token_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the stand-in on HTTPS with a private CA, the server's ADC refreshing through it
    standin = GcpStandin(ca_path=tmp_path / "gcp-ca.pem")
    standin.populate()
    adc = tmp_path / "adc.json"
    adc.write_text(standin.server_credentials_json())
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    try:
        inv = gcp_inventory(standin.impersonation_secret(), api_endpoint=standin.url,
                            ca_bundle=standin.ca_bundle, retry=FAST)  # fmt: skip
        # when / then the token calls (ADC grant, generateAccessToken) trust the bundle too
        assert len(await inv.list_scope(ASSETS_SCOPE)) == 7
        assert standin.impersonated
    finally:
        standin.stop()
