"""Batch loaders of inventory lists: one SQL statement per batch, whatever its size.

Each batch opens its own short session (graphql-core resolves siblings concurrently) and builds its
statement through the caller's `OwnerScope`, so a key of someone else's row simply finds nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from db.models import CloudResourceRow
from db.scoping import ScopedDatabase
from graph.connections.keyset import Ordering
from graph.inventory.columns import RESOURCE_COLUMNS
from graph.inventory.filters import ResourceCriteria, resource_ordering

# Nested `CloudCredential.resources` lists are always by name; the prefix keeps their cursors
# apart from the top-level `resources` cursors.
CREDENTIAL_RESOURCES_ORDERING: Ordering = resource_ordering(None, prefix="credential-resources")

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class CountKey:
    credential_id: uuid.UUID
    criteria: ResourceCriteria


@dataclass(frozen=True, slots=True)
class PageKey:
    """One credential's page: the same (criteria, size, start) for many credentials batch into one
    windowed statement."""

    credential_id: uuid.UUID
    criteria: ResourceCriteria
    size: int
    start: tuple[Any, ...] | None


def _group(keys: Sequence[K], by: Any) -> dict[Any, list[K]]:
    groups: dict[Any, list[K]] = defaultdict(list)
    for key in keys:
        groups[by(key)].append(key)
    return groups


def resource_counts(db: ScopedDatabase) -> DataLoader[CountKey, int]:
    async def load(keys: Sequence[CountKey]) -> list[int]:
        counts: dict[CountKey, int] = {}
        async with db.session() as session:
            for criteria, group in _group(keys, lambda k: k.criteria).items():
                statement = criteria.apply(
                    db.scope.select_columns(
                        CloudResourceRow, CloudResourceRow.credential_id, func.count()
                    )
                    .where(CloudResourceRow.credential_id.in_({k.credential_id for k in group}))
                    .group_by(CloudResourceRow.credential_id)
                )
                found = {
                    row[0]: row[1]
                    for row in (await (await session.connection()).execute(statement)).all()
                }
                for key in group:
                    counts[key] = int(found.get(key.credential_id, 0))
        return [counts[key] for key in keys]

    return DataLoader(load_fn=load)


def resource_pages(db: ScopedDatabase) -> DataLoader[PageKey, list[Any]]:
    """Up to size + 1 rows per credential (the extra row tells whether a next page exists)."""
    ordering = CREDENTIAL_RESOURCES_ORDERING

    async def load(keys: Sequence[PageKey]) -> list[list[Any]]:
        rows_by_key: dict[PageKey, list[Any]] = {key: [] for key in keys}
        async with db.session() as session:
            for (criteria, size, start), group in _group(
                keys, lambda k: (k.criteria, k.size, k.start)
            ).items():
                position = (
                    func.row_number()
                    .over(partition_by=CloudResourceRow.credential_id, order_by=ordering.order_by())
                    .label("position")
                )
                inner = criteria.apply(
                    db.scope.select_columns(CloudResourceRow, *RESOURCE_COLUMNS, position).where(
                        CloudResourceRow.credential_id.in_({k.credential_id for k in group})
                    )
                )
                if start is not None:
                    inner = inner.where(ordering.after(start))
                ranked = inner.subquery()
                statement = (
                    select(ranked)
                    .where(ranked.c.position <= size + 1)
                    .order_by(ranked.c.credential_id, ranked.c.position)
                )
                by_credential: dict[uuid.UUID, list[Any]] = defaultdict(list)
                for row in (await (await session.connection()).execute(statement)).all():
                    by_credential[row.credential_id].append(row)
                for key in group:
                    rows_by_key[key] = by_credential.get(key.credential_id, [])
        return [rows_by_key[key] for key in keys]

    return DataLoader(load_fn=load)
