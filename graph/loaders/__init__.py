"""Per-request DataLoaders; created in `get_context`, never at module level."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from db.models import CloudCredential, SyncJob, User
from db.scoping import ScopedDatabase
from graph.loaders import inventory
from graph.loaders import relations as relation_loaders


@dataclass
class Loaders:
    user_by_id: DataLoader[uuid.UUID, User | None]
    # Inventory relations (graph/loaders/inventory.py).
    credential_by_id: DataLoader[uuid.UUID, CloudCredential | None]
    resource_count: DataLoader[inventory.CountKey, int]
    resource_page: DataLoader[inventory.PageKey, list[Any]]
    last_sync: DataLoader[uuid.UUID, SyncJob | None]
    relations: DataLoader[relation_loaders.RelationKey, list[relation_loaders.RelationRow]]

    @classmethod
    def create(cls, db: ScopedDatabase) -> Loaders:
        async def load_users(ids: Sequence[uuid.UUID]) -> list[User | None]:
            async with db.session() as session:
                rows = (
                    await session.scalars(db.scope.admin_view().users().where(User.id.in_(ids)))
                ).all()
            by_id = {row.id: row for row in rows}
            return [by_id.get(user_id) for user_id in ids]

        return cls(
            user_by_id=DataLoader(load_fn=load_users),
            credential_by_id=inventory.credential_by_id(db),
            resource_count=inventory.resource_count(db),
            resource_page=inventory.resource_page(db),
            last_sync=inventory.last_sync(db),
            relations=relation_loaders.relations(db),
        )
