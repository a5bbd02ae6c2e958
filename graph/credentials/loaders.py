"""Batch loaders of credentials, scoped to the caller (someone else's id simply finds nothing)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from db.models import CloudCredentialRow
from db.scoping import ScopedDatabase


def credential_by_id(db: ScopedDatabase) -> DataLoader[uuid.UUID, CloudCredentialRow | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[CloudCredentialRow | None]:
        statement = db.scope.select(CloudCredentialRow).where(CloudCredentialRow.id.in_(ids))
        async with db.session() as session:
            by_id = {row.id: row for row in (await session.scalars(statement)).all()}
        return [by_id.get(key) for key in ids]

    return DataLoader(load_fn=load)
