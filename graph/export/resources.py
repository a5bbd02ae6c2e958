"""The resources dataset: the `resources` connection's rows and fields, flattened."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from db.models import CloudResourceRow
from db.scoping import OwnerScope
from graph.export.params import ResourceExportRequest
from graph.inventory.columns import RESOURCE_COLUMNS
from graph.inventory.filters import ResourceCriteria, resource_ordering
from graph.inventory.types import CloudResource
from graph.node import to_global_id

# The CloudResource fields, by their GraphQL names; `credentialId` stands for `credential`.
COLUMNS = (
    "id",
    "name",
    "provider",
    "type",
    "nativeType",
    "resourceId",
    "region",
    "account",
    "status",
    "tags",
    "metadata",
    "costPerHour",
    "estimatedMonthlyCost",
    "credentialId",
    "firstSeenAt",
    "lastSyncedAt",
    "deletedAt",
)


def resource_statement(scope: OwnerScope, request: ResourceExportRequest) -> Select[Any]:
    """The same scoped, filtered and ordered select the connection pages through."""
    criteria = ResourceCriteria.from_input(request.filter)
    ordering = resource_ordering(request.order)
    statement = criteria.apply(scope.select_columns(CloudResourceRow, *RESOURCE_COLUMNS))
    return statement.order_by(*ordering.order_by())


def resource_record(row: Any) -> dict[str, Any]:
    """One row as the GraphQL type shows it (same conversions, same values)."""
    item = CloudResource.from_row(row)
    return {
        "id": item.id,
        "name": item.name,
        "provider": item.provider.value,
        "type": item.type.value,
        "nativeType": item.native_type,
        "resourceId": item.resource_id,
        "region": item.region,
        "account": item.account,
        "status": item.status.value,
        "tags": item.tags,
        "metadata": item.metadata,
        "costPerHour": item.cost_per_hour,
        "estimatedMonthlyCost": item.estimated_monthly_cost,
        "credentialId": to_global_id("CloudCredential", row.credential_id),
        "firstSeenAt": item.first_seen_at,
        "lastSyncedAt": item.last_synced_at,
        "deletedAt": item.deleted_at,
    }
