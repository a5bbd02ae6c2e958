"""Azure credentials of every subscription, and federated sign-in, against the HTTPS stand-in
through azure-identity, azure-mgmt-resource and azure-mgmt-resource-subscriptions."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from db.enums import AccountStatus
from providers.azure import RESOURCE_GROUPS_SCOPE, RESOURCES_SCOPE, AzureInventory
from providers.azure_identity import token_file_reader
from providers.azure_subscriptions import AzureSubscriptionsInventory
from providers.base import (
    ERROR_AUTH,
    ERROR_PERMISSION,
    MultiAccountInventory,
    ProviderError,
    RetryPolicy,
    Scope,
)
from providers.secrets import AzureFederatedSecret, AzureSecret
from tests.standins.azure import (
    DISABLED_SUBSCRIPTION,
    SECOND_SUBSCRIPTION,
    SUBSCRIPTION,
    AzureStandin,
)

FAST = RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.05)
FEDERATED_TOKEN = "eyJhbGciOiJSUzI1NiJ9.standin-federated-token-0001.signature"


def build(
    standin: AzureStandin,
    secret: AzureSecret | AzureFederatedSecret,
    token_file: Path | None = None,
) -> AzureInventory:
    kind = AzureInventory if secret.subscription_id else AzureSubscriptionsInventory
    return kind(
        secret,
        authority_host=standin.url,
        resource_manager_url=standin.url,
        ca_bundle=standin.ca_bundle,
        retry=FAST,
        federated_token_file=str(token_file) if token_file else None,
    )


@pytest.fixture
def token_file(tmp_path: Path, azure_standin: AzureStandin) -> Path:
    path = tmp_path / "azure-identity-token"
    path.write_text(FEDERATED_TOKEN)
    azure_standin.federated_token_file = path
    return path


async def test_without_a_subscription_every_enabled_one_is_listed_as_an_account(
    azure_standin: AzureStandin,
) -> None:
    # given a principal that sees three subscriptions, one of them disabled
    azure_standin.populate_subscriptions()
    inv = build(azure_standin, azure_standin.every_subscription_secret())
    assert isinstance(inv, MultiAccountInventory)
    # when
    accounts = {a.account_id: a for a in await inv.accounts()}
    # then each is an account with its state mapped
    assert {k: a.status for k, a in accounts.items()} == {
        SUBSCRIPTION: AccountStatus.ACTIVE,
        SECOND_SUBSCRIPTION: AccountStatus.ACTIVE,
        DISABLED_SUBSCRIPTION: AccountStatus.SUSPENDED,
    }
    assert accounts[SECOND_SUBSCRIPTION].name == "Second subscription"
    disabled = accounts[DISABLED_SUBSCRIPTION].error
    assert disabled is not None and "Disabled" in disabled.message
    # and each active subscription's scopes carry its id, listing its own records
    scopes = await inv.plan_account(accounts[SECOND_SUBSCRIPTION])
    assert [s.key for s in scopes] == [
        f"{SECOND_SUBSCRIPTION}:global/{RESOURCE_GROUPS_SCOPE.kind}",
        f"{SECOND_SUBSCRIPTION}:global/{RESOURCES_SCOPE.kind}",
    ]
    records = [r for scope in scopes for r in await inv.list_scope(scope)]
    assert sorted(r.name for r in records) == ["rg-second", "vm-second"]
    assert {r.account for r in records} == {SECOND_SUBSCRIPTION}
    # plan() is every subscription at once: the disabled one's scopes fail with its reason
    # (so an engine planning everything keeps its rows), the others list
    planned = await inv.plan()
    assert {s.account for s in planned} == set(accounts)
    everything, refused = [], []
    for scope in planned:
        try:
            everything += await inv.list_scope(scope)
        except ProviderError as error:
            refused.append((scope.account, error.message))
    assert {r.account for r in everything} == {SUBSCRIPTION, SECOND_SUBSCRIPTION}
    assert len(everything) == 2 + 8 + 2
    assert refused == [(DISABLED_SUBSCRIPTION, disabled.message)] * 2
    assert not azure_standin.hits(DISABLED_SUBSCRIPTION)
    await inv.close()


async def test_a_named_subscription_keeps_the_single_account_scopes(
    azure_standin: AzureStandin,
) -> None:
    # given the stored credential names one subscription among several
    azure_standin.populate_subscriptions()
    inv = build(azure_standin, azure_standin.secret())
    # then it is not multi-account, and its scope keys are those stored before
    assert not isinstance(inv, MultiAccountInventory)
    assert [s.key for s in await inv.plan()] == ["global/Microsoft.Resources/resourceGroups",
                                                 "global/resources"]  # fmt: skip
    records = await inv.list_scope(RESOURCES_SCOPE)
    assert {r.account for r in records} == {SUBSCRIPTION}


async def test_a_denied_subscription_fails_only_its_own_listing(
    azure_standin: AzureStandin,
) -> None:
    # given the principal has no role on the second subscription
    azure_standin.populate_subscriptions()
    azure_standin.denied_subscriptions.add(SECOND_SUBSCRIPTION)
    inv = build(azure_standin, azure_standin.every_subscription_secret())
    # when every planned scope of an enabled subscription is listed
    failed: dict[str, ProviderError] = {}
    listed: list[Scope] = []
    assert isinstance(inv, MultiAccountInventory)
    active = [a for a in await inv.accounts() if a.status == AccountStatus.ACTIVE]
    for scope in [scope for account in active for scope in await inv.plan_account(account)]:
        try:
            await inv.list_scope(scope)
            listed.append(scope)
        except ProviderError as error:
            failed[scope.key] = error
    # then the denied subscription's scopes fail with its id named, the other one lists
    assert {s.account for s in listed} == {SUBSCRIPTION}
    assert set(failed) == {f"{SECOND_SUBSCRIPTION}:global/{k}"
                           for k in (RESOURCE_GROUPS_SCOPE.kind, RESOURCES_SCOPE.kind)}  # fmt: skip
    assert {e.code for e in failed.values()} == {ERROR_PERMISSION}
    assert all(SECOND_SUBSCRIPTION in e.message for e in failed.values())


async def test_a_principal_that_sees_no_subscription_fails_verification(
    azure_standin: AzureStandin,
) -> None:
    azure_standin.subscriptions.clear()
    with pytest.raises(ProviderError) as failure:
        await build(azure_standin, azure_standin.every_subscription_secret()).verify()
    assert failure.value.code == ERROR_PERMISSION
    assert "Reader" in failure.value.message


async def test_federated_sign_in_presents_the_token_file_as_a_client_assertion(
    azure_standin: AzureStandin, token_file: Path
) -> None:
    # given a federated credential and the token file the stand-in checks
    inv = build(azure_standin, azure_standin.federated_secret(), token_file)
    # when it verifies and lists
    await inv.verify()
    assert len(await inv.list_scope(RESOURCES_SCOPE)) == 8
    # then the token endpoint saw a client assertion, never a client secret
    (first,) = [r for r in azure_standin.requests if r.path.endswith("/oauth2/v2.0/token")]
    assert b"client_assertion_type=urn" in first.body and b"client_secret" not in first.body


async def test_federated_sign_in_with_a_token_the_app_does_not_trust_is_auth_failed(
    azure_standin: AzureStandin, token_file: Path, tmp_path: Path
) -> None:
    # given the server's file holds another token than the one the app registration trusts
    stale = tmp_path / "stale-token"
    stale.write_text("eyJ.a-token-nobody-trusts.sig")
    with pytest.raises(ProviderError) as failure:
        await build(azure_standin, azure_standin.federated_secret(), stale).verify()
    # then the refusal is ours, naming the setting, quoting neither token nor Azure AD
    assert failure.value.code == ERROR_AUTH
    assert "federated" in failure.value.message
    assert "AZURE_FEDERATED_TOKEN_FILE" in failure.value.message
    assert "a-token-nobody-trusts" not in failure.value.message
    assert "AADSTS" not in failure.value.message


@pytest.mark.parametrize("problem", ["missing", "unreadable", "empty", "unset"])
async def test_a_token_file_that_cannot_be_used_is_a_clear_auth_error(
    azure_standin: AzureStandin,
    token_file: Path,
    tmp_path: Path,
    problem: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given the token file is missing, a directory (unreadable), empty, or not configured
    path: Path | None = tmp_path / "nowhere" / "token"
    if problem == "unreadable":
        path = tmp_path / "a-directory"
        path.mkdir()
    elif problem == "empty":
        path = tmp_path / "empty-token"
        path.write_text("")
    elif problem == "unset":
        path = None
    caplog.set_level(logging.DEBUG)
    inv = build(azure_standin, azure_standin.federated_secret(), path)
    # when it verifies, and when it lists (the token is then asked for inside the ARM pipeline)
    with pytest.raises(ProviderError) as failure:
        await inv.verify()
    with pytest.raises(ProviderError) as listing:
        await inv.list_scope(RESOURCES_SCOPE)
    # then AUTH_FAILED names the setting; the path goes to the operator's log, not the owner
    assert listing.value.code == failure.value.code == ERROR_AUTH
    assert listing.value.message == failure.value.message
    assert "AZURE_FEDERATED_TOKEN_FILE" in failure.value.message
    assert str(tmp_path) not in failure.value.message
    assert FEDERATED_TOKEN not in caplog.text
    assert not [r for r in azure_standin.requests if r.path.endswith("/token")]


async def test_the_federated_token_never_reaches_a_log_or_an_error(
    azure_standin: AzureStandin, token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given every logger at DEBUG (the SDKs included: quiet_sdk_loggers is not called here)
    caplog.set_level(logging.DEBUG)
    inv = build(azure_standin, azure_standin.federated_secret(None), token_file)
    azure_standin.fail("/resources", 403, times=-1)
    # when it signs in, lists, and fails a listing
    await inv.verify()
    with pytest.raises(ProviderError) as failure:
        await inv.list_scope(Scope("global", RESOURCES_SCOPE.kind, account=SUBSCRIPTION))
    # then the token file's content appears in neither
    assert FEDERATED_TOKEN not in caplog.text
    assert FEDERATED_TOKEN not in failure.value.message
    assert FEDERATED_TOKEN not in repr(azure_standin.federated_secret())


def test_the_assertion_is_read_afresh_for_every_token_request(tmp_path: Path) -> None:
    # given the callback azure-identity calls for each token request
    path = tmp_path / "token"
    path.write_text("first-token\n")
    read = token_file_reader(str(path))
    assert read() == "first-token"
    # when the platform rotates the file, then the next request presents the new token
    path.write_text("second-token")
    assert read() == "second-token"
