"""Batch loaders of inventory lists: one SQL statement per batch, whatever its size.

Counts come from the aggregates the sync keeps (`resource_counts`) whenever the filter is one
they can answer; pages read at most size + 1 rows per credential.

Each batch opens its own short session (graphql-core resolves siblings concurrently) and builds its
statement through the caller's `OwnerScope`, so a key of someone else's row simply finds nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select, true, union_all
from strawberry.dataloader import DataLoader

from db import enums as db_enums
from db.models import CloudCredentialRow, CloudResourceRow, ResourceCountRow
from db.scoping import OwnerScope, ScopedDatabase
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


def aggregate_count_conditions(criteria: ResourceCriteria) -> list[ColumnElement[bool]] | None:
    """The filter on the aggregate rows equivalent to `criteria`, when there is one (the
    aggregates hold live rows by provider, type, region, status and credential)."""
    if criteria.include_deleted or criteria.tags or criteria.search or criteria.related_to:
        return None
    conditions = [ResourceCountRow.count > 0]
    if criteria.providers:
        conditions.append(
            ResourceCountRow.provider.in_([db_enums.Provider(p) for p in criteria.providers])
        )
    if criteria.types:
        conditions.append(
            ResourceCountRow.type.in_([db_enums.ResourceType(t) for t in criteria.types])
        )
    if criteria.regions:
        conditions.append(ResourceCountRow.region.in_(criteria.regions))
    if criteria.statuses:
        conditions.append(
            ResourceCountRow.status.in_([db_enums.ResourceStatus(s) for s in criteria.statuses])
        )
    if criteria.credential_id is not None:
        conditions.append(ResourceCountRow.credential_id == criteria.credential_id)
    return conditions


def _count_statement(db: ScopedDatabase, criteria: ResourceCriteria, ids: set[uuid.UUID]) -> Any:
    aggregated = aggregate_count_conditions(criteria)
    if aggregated is not None:
        # Proportional to the credentials' aggregate rows, not to their resources.
        return (
            db.scope.select_columns(
                ResourceCountRow, ResourceCountRow.credential_id, func.sum(ResourceCountRow.count)
            )
            .where(ResourceCountRow.credential_id.in_(ids), *aggregated)
            .group_by(ResourceCountRow.credential_id)
        )
    return criteria.apply(
        db.scope.select_columns(CloudResourceRow, CloudResourceRow.credential_id, func.count())
        .where(CloudResourceRow.credential_id.in_(ids))
        .group_by(CloudResourceRow.credential_id)
    )


def credential_count(
    scope: OwnerScope, criteria: ResourceCriteria, credential: Any
) -> ColumnElement[Any]:
    """How many of one credential's resources match `criteria` (a correlated scalar), counted
    as `resource_counts` counts them: from the aggregates whenever they can answer."""
    aggregated = aggregate_count_conditions(criteria)
    if aggregated is not None:
        return (
            scope.select_columns(
                ResourceCountRow, func.coalesce(func.sum(ResourceCountRow.count), 0)
            )
            .where(ResourceCountRow.credential_id == credential, *aggregated)
            .scalar_subquery()
        )
    return criteria.apply(
        scope.select_columns(CloudResourceRow, func.count()).where(
            CloudResourceRow.credential_id == credential
        )
    ).scalar_subquery()


def resource_counts(db: ScopedDatabase) -> DataLoader[CountKey, int]:
    async def load(keys: Sequence[CountKey]) -> list[int]:
        counts: dict[CountKey, int] = {}
        async with db.session() as session:
            for criteria, group in _group(keys, lambda k: k.criteria).items():
                statement = _count_statement(db, criteria, {k.credential_id for k in group})
                found = {
                    row[0]: row[1]
                    for row in (await (await session.connection()).execute(statement)).all()
                }
                for key in group:
                    counts[key] = int(found.get(key.credential_id, 0))
        return [counts[key] for key in keys]

    return DataLoader(load_fn=load)


# SQLite caps a compound SELECT at 500 terms: larger batches take one statement per slice.
_UNION_SLICE = 400


def page_of_one(
    scope: OwnerScope,
    criteria: ResourceCriteria,
    start: tuple[Any, ...] | None,
    size: int,
    credential: Any,
    columns: Sequence[Any] = RESOURCE_COLUMNS,
) -> Select[Any]:
    """Up to size + 1 rows of one credential, read through its (credential, name, id) index."""
    ordering = CREDENTIAL_RESOURCES_ORDERING
    inner = criteria.apply(
        scope.select_columns(CloudResourceRow, *columns).where(
            CloudResourceRow.credential_id == credential
        )
    )
    if start is not None:
        inner = inner.where(ordering.after(start))
    # The (constant) credential leads the order, so the planner reads the (credential, name, id)
    # index in order instead of filtering the owner's (user, name, id) index.
    return inner.order_by(CloudResourceRow.credential_id, *ordering.order_by()).limit(size + 1)


def _in_order(page: Any) -> list[ColumnElement[Any]]:
    """The pages' order on the outer query: by credential, then the ordering's own columns."""
    ordering = CREDENTIAL_RESOURCES_ORDERING
    columns = [page.c[key.expression.key] for key in ordering.keys]
    keys = zip(ordering.keys, columns, strict=True)
    return [page.c.credential_id] + [c.desc() if k.descending else c.asc() for k, c in keys]


def _pages_statements(
    db: ScopedDatabase,
    criteria: ResourceCriteria,
    start: tuple[Any, ...] | None,
    size: int,
    ids: list[uuid.UUID],
) -> list[Any]:
    """PostgreSQL: the batch's credentials joined to a LATERAL page each (one statement).
    SQLite: a UNION ALL of one LIMITed page per credential. Either way each credential costs
    an index range of size + 1 rows, not a pass over its inventory."""
    if db.database.is_postgres:
        page = page_of_one(db.scope, criteria, start, size, CloudCredentialRow.id).lateral("page")
        statement = (
            db.scope.select_columns(CloudCredentialRow, *page.c)
            .select_from(CloudCredentialRow)
            .join(page, true())
            .where(CloudCredentialRow.id.in_(ids))
            .order_by(*_in_order(page))
        )
        return [statement]
    statements = []
    for first in range(0, len(ids), _UNION_SLICE):
        pages = [
            select(page_of_one(db.scope, criteria, start, size, credential).subquery())
            for credential in ids[first : first + _UNION_SLICE]
        ]
        union = union_all(*pages).subquery("page")
        statements.append(select(union).order_by(*_in_order(union)))
    return statements


def resource_pages(db: ScopedDatabase) -> DataLoader[PageKey, list[Any]]:
    """Up to size + 1 rows per credential (the extra row tells whether a next page exists)."""

    async def load(keys: Sequence[PageKey]) -> list[list[Any]]:
        rows_by_key: dict[PageKey, list[Any]] = {key: [] for key in keys}
        async with db.session() as session:
            for (criteria, size, start), group in _group(
                keys, lambda k: (k.criteria, k.size, k.start)
            ).items():
                ids = sorted({k.credential_id for k in group})
                by_credential: dict[uuid.UUID, list[Any]] = defaultdict(list)
                for statement in _pages_statements(db, criteria, start, size, ids):
                    for row in (await (await session.connection()).execute(statement)).all():
                        by_credential[row.credential_id].append(row)
                for key in group:
                    rows_by_key[key] = by_credential.get(key.credential_id, [])
        return [rows_by_key[key] for key in keys]

    return DataLoader(load_fn=load)
