"""GraphQL types of the inventory domain: plain attributes, so rows serialize fast."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from db import enums as db_enums
from db.models import CloudResourceRow
from graph.connections.types import AfterArg, Connection, FirstArg, Listing, connection
from graph.context import Info
from graph.credentials.reference import credential_field
from graph.enums import Provider, ResourceStatus, ResourceType
from graph.findings.loaders import findings_by_resource
from graph.inventory.columns import RESOURCE_COLUMNS
from graph.inventory.history import ResourceChangeConnection, resource_history
from graph.inventory.relations import (
    DEFAULT_RELATIONS,
    DirectionArg,
    LimitArg,
    ResourceRelation,
    TypeArg,
    load_relations,
    relation_key,
    relation_of,
)
from graph.node import Node, node_type, to_global_id

if TYPE_CHECKING:
    from graph.findings.types import Finding

HOURS_PER_MONTH = 730

# Stored enum -> GraphQL enum by dict lookup: cheaper than Enum(value) on every row.
_PROVIDERS = {member.value: Provider(member.value) for member in db_enums.Provider}
_TYPES = {member.value: ResourceType(member.value) for member in db_enums.ResourceType}
_STATUSES = {member.value: ResourceStatus(member.value) for member in db_enums.ResourceStatus}


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
    configuration: JSON = strawberry.field(
        description="Security-relevant settings, normalized: one documented shape per native "
        "type (network rules, public access, encryption, MFA, key rotation…; see "
        "docs/providers.md). `{}` for kinds without one. Never contains secrets."
    )
    cost_per_hour: float | None = strawberry.field(
        description=(
            "Estimated on-demand USD per hour; null when the size has no known price, or when "
            "cost tracking is off (ENABLE_COST_TRACKING=false)."
        )
    )
    estimated_monthly_cost: float | None = strawberry.field(
        description="costPerHour × 730 hours; null when unknown or cost tracking is off."
    )
    cost_source: str | None = strawberry.field(
        description=(
            "Which price table, region and date costPerHour comes from (e.g. "
            "'prices.json aws_ec2 eu-west-1 (2024-11)'); says so when the resource's region "
            "was priced from another region's list. Null when costPerHour is."
        )
    )
    first_seen_at: datetime = strawberry.field(description="When a sync first saw it.")
    last_synced_at: datetime = strawberry.field(description="When a sync last saw it.")
    deleted_at: datetime | None = strawberry.field(
        description="When a complete listing of its scope no longer found it."
    )
    # Not exposed: lets the credential loader find the owner credential without another query.
    credential_id: strawberry.Private[uuid.UUID]
    row_id: strawberry.Private[uuid.UUID]

    credential = credential_field("The credential whose sync found this resource.")

    @strawberry.field(
        description="How this resource connects to others of the same credential, both ways."
    )
    async def relations(
        self,
        info: Info,
        type: TypeArg = None,
        direction: DirectionArg = None,
        limit: LimitArg = DEFAULT_RELATIONS,
    ) -> list[ResourceRelation]:
        key = relation_key(self.credential_id, self.resource_id, type, direction, limit)
        return [
            relation_of(
                row, CloudResource.from_row(row.resource) if row.resource is not None else None
            )
            for row in await load_relations(info, key)
        ]

    @strawberry.field(
        description="What syncs found changed in this resource, newest first (kept for "
        "HISTORY_RETENTION_DAYS)."
    )
    async def history(
        self, info: Info, first: FirstArg = None, after: AfterArg = None
    ) -> ResourceChangeConnection:
        return await resource_history(info, self.id, first, after)

    @strawberry.field(
        description="The rules failing (or that failed) on this resource: every finding, in "
        "every state, most severe first."
    )
    async def findings(
        self, info: Info
    ) -> list[Annotated[Finding, strawberry.lazy("graph.findings.types")]]:
        rows = await info.context.loaders.get(findings_by_resource).load(self.row_id)
        # Found in the schema: the findings types import this module.
        finding: Any = node_type(info, "Finding")
        return [finding.from_row(row, resource=self) for row in rows]

    @classmethod
    async def resolve_node(cls, info: Info, local_id: uuid.UUID) -> CloudResource | None:
        db = info.context.db
        statement = db.scope.select_columns(CloudResourceRow, *RESOURCE_COLUMNS).where(
            CloudResourceRow.id == local_id
        )
        async with db.session() as session:
            row = (await (await session.connection()).execute(statement)).first()
        costs = info.context.runtime.settings.enable_cost_tracking
        return cls.from_row(row, costs=costs) if row else None

    def hide_costs(self) -> None:
        self.cost_per_hour = None
        self.estimated_monthly_cost = None
        self.cost_source = None

    @classmethod
    def from_row(cls, row: Any, *, costs: bool = True) -> CloudResource:
        """From an ORM row or a Core row selected with `RESOURCE_COLUMNS`; `costs=False`
        (ENABLE_COST_TRACKING=false) leaves every cost field null."""
        hourly = row.cost_per_hour if costs else None
        return cls(
            id=to_global_id("CloudResource", row.id),
            provider=_PROVIDERS[row.provider],
            type=_TYPES[row.type],
            native_type=row.native_type,
            resource_id=row.resource_id,
            name=row.name,
            region=row.region,
            account=row.account,
            status=_STATUSES[row.status],
            tags=JSON(row.tags),
            metadata=JSON(row.metadata_),
            configuration=JSON(row.configuration),
            cost_per_hour=hourly,
            estimated_monthly_cost=(
                round(hourly * HOURS_PER_MONTH, 2) if hourly is not None else None
            ),
            cost_source=row.cost_source if hourly is not None else None,
            first_seen_at=row.first_seen_at,
            last_synced_at=row.last_synced_at,
            deleted_at=row.deleted_at,
            credential_id=row.credential_id,
            row_id=row.id,
        )


@connection(
    CloudResource,
    Listing("Resource", "resource", "resources", "A resource"),
    "A page of cloud resources (Relay cursor connection).",
)
class ResourceConnection(Connection[CloudResource]):
    def costs_shown(self, shown: bool) -> ResourceConnection:
        """With ENABLE_COST_TRACKING=false, every resource of the page loses its cost fields."""
        if not shown:
            for edge in self.edges:
                edge.node.hide_costs()
        return self
