"""The resource columns read paths select."""

from __future__ import annotations

from db.models import CloudResourceRow

# Read paths select these columns (Core rows, not ORM objects: much cheaper per row).
RESOURCE_COLUMNS = (
    CloudResourceRow.id,
    CloudResourceRow.credential_id,
    CloudResourceRow.provider,
    CloudResourceRow.type,
    CloudResourceRow.native_type,
    CloudResourceRow.resource_id,
    CloudResourceRow.name,
    CloudResourceRow.region,
    CloudResourceRow.account,
    CloudResourceRow.status,
    CloudResourceRow.tags,
    CloudResourceRow.metadata_.label("metadata_"),
    CloudResourceRow.configuration,
    CloudResourceRow.cost_per_hour,
    CloudResourceRow.cost_source,
    CloudResourceRow.first_seen_at,
    CloudResourceRow.last_synced_at,
    CloudResourceRow.deleted_at,
)
