"""GraphQL types of the inventory domain: plain attributes, so rows serialize fast."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from db.models import Resource as ResourceRow
from graph.enums import Provider, ResourceStatus, ResourceType
from graph.node import Node, to_global_id

HOURS_PER_MONTH = 730


@strawberry.type(description="One resource found in a cloud account by a sync.")
class CloudResource(Node):
    provider: Provider = strawberry.field(description="The cloud it lives in.")
    type: ResourceType = strawberry.field(description="Normalized category.")
    native_type: str = strawberry.field(
        description="The provider's own type name (e.g. AWS::EC2::Instance)."
    )
    resource_id: str = strawberry.field(description="The provider's ID or ARN.")
    name: str = strawberry.field(description="Display name (a Name tag, label or the ID).")
    region: str = strawberry.field(description="Region or location ('global' when none).")
    account: str = strawberry.field(description="Account, subscription or project it is in.")
    status: ResourceStatus = strawberry.field(description="Normalized lifecycle state.")
    tags: JSON = strawberry.field(description="Tags or labels as a string map.")
    metadata: JSON = strawberry.field(
        description="Provider details: instance type, IPs, CIDRs, sizes…"
    )
    cost_per_hour: float | None = strawberry.field(
        description="Estimated on-demand USD per hour; null when the size has no known price."
    )
    estimated_monthly_cost: float | None = strawberry.field(
        description="costPerHour × 730 hours; null when unknown."
    )
    first_seen_at: datetime = strawberry.field(description="When a sync first saw it.")
    last_synced_at: datetime = strawberry.field(description="When a sync last saw it.")
    deleted_at: datetime | None = strawberry.field(
        description="When a complete listing of its scope no longer found it."
    )
    # Not exposed: lets the credential loader find the owner credential without another query.
    credential_row_id: strawberry.Private[object]

    @classmethod
    def from_row(cls, row: ResourceRow) -> CloudResource:
        return cls(
            id=to_global_id("CloudResource", row.id),
            provider=Provider(row.provider.value),
            type=ResourceType(row.category.value),
            native_type=row.native_type,
            resource_id=row.resource_id,
            name=row.name,
            region=row.region,
            account=row.account,
            status=ResourceStatus(row.status.value),
            tags=JSON(row.tags),
            metadata=JSON(row.meta),
            cost_per_hour=row.cost_per_hour,
            estimated_monthly_cost=(
                round(row.cost_per_hour * HOURS_PER_MONTH, 2)
                if row.cost_per_hour is not None
                else None
            ),
            first_seen_at=row.first_seen_at,
            last_synced_at=row.last_synced_at,
            deleted_at=row.deleted_at,
            credential_row_id=row.credential_id,
        )
