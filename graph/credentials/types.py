"""GraphQL types of the credentials domain. No field here can ever return a secret."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from db.models import CloudCredentialRow
from db.types import utcnow
from graph.connections.keyset import PageRequest, make_page
from graph.connections.types import AfterArg, FirstArg, binding, codec, decode_start
from graph.context import Info
from graph.credentials.accounts import CloudAccount
from graph.credentials.loaders import accounts_by_credential, credential_by_id
from graph.enums import HealthStatus, Provider
from graph.inventory.filters import ResourceCriteria, ResourceFilter
from graph.inventory.loaders import (
    CREDENTIAL_RESOURCES_ORDERING,
    CountKey,
    PageKey,
    resource_counts,
    resource_pages,
)
from graph.inventory.types import ResourceConnection
from graph.node import Node, to_global_id
from graph.sync.loaders import last_sync_by_credential
from graph.sync.types import SyncJob
from providers.aws_onboarding import onboarding_for


@strawberry.type(
    description=(
        "What to deploy in AWS so that this server can assume a role credential's role: both "
        "documents trust this server's account on the credential's external ID."
    )
)
class CredentialOnboarding:
    cloud_formation_template: str = strawberry.field(
        description=(
            "A CloudFormation template (JSON) creating the read-only role (AWS managed "
            "SecurityAudit and ViewOnlyAccess) with the trust policy below."
        )
    )
    iam_trust_policy: str = strawberry.field(
        description="The role's trust policy (JSON), for creating or fixing the role by hand."
    )
    member_role_template: str | None = strawberry.field(
        description=(
            "For an Organization (memberRoleName set): the member role's template, to deploy "
            "as a service-managed StackSet to every member account; null otherwise."
        )
    )
    instructions: str = strawberry.field(description="What to deploy where, in a few sentences.")


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
    def from_row(cls, row: CloudCredentialRow) -> ProviderHealth:
        return cls(
            status=HealthStatus(row.health_status.value),
            response_time_ms=row.health_response_ms,
            checked_at=row.health_checked_at,
            error_message=row.health_error,
        )


# The columns `CloudCredential.from_row` reads (never the ciphertext): lists that need no
# resolver field of a credential read only these.
FROM_ROW_COLUMNS = (
    CloudCredentialRow.id,
    CloudCredentialRow.provider,
    CloudCredentialRow.name,
    CloudCredentialRow.default_region,
    CloudCredentialRow.fingerprint,
    CloudCredentialRow.created_at,
    CloudCredentialRow.updated_at,
    CloudCredentialRow.last_used_at,
    CloudCredentialRow.health_status,
    CloudCredentialRow.health_response_ms,
    CloudCredentialRow.health_checked_at,
    CloudCredentialRow.health_error,
    CloudCredentialRow.secret_rotated_at,
    CloudCredentialRow.external_id,
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
    health: ProviderHealth = strawberry.field(
        description="The last identity check: verifyCredential's, or the last sync's outcome."
    )
    secret_rotated_at: datetime = strawberry.field(
        description=(
            "When the secret itself was stored or last replaced (re-encryption by key rotation "
            "does not count)."
        )
    )
    secret_age_days: int = strawberry.field(
        description=(
            "Whole days since secretRotatedAt; long-lived cloud keys older than "
            "KEY_MAX_AGE_DAYS (90 by default) are reported to their owner as an audit event."
        )
    )
    external_id: str | None = strawberry.field(
        description=(
            "AWS role credentials: the external ID this server sends with every AssumeRole; "
            "generated by the server, never set by a user. Not a secret: the role's trust "
            "policy names it."
        )
    )
    credential_id: strawberry.Private[uuid.UUID]
    row: strawberry.Private[CloudCredentialRow]

    @strawberry.field(
        description=(
            "AWS role credentials: the CloudFormation template and trust policy to deploy; null "
            "for other credentials, or when this server cannot tell its own AWS account."
        )
    )
    async def onboarding(self, info: Info) -> CredentialOnboarding | None:
        runtime = info.context.runtime
        documents = await onboarding_for(self.row, runtime.vault, runtime.endpoints)
        if documents is None:
            return None
        return CredentialOnboarding(
            cloud_formation_template=documents.cloud_formation_template,
            iam_trust_policy=documents.iam_trust_policy,
            member_role_template=documents.member_role_template,
            instructions=documents.instructions,
        )

    # Relations: each goes through a per-request DataLoader, so listing every credential with
    # these fields costs the same number of SQL statements for 1 or 100 credentials.
    @strawberry.field(description="How many resources (not deleted) its syncs have found.")
    async def resource_count(self, info: Info) -> int:
        return await info.context.loaders.get(resource_counts).load(
            CountKey(self.credential_id, ResourceCriteria())
        )

    @strawberry.field(description="The resources its syncs found, by name.")
    async def resources(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        filter: Annotated[
            ResourceFilter | None,
            strawberry.argument(description="Which of its resources to return."),
        ] = None,
    ) -> ResourceConnection:
        request = PageRequest.from_args(first=first, after=after)
        criteria = ResourceCriteria.from_input(filter)
        ordering = CREDENTIAL_RESOURCES_ORDERING
        bound_to = binding(info, ordering, str(self.id))
        start = decode_start(info, ordering, request, bound_to)
        loaders = info.context.loaders
        rows = await loaders.get(resource_pages).load(
            PageKey(self.credential_id, criteria, request.size, start)
        )
        page = make_page(rows, ordering, request, codec(info), bound_to)

        async def count() -> int:
            return await loaders.get(resource_counts).load(CountKey(self.credential_id, criteria))

        return ResourceConnection.from_page(page, count).costs_shown(
            info.context.runtime.settings.enable_cost_tracking
        )

    @strawberry.field(
        description="The cloud accounts it covers, by account id, with each one's last sync "
        "outcome (one for a credential of one account, once a sync has listed it)."
    )
    async def accounts(self, info: Info) -> list[CloudAccount]:
        rows = await info.context.loaders.get(accounts_by_credential).load(self.credential_id)
        return [CloudAccount.from_row(row) for row in rows]

    @strawberry.field(description="Its most recently queued sync job; null before the first.")
    async def last_sync(self, info: Info) -> SyncJob | None:
        job = await info.context.loaders.get(last_sync_by_credential).load(self.credential_id)
        return SyncJob.from_row(job) if job else None

    @classmethod
    async def resolve_node(cls, info: Info, local_id: uuid.UUID) -> CloudCredential | None:
        # The same batch serves `node(id:)` and every resource's or job's `credential`.
        row = await info.context.loaders.get(credential_by_id).load(local_id)
        return cls.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: CloudCredentialRow) -> CloudCredential:
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
            secret_rotated_at=row.secret_rotated_at,
            secret_age_days=(utcnow() - row.secret_rotated_at).days,
            external_id=row.external_id,
            credential_id=row.id,
            row=row,
        )
