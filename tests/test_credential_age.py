"""Credential age: `secretRotatedAt` / `secretAgeDays` follow the secret itself (not edits, not
key rotation), and long-lived cloud keys past KEY_MAX_AGE_DAYS are reported to their owner once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from db.enums import AuditOutcome
from db.models import AuditEventRow, CloudCredentialRow
from db.types import utcnow
from graph.runtime import Runtime
from security.vault import Vault
from stratograph.key_rotation import rotate_keys
from sync.maintenance import SECRET_AGE_ACTION, report_old_secrets
from tests.credential_data import aws_secret, azure_secret
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.vault_helpers import new_key

ADD = """
mutation Add($input: AddCredentialInput!) {
  addCredential(input: $input) {
    credential { id secretRotatedAt secretAgeDays }
    userErrors { code }
  }
}
"""
UPDATE = """
mutation Update($input: UpdateCredentialInput!) {
  updateCredential(input: $input) {
    credential { id secretRotatedAt secretAgeDays }
    userErrors { code }
  }
}
"""
LIST = "query { credentials { name secretRotatedAt secretAgeDays } }"


async def _age(runtime: Runtime, days: int) -> None:
    """Make every stored secret `days` old."""
    async with runtime.database.system_session() as session:
        await session.execute(
            update(CloudCredentialRow).values(secret_rotated_at=utcnow() - timedelta(days=days))
        )


async def _secret_age_events(runtime: Runtime) -> list[AuditEventRow]:
    async with runtime.database.system_session() as session:
        return list(
            (
                await session.scalars(
                    select(AuditEventRow).where(AuditEventRow.action == SECRET_AGE_ACTION)
                )
            ).all()
        )


async def test_rotated_at_follows_the_secret_not_edits_or_key_rotation(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given a credential stored 100 days ago
    user = await create_user(runtime)
    token = access_token(runtime, user)
    added = (
        await gql(ADD, {"input": {"name": "prod", "secret": aws_secret().input}}, token=token)
    ).ok()
    credential_id = added["addCredential"]["credential"]["id"]
    assert added["addCredential"]["credential"]["secretAgeDays"] == 0
    await _age(runtime, 100)

    # when it is renamed, and the vault key is rotated under it
    await gql(UPDATE, {"input": {"id": credential_id, "name": "production"}}, token=token)
    ring = {"k9": new_key(), **runtime.settings.vault_keys}
    await rotate_keys(runtime.database, Vault(ring), progress=False)
    # then the secret is still 100 days old
    (listed,) = (await gql(LIST, token=token)).ok()["credentials"]
    assert listed["secretAgeDays"] == 100

    # when the secret itself is replaced: then its age starts again
    replaced = await gql(
        UPDATE, {"input": {"id": credential_id, "secret": aws_secret().input}}, token=token
    )
    assert replaced.ok()["updateCredential"]["credential"]["secretAgeDays"] == 0


async def test_old_long_lived_secrets_are_reported_once_to_their_owner(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given an AWS access key, an Azure client secret and temporary AWS credentials, 91 days old
    user = await create_user(runtime)
    token = access_token(runtime, user)
    temporary = aws_secret(with_session_token=True)
    temporary.input["aws"]["accessKeyId"] = "ASIA" + temporary.input["aws"]["accessKeyId"][4:]
    for name, secret in (("keys", aws_secret()), ("sp", azure_secret()), ("sts", temporary)):
        await gql(ADD, {"input": {"name": name, "secret": secret.input}}, token=token)
    await _age(runtime, 91)

    # when the housekeeping runs twice
    now = utcnow()
    assert await report_old_secrets(runtime.database, timedelta(days=90), now) == 2
    assert await report_old_secrets(runtime.database, timedelta(days=90), now) == 0

    # then the owner has one security event per long-lived secret, without any secret in it
    events = await _secret_age_events(runtime)
    assert len(events) == 2
    assert {e.user_id for e in events} == {user.id}
    assert all(e.outcome == AuditOutcome.FAILURE for e in events)
    assert {e.details["provider"] for e in events} == {"AWS", "AZURE"}
    assert all(e.details["secret_age_days"] == 91 for e in events)
    assert "awsSECRET" not in repr([e.details for e in events])

    # when a reported secret is replaced and ages again: then it is reported again
    async with runtime.database.system_session() as session:
        keys = (
            await session.scalars(
                select(CloudCredentialRow).where(CloudCredentialRow.name == "keys")
            )
        ).one()
    await gql(
        UPDATE,
        {"input": {"id": _global_id(keys.id), "secret": aws_secret().input}},
        token=token,
    )
    assert await report_old_secrets(runtime.database, timedelta(days=90), now) == 0
    await _age(runtime, 95)
    assert await report_old_secrets(runtime.database, timedelta(days=90), utcnow()) == 1


def _global_id(row_id: uuid.UUID) -> str:
    from graph.node import to_global_id

    return str(to_global_id("CloudCredential", row_id))
