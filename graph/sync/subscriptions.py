"""`syncJob(id)`: push a job's state on every change until it ends (owner only)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from db.enums import ACTIVE_JOB_STATUSES
from db.models import SyncJobRow
from graph.context import Info
from graph.errors import BadRequest
from graph.node import from_global_id
from graph.permissions import IsAuthenticated
from graph.sync.types import SyncJob
from sync.progress import follow

# How often a follower re-reads the job when no in-process event arrives (job in another process).
POLL_SECONDS = 2.0
NOT_YOURS = "No sync job with this ID among yours"


async def _load(info: Info, job_id: uuid.UUID) -> SyncJobRow | None:
    async with info.context.db.session() as session:
        row: SyncJobRow | None = await session.scalar(
            info.context.db.scope.select(SyncJobRow).where(SyncJobRow.id == job_id)
        )
        return row


def _state(row: SyncJobRow) -> tuple[object, ...]:
    return (
        row.status,
        row.progress,
        row.added,
        row.updated,
        row.removed,
        len(row.errors),
        row.started_at,
        row.finished_at,
    )


@strawberry.type
class SyncSubscriptions:
    @strawberry.subscription(
        description="The job now, then after every change of progress or status, until it ends.",
        permission_classes=[IsAuthenticated],
    )
    async def sync_job(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The job's global ID.")],
    ) -> AsyncGenerator[SyncJob, None]:
        _, job_id = from_global_id(str(id), "SyncJob")
        if await _load(info, job_id) is None:
            raise BadRequest(NOT_YOURS)
        async for row in follow(
            info.context.runtime.sync.hub,
            job_id,
            lambda: _load(info, job_id),
            key=_state,
            is_final=lambda row: row.status not in ACTIVE_JOB_STATUSES,
            poll_seconds=POLL_SECONDS,
        ):
            yield SyncJob.from_row(row)
