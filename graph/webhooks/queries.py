"""The `webhooks` list and `node` lookups of webhooks and deliveries."""

from __future__ import annotations

import uuid

import strawberry

from db.models import Webhook as WebhookRow
from db.models import WebhookDelivery as DeliveryRow
from graph.context import Info
from graph.node import register_node
from graph.permissions import IsAuthenticated
from graph.webhooks import commands
from graph.webhooks.types import Webhook, WebhookDelivery


async def _webhook_node(info: Info, row_id: uuid.UUID) -> Webhook | None:
    db = info.context.db
    async with db.session() as session:
        row = await session.scalar(db.scope.select(WebhookRow).where(WebhookRow.id == row_id))
    return Webhook.from_row(row) if row else None


async def _delivery_node(info: Info, row_id: uuid.UUID) -> WebhookDelivery | None:
    db = info.context.db
    async with db.session() as session:
        row = await session.scalar(db.scope.select(DeliveryRow).where(DeliveryRow.id == row_id))
    return WebhookDelivery.from_row(row) if row else None


register_node("Webhook", _webhook_node)
register_node("WebhookDelivery", _delivery_node)


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        description="Your webhooks, newest first.", permission_classes=[IsAuthenticated]
    )
    async def webhooks(self, info: Info) -> list[Webhook]:
        return await commands.list_webhooks(info.context)
