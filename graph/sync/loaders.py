"""Batch loaders of sync jobs, scoped to the caller."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from db.models import SyncJobRow
from db.scoping import ScopedDatabase

# A credential's last sync: its most recently queued job (the id breaks ties).
LAST_SYNC_ORDER = (SyncJobRow.queued_at.desc(), SyncJobRow.id.desc())


def last_sync_by_credential(db: ScopedDatabase) -> DataLoader[uuid.UUID, SyncJobRow | None]:
    """The most recently queued job of each credential."""

    async def load(ids: Sequence[uuid.UUID]) -> list[SyncJobRow | None]:
        position = (
            func.row_number()
            .over(
                partition_by=SyncJobRow.credential_id,
                order_by=LAST_SYNC_ORDER,
            )
            .label("position")
        )
        ranked = (
            db.scope.select_columns(SyncJobRow, SyncJobRow.id, position)
            .where(SyncJobRow.credential_id.in_(ids))
            .subquery()
        )
        statement = db.scope.select(SyncJobRow).where(
            SyncJobRow.id.in_(select(ranked.c.id).where(ranked.c.position == 1))
        )
        async with db.session() as session:
            jobs = (await session.scalars(statement)).all()
        by_credential = {job.credential_id: job for job in jobs}
        return [by_credential.get(key) for key in ids]

    return DataLoader(load_fn=load)
