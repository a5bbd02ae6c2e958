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


@strawberry.type(
    description="A scope of a sync job that failed, or one of its resources that could not be "
    "stored (code INVALID_RECORD), in words safe to show."
)
class SyncError:
    scope: str = strawberry.field(description="The scope, e.g. 'us-east-1/AWS::EC2::Instance'.")
    code: str = strawberry.field(description="Machine-readable reason, e.g. THROTTLED.")
    message: str = strawberry.field(description="Human-readable reason; never a secret.")
    resource_id: str | None = strawberry.field(
        default=None,
        description="For INVALID_RECORD: the cloud's id of the resource that was skipped "
        "(normalized, at most 200 characters), when it had one.",
    )


@strawberry.type(
    description="What the sync changed in the data a cloud returned before storing it, counted "
    "per scope and code (e.g. CONTROL_CHARACTER: a NUL byte in a tag became U+2400). Values "
    "are never shown; fix them in the cloud."
)
class SyncWarning:
    scope: str = strawberry.field(description="The scope, e.g. 'us-east-1/AWS::EC2::Instance'.")
    code: str = strawberry.field(
        description="What was changed: CONTROL_CHARACTER, INVALID_UNICODE, BIDI_CONTROL "
        "(kept, flagged), TRUNCATED, TOO_MANY_TAGS, TOO_MANY_ITEMS, TOO_DEEP, NOT_A_STRING, "
        "INVALID_SHAPE, INVALID_NUMBER, DUPLICATE_ID or INVALID_RECORD (skipped, see errors)."
    )
    count: int = strawberry.field(description="How many resources of the scope it concerned.")
    resource_ids: list[str] = strawberry.field(
        description="The first few of those resources' ids (normalized)."
    )


# The columns `SyncJob.from_row` reads.
FROM_ROW_COLUMNS = (
    SyncJobRow.id,
    SyncJobRow.status,
    SyncJobRow.trigger,
    SyncJobRow.queued_at,
    SyncJobRow.started_at,
    SyncJobRow.finished_at,
    SyncJobRow.progress,
    SyncJobRow.added,
    SyncJobRow.updated,
    SyncJobRow.removed,
    SyncJobRow.errors,
    SyncJobRow.warnings,
    SyncJobRow.credential_id,
)


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
    errors: list[SyncError] = strawberry.field(
        description="Scopes that failed, and resources that could not be stored."
    )
    warnings: list[SyncWarning] = strawberry.field(
        description="What was changed in the listed data to store it, per scope and code."
    )
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
                    resource_id=e.get("resourceId"),
                )
                for e in row.errors
            ],
            warnings=[
                SyncWarning(
                    scope=str(w.get("scope", "")),
                    code=str(w.get("code", "")),
                    count=int(w.get("count", 0)),
                    resource_ids=[str(i) for i in w.get("resourceIds", [])],
                )
                for w in row.warnings or []
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
