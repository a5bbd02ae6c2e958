"""Batch loaders of credentials, scoped to the caller (someone else's id simply finds nothing)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from db.models import CloudAccountRow, CloudCredentialRow
from db.scoping import ScopedDatabase


def credential_by_id(db: ScopedDatabase) -> DataLoader[uuid.UUID, CloudCredentialRow | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[CloudCredentialRow | None]:
        statement = db.scope.select(CloudCredentialRow).where(CloudCredentialRow.id.in_(ids))
        async with db.session() as session:
            by_id = {row.id: row for row in (await session.scalars(statement)).all()}
        return [by_id.get(key) for key in ids]

    return DataLoader(load_fn=load)


def accounts_by_credential(db: ScopedDatabase) -> DataLoader[uuid.UUID, list[CloudAccountRow]]:
    """The cloud accounts of each credential, by account id: one statement for any number."""

    async def load(ids: Sequence[uuid.UUID]) -> list[list[CloudAccountRow]]:
        statement = (
            db.scope.select(CloudAccountRow)
            .where(CloudAccountRow.credential_id.in_(ids))
            .order_by(CloudAccountRow.account_id)
        )
        async with db.session() as session:
            rows = (await session.scalars(statement)).all()
        by_credential: dict[uuid.UUID, list[CloudAccountRow]] = {key: [] for key in ids}
        for row in rows:
            by_credential[row.credential_id].append(row)
        return [by_credential[key] for key in ids]

    return DataLoader(load_fn=load)
