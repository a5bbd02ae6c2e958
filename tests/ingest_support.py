"""Helpers for the ingestion tests: run a credential's sync to its end, read what it stored."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from db.models import CloudResourceRow, SyncJobRow
from graph.runtime import Runtime


async def run_sync(runtime: Runtime, credential_id: uuid.UUID) -> SyncJobRow:
    """Queue a sync of one credential and run the queue until it is empty."""
    (started,) = await runtime.sync.start([credential_id])
    await runtime.sync.runner.drain()
    async with runtime.database.system_session() as session:
        found = await session.get(SyncJobRow, started.id)
    assert found is not None
    return found


async def stored(runtime: Runtime, credential_id: uuid.UUID) -> dict[str, CloudResourceRow]:
    async with runtime.database.system_session() as session:
        rows = await session.scalars(
            select(CloudResourceRow).where(CloudResourceRow.credential_id == credential_id)
        )
        return {row.resource_id: row for row in rows}
