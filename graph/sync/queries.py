"""The `syncJobs` connection and `node` lookups of sync jobs."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from db import enums as db_enums
from db.models import SyncJob as SyncJobRow
from graph.connections.keyset import Ordering, Page, PageRequest, SortKey
from graph.connections.types import (
    AfterArg,
    BeforeArg,
    ConnectionFields,
    CountFn,
    FirstArg,
    LastArg,
    PageInfo,
    paginate,
)
from graph.context import Info
from graph.enums import SyncJobStatus
from graph.node import register_node
from graph.permissions import IsAuthenticated
from graph.sync.types import SyncJob

# Newest first: the list a dashboard shows.
SYNC_JOB_ORDERING = Ordering(
    "syncJobs:QUEUED_AT:DESC",
    (
        SortKey(SyncJobRow.queued_at, "datetime", lambda row: row.queued_at, descending=True),
        SortKey(SyncJobRow.id, "uuid", lambda row: row.id, descending=True),
    ),
)


async def _sync_job_node(info: Info, job_id: uuid.UUID) -> SyncJob | None:
    db = info.context.db
    async with db.session() as session:
        row = await session.scalar(db.scope.select(SyncJobRow).where(SyncJobRow.id == job_id))
    return SyncJob.from_row(row) if row else None


register_node("SyncJob", _sync_job_node)


@strawberry.type(description="A sync job in a page of jobs, with its cursor.")
class SyncJobEdge:
    cursor: str = strawberry.field(description="Opaque position of this job in the list.")
    node: SyncJob = strawberry.field(description="The job.")


@strawberry.type(description="A page of sync jobs, newest first (Relay cursor connection).")
class SyncJobConnection(ConnectionFields):
    edges: list[SyncJobEdge] = strawberry.field(description="The jobs of this page.")

    @classmethod
    def from_page(cls, page: Page, count: CountFn) -> SyncJobConnection:
        return cls(
            edges=[
                SyncJobEdge(cursor=cursor, node=SyncJob.from_row(row))
                for row, cursor in zip(page.rows, page.cursors, strict=True)
            ],
            page_info=PageInfo.from_page(page),
            count_fn=count,
        )


@strawberry.type
class SyncQueries:
    @strawberry.field(
        description="Your sync jobs, newest first.", permission_classes=[IsAuthenticated]
    )
    async def sync_jobs(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        status: Annotated[
            SyncJobStatus | None,
            strawberry.argument(description="Only jobs in this state."),
        ] = None,
    ) -> SyncJobConnection:
        request = PageRequest.from_args(first, after, last, before)
        scope = info.context.db.scope
        statement = scope.select(SyncJobRow)
        count = scope.count(SyncJobRow)
        if status is not None:
            wanted = db_enums.SyncJobStatus(status.name)
            statement = statement.where(SyncJobRow.status == wanted)
            count = count.where(SyncJobRow.status == wanted)
        page, count_fn = await paginate(
            info, statement, count, SYNC_JOB_ORDERING, request, entities=True
        )
        return SyncJobConnection.from_page(page, count_fn)
