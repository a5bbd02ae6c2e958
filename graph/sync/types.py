"""GraphQL types of sync jobs."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from db.models import SyncJobRow
from graph.connections.types import Connection, Listing, connection
from graph.context import Info
from graph.credentials.reference import credential_field
from graph.enums import SyncJobStatus, SyncTrigger
from graph.node import Node, to_global_id


@strawberry.type(description="One scope of a sync job that failed, in words safe to show.")
class SyncError:
    scope: str = strawberry.field(description="The scope, e.g. 'us-east-1/ec2:instance'.")
    code: str = strawberry.field(description="Machine-readable reason, e.g. THROTTLED.")
    message: str = strawberry.field(description="Human-readable reason; never a secret.")


@strawberry.type(description="A run that lists a credential's cloud and updates the inventory.")
class SyncJob(Node):
    status: SyncJobStatus = strawberry.field(description="Where the job is in its life.")
    trigger: SyncTrigger = strawberry.field(description="What started it.")
    queued_at: datetime = strawberry.field(description="When it was queued.")
    started_at: datetime | None = strawberry.field(description="When a worker started it.")
    finished_at: datetime | None = strawberry.field(description="When it ended.")
    progress: float = strawberry.field(description="Share of scopes done, from 0 to 1.")
    added: int = strawberry.field(description="Resources seen for the first time.")
    updated: int = strawberry.field(description="Resources seen again.")
    removed: int = strawberry.field(description="Resources marked deleted.")
    errors: list[SyncError] = strawberry.field(description="Scopes that failed.")
    credential_id: strawberry.Private[uuid.UUID]

    credential = credential_field("The credential whose cloud the job lists.")

    @classmethod
    async def resolve_node(cls, info: Info, local_id: uuid.UUID) -> SyncJob | None:
        db = info.context.db
        async with db.session() as session:
            row = await session.scalar(db.scope.select(SyncJobRow).where(SyncJobRow.id == local_id))
        return cls.from_row(row) if row else None

    @classmethod
    def from_row(cls, row: SyncJobRow) -> SyncJob:
        return cls(
            id=to_global_id("SyncJob", row.id),
            status=SyncJobStatus(row.status.value),
            trigger=SyncTrigger(row.trigger.value),
            queued_at=row.queued_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            progress=row.progress,
            added=row.added,
            updated=row.updated,
            removed=row.removed,
            errors=[
                SyncError(
                    scope=str(e.get("scope", "")),
                    code=str(e.get("code", "")),
                    message=str(e.get("message", "")),
                )
                for e in row.errors
            ],
            credential_id=row.credential_id,
        )


@connection(
    SyncJob,
    Listing("SyncJob", "job", "jobs", "A sync job"),
    "A page of sync jobs, newest first (Relay cursor connection).",
)
class SyncJobConnection(Connection[SyncJob]):
    pass
