"""Credential rows inserted directly (sealed with the vault), for tests that need one."""

from __future__ import annotations

import uuid

from db.enums import Provider
from db.models import CloudCredentialRow
from graph.runtime import Runtime
from providers.secrets import CloudSecret, provider_of
from providers.vault_access import seal_into

DEFAULT_REGIONS = {Provider.AWS: "us-east-1", Provider.AZURE: "eastus", Provider.GCP: "us-central1"}


async def create_credential(
    runtime: Runtime,
    user_id: uuid.UUID,
    secret: CloudSecret,
    *,
    name: str | None = None,
    default_region: str | None = None,
) -> CloudCredentialRow:
    provider = provider_of(secret)
    row = CloudCredentialRow(
        id=uuid.uuid4(),
        user_id=user_id,
        provider=provider,
        name=name or f"{provider.value.lower()}-{uuid.uuid4().hex[:6]}",
        default_region=default_region or DEFAULT_REGIONS[provider],
    )
    seal_into(row, secret, runtime.vault)
    async with runtime.database.system_session() as session:
        session.add(row)
    return row
