"""Batch loaders of sync jobs, scoped to the caller."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from db.models import SyncJob
from db.scoping import ScopedDatabase


def last_sync_by_credential(db: ScopedDatabase) -> DataLoader[uuid.UUID, SyncJob | None]:
    """The most recently queued job of each credential."""

    async def load(ids: Sequence[uuid.UUID]) -> list[SyncJob | None]:
        position = (
            func.row_number()
            .over(
                partition_by=SyncJob.credential_id,
                order_by=(SyncJob.queued_at.desc(), SyncJob.id.desc()),
            )
            .label("position")
        )
        ranked = (
            db.scope.select_columns(SyncJob, SyncJob.id, position)
            .where(SyncJob.credential_id.in_(ids))
            .subquery()
        )
        statement = db.scope.select(SyncJob).where(
            SyncJob.id.in_(select(ranked.c.id).where(ranked.c.position == 1))
        )
        async with db.session() as session:
            jobs = (await session.scalars(statement)).all()
        by_credential = {job.credential_id: job for job in jobs}
        return [by_credential.get(key) for key in ids]

    return DataLoader(load_fn=load)
