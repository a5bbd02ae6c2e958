"""The `syncJobs` connection."""

from __future__ import annotations

from typing import Annotated

import strawberry

from db import enums as db_enums
from db.models import SyncJobRow
from graph.connections.keyset import Ordering, PageRequest, SortKey
from graph.connections.types import (
    AfterArg,
    BeforeArg,
    FirstArg,
    LastArg,
    paginate,
)
from graph.context import Info
from graph.enums import SyncJobStatus
from graph.permissions import IsAuthenticated
from graph.sync.types import SyncJobConnection

# Newest first: the list a dashboard shows.
SYNC_JOB_ORDERING = Ordering(
    "syncJobs:QUEUED_AT:DESC",
    (
        SortKey(SyncJobRow.queued_at, "datetime", lambda row: row.queued_at, descending=True),
        SortKey(SyncJobRow.id, "uuid", lambda row: row.id, descending=True),
    ),
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
