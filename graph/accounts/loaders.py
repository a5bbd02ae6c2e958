"""Batch loaders of accounts; users are read through the admin view of the caller's scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from db.models import UserRow
from db.scoping import ScopedDatabase


def user_by_id(db: ScopedDatabase) -> DataLoader[uuid.UUID, UserRow | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[UserRow | None]:
        async with db.session() as session:
            rows = (
                await session.scalars(db.scope.admin_view().users().where(UserRow.id.in_(ids)))
            ).all()
        by_id = {row.id: row for row in rows}
        return [by_id.get(user_id) for user_id in ids]

    return DataLoader(load_fn=load)
