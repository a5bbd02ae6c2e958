"""Secrets at rest: bound to row and owner, unreadable without their key, absent from dumps."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core.settings import Settings
from db.models import CloudCredentialRow
from graph.runtime import Runtime
from providers.base import ProviderError
from providers.secrets import AwsSecret
from providers.vault_access import SecretUnavailable, open_secret
from security.vault import Vault, VaultError
from tests.credential_data import all_secrets
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.test_credentials_api import ADD
from tests.vault_helpers import database_dump, new_key, seal_rows


async def _rows(runtime: Runtime) -> dict[str, CloudCredentialRow]:
    async with runtime.database.system_session() as session:
        rows = (await session.scalars(select(CloudCredentialRow))).all()
    return {row.name: row for row in rows}


async def test_ciphertext_moved_to_another_row_or_user_fails_to_open(runtime: Runtime) -> None:
    # given alice's two credentials and bob's one
    alice, bob = await create_user(runtime), await create_user(runtime)
    await seal_rows(runtime.database, runtime.vault, [alice.id, alice.id, bob.id], 3)
    rows = await _rows(runtime)
    source, same_owner, other_owner = rows["cred-00000"], rows["cred-00001"], rows["cred-00002"]
    stolen = {"key_id": source.key_id, "ciphertext": source.ciphertext}
    # when the ciphertext is copied into alice's other row and into bob's row
    async with runtime.database.system_session() as session:
        for target in (same_owner, other_owner):
            await session.execute(
                update(CloudCredentialRow)
                .where(CloudCredentialRow.id == target.id)
                .values(**stolen)
            )
    rows = await _rows(runtime)
    # then only the original row opens it
    assert isinstance(open_secret(rows["cred-00000"], runtime.vault), AwsSecret)
    for name in ("cred-00001", "cred-00002"):
        with pytest.raises(SecretUnavailable) as caught:
            open_secret(rows[name], runtime.vault)
        assert caught.value.code == "VAULT_SECRET_UNREADABLE"


async def test_unknown_key_id_is_a_clear_provider_error(runtime: Runtime) -> None:
    # given a credential sealed with key k1, and a server whose ring no longer has k1
    user = await create_user(runtime)
    await seal_rows(runtime.database, runtime.vault, [user.id], 1)
    row = (await _rows(runtime))["cred-00000"]
    stranger = Vault({"k9": new_key()})
    # when a provider opens it
    with pytest.raises(SecretUnavailable) as caught:
        open_secret(row, stranger)
    # then the error says which key is missing and what to do, and fits the provider layer
    error = caught.value
    assert isinstance(error, ProviderError) and isinstance(error, VaultError)
    assert error.code == "VAULT_KEY_UNKNOWN"
    assert "'k1'" in error.message and "ENCRYPTION_KEYS" in error.message
    assert error.__cause__ is None and error.__suppress_context__


async def test_database_dump_contains_no_submitted_secret(
    gql: GraphQLClient, runtime: Runtime, settings: Settings
) -> None:
    # given credentials of every provider added through the API
    token = access_token(runtime, await create_user(runtime))
    submitted = all_secrets()
    for n, secret in enumerate(submitted):
        variables = {"input": {"name": f"dumped-credential-{n}", "secret": secret.input}}
        assert (await gql(ADD, variables, token=token)).ok()["addCredential"]["userErrors"] == []
    # when the whole database is dumped
    dump = await database_dump(settings.database_url)
    # then the names are there (the dump is real) and no secret is
    assert b"dumped-credential-2" in dump
    for secret in submitted:
        for text in secret.secret_strings:
            assert text.encode() not in dump


async def test_fingerprint_is_only_a_hint(gql: GraphQLClient, runtime: Runtime) -> None:
    token = access_token(runtime, await create_user(runtime))
    for n, secret in enumerate(all_secrets()):
        variables = {"input": {"name": f"c{n}", "secret": secret.input}}
        fingerprint = (await gql(ADD, variables, token=token)).ok()["addCredential"]["credential"][
            "fingerprint"
        ]
        assert 0 < len(fingerprint) <= 64
        assert not any(text in fingerprint for text in secret.secret_strings)
        if "aws" in secret.input:
            # an access key id is not a secret, but the hint still shows only 8 of its characters
            assert secret.input["aws"]["accessKeyId"] not in fingerprint
