"""The resource columns read paths select."""

from __future__ import annotations

from db.models import Resource

# Read paths select these columns (Core rows, not ORM objects: much cheaper per row).
RESOURCE_COLUMNS = (
    Resource.id,
    Resource.credential_id,
    Resource.provider,
    Resource.category,
    Resource.native_type,
    Resource.resource_id,
    Resource.name,
    Resource.region,
    Resource.account,
    Resource.status,
    Resource.tags,
    Resource.meta.label("meta"),
    Resource.configuration,
    Resource.cost_per_hour,
    Resource.first_seen_at,
    Resource.last_synced_at,
    Resource.deleted_at,
)
