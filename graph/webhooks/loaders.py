"""Per-request loaders of webhook deliveries: one statement per batch of webhooks, however many
webhooks a `webhooks { deliveries }` query lists."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from db.models import WebhookDelivery
from db.scoping import ScopedDatabase
from graph.connections.keyset import Ordering, SortKey
from graph.context import Context

DELIVERY_ORDERING = Ordering(
    "webhookDeliveries:CREATED_AT:DESC",
    (
        SortKey(WebhookDelivery.created_at, "datetime", lambda r: r.created_at, descending=True),
        SortKey(WebhookDelivery.id, "uuid", lambda r: r.id, descending=True),
    ),
)
COLUMNS = tuple(WebhookDelivery.__table__.columns)


@dataclass(frozen=True, slots=True)
class DeliveryPageKey:
    webhook_id: uuid.UUID
    size: int
    start: tuple[Any, ...] | None


@dataclass
class WebhookLoaders:
    delivery_page: DataLoader[DeliveryPageKey, list[Any]]
    delivery_count: DataLoader[uuid.UUID, int]

    @classmethod
    def of(cls, context: Context) -> WebhookLoaders:
        """This request's loaders (created on first use, scoped to the caller)."""
        found = context.domain_loaders.get(cls)
        if found is None:
            db = context.db
            found = cls(delivery_page=_delivery_page(db), delivery_count=_delivery_count(db))
            context.domain_loaders[cls] = found
        return found


def _delivery_page(db: ScopedDatabase) -> DataLoader[DeliveryPageKey, list[Any]]:
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
                    .over(partition_by=WebhookDelivery.webhook_id, order_by=ordering.order_by())
                    .label("position")
                )
                inner = db.scope.select_columns(WebhookDelivery, *COLUMNS, position).where(
                    WebhookDelivery.webhook_id.in_({k.webhook_id for k in group})
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


def _delivery_count(db: ScopedDatabase) -> DataLoader[uuid.UUID, int]:
    async def load(ids: Sequence[uuid.UUID]) -> list[int]:
        statement = (
            db.scope.select_columns(WebhookDelivery, WebhookDelivery.webhook_id, func.count())
            .where(WebhookDelivery.webhook_id.in_(ids))
            .group_by(WebhookDelivery.webhook_id)
        )
        async with db.session() as session:
            counts = {row[0]: int(row[1]) for row in (await session.execute(statement)).all()}
        return [counts.get(key, 0) for key in ids]

    return DataLoader(load_fn=load)
