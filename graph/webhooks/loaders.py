"""Batch loaders of webhook deliveries (`info.context.loaders.get(delivery_pages)`): one statement
per batch of webhooks, however many a `webhooks { deliveries }` query lists."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from db.models import WebhookDeliveryRow
from db.scoping import ScopedDatabase
from graph.connections.keyset import Ordering, SortKey

DELIVERY_ORDERING = Ordering(
    "webhookDeliveries:CREATED_AT:DESC",
    (
        SortKey(WebhookDeliveryRow.created_at, "datetime", lambda r: r.created_at, descending=True),
        SortKey(WebhookDeliveryRow.id, "uuid", lambda r: r.id, descending=True),
    ),
)
COLUMNS = tuple(WebhookDeliveryRow.__table__.columns)


@dataclass(frozen=True, slots=True)
class DeliveryPageKey:
    webhook_id: uuid.UUID
    size: int
    start: tuple[Any, ...] | None


def delivery_pages(db: ScopedDatabase) -> DataLoader[DeliveryPageKey, list[Any]]:
    """Up to size + 1 deliveries per webhook (the extra row tells whether more follow)."""
    ordering = DELIVERY_ORDERING

    async def load(keys: Sequence[DeliveryPageKey]) -> list[list[Any]]:
        groups: dict[tuple[int, Any], list[DeliveryPageKey]] = defaultdict(list)
        for key in keys:
            groups[(key.size, key.start)].append(key)
        found: dict[DeliveryPageKey, list[Any]] = {}
        async with db.session() as session:
            for (size, start), group in groups.items():
                position = (
                    func.row_number()
                    .over(partition_by=WebhookDeliveryRow.webhook_id, order_by=ordering.order_by())
                    .label("position")
                )
                inner = db.scope.select_columns(WebhookDeliveryRow, *COLUMNS, position).where(
                    WebhookDeliveryRow.webhook_id.in_({k.webhook_id for k in group})
                )
                if start is not None:
                    inner = inner.where(ordering.after(start))
                ranked = inner.subquery()
                statement = (
                    select(ranked)
                    .where(ranked.c.position <= size + 1)
                    .order_by(ranked.c.webhook_id, ranked.c.position)
                )
                by_hook: dict[uuid.UUID, list[Any]] = defaultdict(list)
                for row in (await session.execute(statement)).all():
                    by_hook[row.webhook_id].append(row)
                for key in group:
                    found[key] = by_hook.get(key.webhook_id, [])
        return [found[key] for key in keys]

    return DataLoader(load_fn=load)


def delivery_counts(db: ScopedDatabase) -> DataLoader[uuid.UUID, int]:
    async def load(ids: Sequence[uuid.UUID]) -> list[int]:
        statement = (
            db.scope.select_columns(WebhookDeliveryRow, WebhookDeliveryRow.webhook_id, func.count())
            .where(WebhookDeliveryRow.webhook_id.in_(ids))
            .group_by(WebhookDeliveryRow.webhook_id)
        )
        async with db.session() as session:
            counts = {row[0]: int(row[1]) for row in (await session.execute(statement)).all()}
        return [counts.get(key, 0) for key in ids]

    return DataLoader(load_fn=load)
