"""The dashboard's plain output types (every field a stored value; no resolvers)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from graph.accounts.types import AuditEvent
from graph.credentials.types import CloudCredential, ProviderHealth
from graph.enums import Provider
from graph.sync.types import SyncJob


@strawberry.type(description="Resource counts of one cloud.")
class ProviderBreakdown:
    provider: Provider = strawberry.field(description="The cloud.")
    count: int = strawberry.field(description="Resources in it (not deleted).")
    vms: int = strawberry.field(description="Virtual machines.")
    storage: int = strawberry.field(description="Storage resources.")
    networks: int = strawberry.field(description="Network resources.")


@strawberry.type(description="Estimated monthly cost of one cloud.")
class ProviderCost:
    provider: Provider = strawberry.field(description="The cloud.")
    cost: float = strawberry.field(description="Estimated USD per month.")


@strawberry.type(description="Estimated monthly cost of one service (the provider's native type).")
class ServiceCost:
    service: str = strawberry.field(description="Native type, e.g. AWS::EC2::Instance.")
    cost: float = strawberry.field(description="Estimated USD per month.")


@strawberry.type(description="How many resources one region holds.")
class RegionCount:
    region: str = strawberry.field(description="Region or location ('global' when none).")
    count: int = strawberry.field(description="Resources in it (not deleted).")


@strawberry.type(description="How many resources one cloud account holds.")
class AccountCount:
    account: str = strawberry.field(
        description="AWS account id, Azure subscription id or GCP project id."
    )
    provider: Provider = strawberry.field(description="Its cloud.")
    count: int = strawberry.field(description="Resources in it (not deleted).")


@strawberry.type(description="The last identity check of one credential.")
class CredentialHealth:
    credential: CloudCredential = strawberry.field(description="The credential.")
    health: ProviderHealth = strawberry.field(description="Its last check.")


@strawberry.enum(description="What a recent-activity entry is about.")
class ActivityKind(Enum):
    AUDIT_EVENT = strawberry.enum_value("AUDIT_EVENT", description="A security-relevant action.")
    SYNC_JOB = strawberry.enum_value("SYNC_JOB", description="A sync job (queued, ran or ended).")


@strawberry.type(description="One entry of the recent-activity feed: an audit event or a sync job.")
class ActivityEntry:
    kind: ActivityKind = strawberry.field(description="Which of the two it is.")
    at: datetime = strawberry.field(
        description="When it happened (an event's time; a job's end, start or queue time)."
    )
    summary: str = strawberry.field(description="One line for a feed, e.g. 'login: SUCCESS'.")
    audit_event: AuditEvent | None = strawberry.field(description="The event, for AUDIT_EVENT.")
    sync_job: SyncJob | None = strawberry.field(description="The job, for SYNC_JOB.")
