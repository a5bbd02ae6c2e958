"""Batch loaders of the history: pages of many resources' changes in one statement, and the
resources and jobs that changes point to.

Every statement is built through the caller's `OwnerScope`; a key naming someone else's row finds
nothing (and row-level security says the same on PostgreSQL).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, true
from strawberry.dataloader import DataLoader

from db.models import CloudResourceRow, ResourceChangeRow, SyncJobRow
from db.scoping import ScopedDatabase
from graph.connections.keyset import Ordering, SortKey
from graph.inventory.columns import RESOURCE_COLUMNS

CHANGE_COLUMNS = (
    ResourceChangeRow.id,
    ResourceChangeRow.at,
    ResourceChangeRow.kind,
    ResourceChangeRow.changes,
    ResourceChangeRow.resource_id,
    ResourceChangeRow.resource_row_id,
    ResourceChangeRow.job_id,
)


def history_ordering(name: str) -> Ordering:
    """Newest first; ties (one sync's records share `at`) broken by id. `name` keeps the
    cursors of different lists apart."""
    return Ordering(
        f"{name}:AT:DESC",
        (
            SortKey(ResourceChangeRow.at, "datetime", lambda row: row.at, descending=True),
            SortKey(ResourceChangeRow.id, "uuid", lambda row: row.id, descending=True),
        ),
    )


# `CloudResource.history`: one resource's changes.
RESOURCE_HISTORY_ORDERING = history_ordering("history")


@dataclass(frozen=True, slots=True)
class HistoryKey:
    """One resource's page: the same (size, start) for many resources batch into one statement."""

    resource_row_id: uuid.UUID
    size: int
    start: tuple[Any, ...] | None


def resource_rows(db: ScopedDatabase) -> DataLoader[uuid.UUID, Any]:
    """Inventory rows by row id (`RESOURCE_COLUMNS`), None for any not the caller's."""

    async def load(ids: Sequence[uuid.UUID]) -> list[Any]:
        statement = db.scope.select_columns(CloudResourceRow, *RESOURCE_COLUMNS).where(
            CloudResourceRow.id.in_(set(ids))
        )
        async with db.session() as session:
            rows = (await (await session.connection()).execute(statement)).all()
        found = {row.id: row for row in rows}
        return [found.get(key) for key in ids]

    return DataLoader(load_fn=load)


def job_rows(db: ScopedDatabase) -> DataLoader[uuid.UUID, SyncJobRow | None]:
    """Sync jobs by id, None for any not the caller's (or gone)."""

    async def load(ids: Sequence[uuid.UUID]) -> list[SyncJobRow | None]:
        statement = db.scope.select(SyncJobRow).where(SyncJobRow.id.in_(set(ids)))
        async with db.session() as session:
            jobs = (await session.scalars(statement)).all()
        found = {job.id: job for job in jobs}
        return [found.get(key) for key in ids]

    return DataLoader(load_fn=load)


def history_counts(db: ScopedDatabase) -> DataLoader[uuid.UUID, int]:
    """How many changes each resource has (`totalCount` of its history)."""

    async def load(ids: Sequence[uuid.UUID]) -> list[int]:
        statement = (
            db.scope.select_columns(
                ResourceChangeRow, ResourceChangeRow.resource_row_id, func.count()
            )
            .where(ResourceChangeRow.resource_row_id.in_(set(ids)))
            .group_by(ResourceChangeRow.resource_row_id)
        )
        async with db.session() as session:
            rows = (await (await session.connection()).execute(statement)).all()
        found = {row[0]: int(row[1]) for row in rows}
        return [found.get(key, 0) for key in ids]

    return DataLoader(load_fn=load)


def _lateral_pages(
    db: ScopedDatabase, ids: set[uuid.UUID], size: int, start: tuple[Any, ...] | None
) -> Select[Any]:
    """PostgreSQL: for each resource, an index seek on (resource_row_id, at, id) that stops
    after size + 1 rows."""
    ordering = RESOURCE_HISTORY_ORDERING
    resources = (
        db.scope.select_columns(CloudResourceRow, CloudResourceRow.id.label("row_id"))
        .where(CloudResourceRow.id.in_(ids))
        .subquery()
    )
    inner = db.scope.select_columns(ResourceChangeRow, *CHANGE_COLUMNS).where(
        ResourceChangeRow.resource_row_id == resources.c.row_id
    )
    if start is not None:
        inner = inner.where(ordering.after(start))
    page = inner.order_by(*ordering.order_by()).limit(size + 1).lateral()
    return (
        select(page)
        .select_from(resources.join(page, true()))
        .order_by(page.c.resource_row_id, page.c.at.desc(), page.c.id.desc())
    )


def _windowed_pages(
    db: ScopedDatabase, ids: set[uuid.UUID], size: int, start: tuple[Any, ...] | None
) -> Select[Any]:
    """SQLite (no LATERAL): rank each resource's changes through the same index, keep the first
    size + 1."""
    ordering = RESOURCE_HISTORY_ORDERING
    position = (
        func.row_number()
        .over(partition_by=ResourceChangeRow.resource_row_id, order_by=ordering.order_by())
        .label("position")
    )
    inner = db.scope.select_columns(ResourceChangeRow, *CHANGE_COLUMNS, position).where(
        ResourceChangeRow.resource_row_id.in_(ids)
    )
    if start is not None:
        inner = inner.where(ordering.after(start))
    ranked = inner.subquery()
    return (
        select(*(ranked.c[column.key] for column in CHANGE_COLUMNS))
        .where(ranked.c.position <= size + 1)
        .order_by(ranked.c.resource_row_id, ranked.c.position)
    )


def history_pages(db: ScopedDatabase) -> DataLoader[HistoryKey, list[Any]]:
    """Up to size + 1 changes per resource, newest first (the extra row tells whether a next
    page exists); one statement per distinct (size, start) in the batch."""

    async def load(keys: Sequence[HistoryKey]) -> list[list[Any]]:
        groups: defaultdict[tuple[int, tuple[Any, ...] | None], set[uuid.UUID]] = defaultdict(set)
        for key in keys:
            groups[(key.size, key.start)].add(key.resource_row_id)
        found: dict[tuple[uuid.UUID, int, tuple[Any, ...] | None], list[Any]] = {}
        async with db.session() as session:
            connection = await session.connection()
            lateral = connection.dialect.name == "postgresql"
            for (size, start), ids in groups.items():
                pages = (_lateral_pages if lateral else _windowed_pages)(db, ids, size, start)
                by_resource: defaultdict[uuid.UUID, list[Any]] = defaultdict(list)
                for row in (await connection.execute(pages)).all():
                    by_resource[row.resource_row_id].append(row)
                for resource_row_id in ids:
                    found[(resource_row_id, size, start)] = by_resource.get(resource_row_id, [])
        return [found[(key.resource_row_id, key.size, key.start)] for key in keys]

    return DataLoader(load_fn=load)
