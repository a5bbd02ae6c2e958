"""GraphQL types of the inventory's history: `ResourceChange` and its connection.

A change's `resource` and `job` load through per-request batch loaders and are built by their own
types, found in the schema (`graph.node.node_type`): this module is imported by the resource type,
so it cannot import it back.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from db import enums as db_enums
from db.models import ResourceChangeRow
from graph.connections.keyset import PageRequest, make_page
from graph.connections.types import Connection, Listing, binding, codec, connection, decode_start
from graph.context import Info
from graph.inventory.history_loaders import (
    CHANGE_COLUMNS,
    RESOURCE_HISTORY_ORDERING,
    HistoryKey,
    history_counts,
    history_pages,
    job_rows,
    resource_rows,
)
from graph.node import Node, from_global_id, node_type, to_global_id

if TYPE_CHECKING:
    from graph.inventory.types import CloudResource
    from graph.sync.types import SyncJob


@strawberry.enum(description="What a sync found had happened to a resource.")
class ResourceChangeKind(Enum):
    CREATED = strawberry.enum_value("CREATED", description="Seen for the first time.")
    UPDATED = strawberry.enum_value(
        "UPDATED", description="Seen again with different values (see `changes`)."
    )
    DELETED = strawberry.enum_value(
        "DELETED", description="A complete listing of its scope no longer found it."
    )
    RESTORED = strawberry.enum_value(
        "RESTORED",
        description="Found again after it was marked deleted; `changes` compares it with what "
        "it was when it disappeared.",
    )


_KINDS = {member.value: ResourceChangeKind(member.value) for member in db_enums.ResourceChangeKind}


@strawberry.type(description="One field of a resource that a sync found changed.")
class ResourceFieldChange:
    field: str = strawberry.field(
        description="What changed: `name`, `region`, `type`, `status`, `tags.<key>`, "
        "`configuration.<path>` (e.g. `configuration.publicAccessBlock.blockPublicAcls`) or "
        "`relations.<TYPE>` (the target ids of that relation type)."
    )
    before: JSON | None = strawberry.field(
        description="The value before; null when the field (tag, setting) did not exist."
    )
    after: JSON | None = strawberry.field(
        description="The value after; null when the field (tag, setting) no longer exists."
    )


@strawberry.type(description="What one sync found changed in one resource of your inventory.")
class ResourceChange(Node):
    at: datetime = strawberry.field(description="When the sync that found it listed the scope.")
    kind: ResourceChangeKind = strawberry.field(description="What happened.")
    changes: list[ResourceFieldChange] = strawberry.field(
        description="The fields that changed, with their values before and after: only those. "
        "Empty for CREATED and DELETED."
    )
    resource_id: str = strawberry.field(
        description="The provider's ID or ARN of the resource (kept after the resource is purged)."
    )
    resource_row_id: strawberry.Private[uuid.UUID | None]
    job_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The sync job that found it; null once that job is gone.")
    async def job(
        self, info: Info
    ) -> Annotated[SyncJob, strawberry.lazy("graph.sync.types")] | None:
        if self.job_id is None:
            return None
        row = await info.context.loaders.get(job_rows).load(self.job_id)
        job: SyncJob | None = _build(info, "SyncJob", row)
        return job

    @strawberry.field(
        description="The resource it happened to; null once the resource is purged "
        "(DELETED_RETENTION_DAYS)."
    )
    async def resource(
        self, info: Info
    ) -> Annotated[CloudResource, strawberry.lazy("graph.inventory.types")] | None:
        if self.resource_row_id is None:
            return None
        row = await info.context.loaders.get(resource_rows).load(self.resource_row_id)
        if row is None:
            return None
        costs = info.context.runtime.settings.enable_cost_tracking
        return _node_class(info, "CloudResource").from_row(row, costs=costs)  # type: ignore[no-any-return]

    @classmethod
    async def resolve_node(cls, info: Info, local_id: uuid.UUID) -> ResourceChange | None:
        db = info.context.db
        statement = db.scope.select_columns(ResourceChangeRow, *CHANGE_COLUMNS).where(
            ResourceChangeRow.id == local_id
        )
        async with db.session() as session:
            row = (await (await session.connection()).execute(statement)).first()
        return cls.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: Any) -> ResourceChange:
        """From a Core row selected with `CHANGE_COLUMNS`."""
        return cls(
            id=to_global_id("ResourceChange", row.id),
            at=row.at,
            kind=_KINDS[row.kind],
            changes=[
                ResourceFieldChange(
                    field=change["field"], before=change["before"], after=change["after"]
                )
                for change in row.changes
            ],
            resource_id=row.resource_id,
            resource_row_id=row.resource_row_id,
            job_id=row.job_id,
        )


def _node_class(info: Info, type_name: str) -> Any:
    found = node_type(info, type_name)
    if found is None:  # the schema always has these types
        raise LookupError(f"the schema has no {type_name} type")
    return found


def _build(info: Info, type_name: str, row: Any) -> Any:
    return None if row is None else _node_class(info, type_name).from_row(row)


@connection(
    ResourceChange,
    Listing("ResourceChange", "change", "changes", "A change"),
    "A page of inventory changes, newest first (Relay cursor connection).",
)
class ResourceChangeConnection(Connection[ResourceChange]):
    pass


async def resource_history(
    info: Info, resource: strawberry.ID, first: int | None, after: str | None
) -> ResourceChangeConnection:
    """`CloudResource.history`: one page of the resource's changes, through the batch loader
    (so a page of resources with their histories costs one statement for all of them)."""
    request = PageRequest.from_args(first=first, after=after)
    ordering = RESOURCE_HISTORY_ORDERING
    # Bound to the resource too: a cursor of one resource's history is refused on another's.
    bound_to = binding(info, ordering, str(resource))
    start = decode_start(info, ordering, request, bound_to)
    _, row_id = from_global_id(resource, "CloudResource")
    loaders = info.context.loaders
    rows = await loaders.get(history_pages).load(HistoryKey(row_id, request.size, start))
    page = make_page(rows, ordering, request, codec(info), bound_to)

    async def count() -> int:
        return await loaders.get(history_counts).load(row_id)

    return ResourceChangeConnection.from_page(page, count)
