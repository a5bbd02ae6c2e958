"""The `webhooks` list (`node` lookups are each type's `resolve_node`)."""

from __future__ import annotations

import strawberry

from graph.context import Info
from graph.permissions import IsAuthenticated
from graph.webhooks import service
from graph.webhooks.types import Webhook


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        description="Your webhooks, newest first.", permission_classes=[IsAuthenticated]
    )
    async def webhooks(self, info: Info) -> list[Webhook]:
        return [Webhook.from_row(row) for row in await service.list_webhooks(info.context.db)]
