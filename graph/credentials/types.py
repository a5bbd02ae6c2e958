"""GraphQL types of the credentials domain. No field here can ever return a secret."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db.models import CloudCredential as CredentialRow
from graph.enums import HealthStatus, Provider
from graph.node import Node, to_global_id


@strawberry.type(description="The result of the last identity check of a credential.")
class ProviderHealth:
    status: HealthStatus = strawberry.field(description="HEALTHY, DEGRADED, ERROR or UNKNOWN.")
    response_time_ms: int | None = strawberry.field(
        description="How long the identity call took, in milliseconds."
    )
    checked_at: datetime | None = strawberry.field(description="When it was checked.")
    error_message: str | None = strawberry.field(
        description="Why the check failed, in words safe to show (never a secret)."
    )

    @classmethod
    def from_row(cls, row: CredentialRow) -> ProviderHealth:
        return cls(
            status=HealthStatus(row.health_status.value),
            response_time_ms=row.health_response_ms,
            checked_at=row.health_checked_at,
            error_message=row.health_error,
        )


@strawberry.type(description="A cloud credential kept encrypted in the vault.")
class CloudCredential(Node):
    provider: Provider = strawberry.field(description="Which cloud the credential is for.")
    name: str = strawberry.field(description="The owner's name for it, unique per owner.")
    default_region: str = strawberry.field(description="Region used when none is given.")
    fingerprint: str = strawberry.field(
        description="A non-secret hint to recognize the key (e.g. AKIA…MPLE)."
    )
    created_at: datetime = strawberry.field(description="When it was added.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    last_used_at: datetime | None = strawberry.field(
        description="When a provider call last used it."
    )
    health: ProviderHealth = strawberry.field(description="The last identity check.")

    @classmethod
    def from_row(cls, row: CredentialRow) -> CloudCredential:
        return cls(
            id=to_global_id("CloudCredential", row.id),
            provider=Provider(row.provider.value),
            name=row.name,
            default_region=row.default_region,
            fingerprint=row.fingerprint,
            created_at=row.created_at,
            updated_at=row.updated_at,
            last_used_at=row.last_used_at,
            health=ProviderHealth.from_row(row),
        )
