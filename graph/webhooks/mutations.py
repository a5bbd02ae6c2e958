"""Webhook mutations; the work lives in `graph.webhooks.commands`."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graph.context import Info
from graph.permissions import IsAuthenticated
from graph.webhooks import commands
from graph.webhooks.inputs import AddWebhookInput, UpdateWebhookInput, WebhookIdInput
from graph.webhooks.payloads import (
    AddWebhookPayload,
    DeleteWebhookPayload,
    TestWebhookPayload,
    UpdateWebhookPayload,
)


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Register a webhook; its signing secret is in the payload, this once.",
        permission_classes=[IsAuthenticated],
    )
    async def add_webhook(
        self,
        info: Info,
        input: Annotated[AddWebhookInput, strawberry.argument(description="The webhook.")],
    ) -> AddWebhookPayload:
        return await commands.add_webhook(info.context, input)

    @strawberry.mutation(
        description="Change a webhook's URL, events or note, or turn it off or on.",
        permission_classes=[IsAuthenticated],
    )
    async def update_webhook(
        self,
        info: Info,
        input: Annotated[UpdateWebhookInput, strawberry.argument(description="The changes.")],
    ) -> UpdateWebhookPayload:
        return await commands.update_webhook(info.context, input)

    @strawberry.mutation(
        description="Delete a webhook; deliveries still queued for it are dropped.",
        permission_classes=[IsAuthenticated],
    )
    async def delete_webhook(
        self,
        info: Info,
        input: Annotated[WebhookIdInput, strawberry.argument(description="Which webhook.")],
    ) -> DeleteWebhookPayload:
        return await commands.delete_webhook(info.context, input)

    @strawberry.mutation(
        description="Send a signed `webhook.test` event now, once, and return how it went.",
        permission_classes=[IsAuthenticated],
    )
    async def test_webhook(
        self,
        info: Info,
        input: Annotated[WebhookIdInput, strawberry.argument(description="Which webhook.")],
    ) -> TestWebhookPayload:
        return await commands.test_webhook(info.context, input)
